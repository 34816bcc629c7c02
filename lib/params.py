"""Request parameter models: the base of every intent's and strategy's parameter model, the query-string forms its
field types accept, and pydantic's validation errors turned into one BadRequest naming each parameter at fault.

A model is the single source of a parameter's type, bounds, default and description: it validates the request
and it is what the OpenAPI document and docs/http-api.md's tables are generated from.

Values come from a JSON body (typed) or a query string (text). The models are strict, so a JSON value of the
wrong type is refused rather than converted, and each field type says which query-string text it accepts:
`Flag` "true"/"false" (also 1/0, yes/no), `Integer` and `NumberText` decimal text, `CommaList` "a,b", and the
fields of nested objects JSON text (`json_text`).
"""
from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from lib import strict_json
from lib.errors import BadRequest

__all__ = ["CommaList", "Flag", "Integer", "NumberText", "ParamsModel", "StrategyName", "absent", "bad_request",
           "invalid", "json_text"]

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_DECIMAL = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")
# int() refuses more than 4300 digits; 20 covers every 64-bit integer
_INTEGER = re.compile(r"\s*-?\d{1,20}\s*")
SHOWN_CHARS = 80


def invalid(reason: str) -> PydanticCustomError:
    """The error a field validator raises; the reason is shown after the parameter's name."""
    return PydanticCustomError("param_invalid", "{reason}", {"reason": reason})


def _is_none(value: Any) -> bool:
    return value is None


def absent(*, schema: dict | None = None, **field: Any) -> Any:
    """A field that may be left out but not given as null. Its default None means "not given": the schema shows
    no default, and the validated parameters (so a run's recorded parameters and signature) leave it out, so `{}`
    and no object at all ask for the same thing.

    Args:
        schema: JSON schema keywords for the documentation that the validators check themselves (e.g. minItems).
        field: passed to pydantic's Field.
    """
    def document(member: dict) -> None:
        member.pop("default", None)
        member.update(schema or {})

    return Field(None, json_schema_extra=document, exclude_if=_is_none, **field)


def _untitled(schema: dict, _model: type) -> None:
    for member in schema.get("properties", {}).values():
        member.pop("title", None)


class ParamsModel(BaseModel):
    """Parameters of an intent or a strategy: snake_case attributes, camelCase names on the wire; unknown names
    are refused with the list of accepted ones."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, alias_generator=to_camel,
                              serialize_by_alias=True, json_schema_extra=_untitled)

    @model_validator(mode="before")
    @classmethod
    def _known_names(cls, data: Any) -> Any:
        if isinstance(data, dict):
            accepted = sorted(field.alias or name for name, field in cls.model_fields.items())
            unknown = sorted(str(key) for key in data if key not in accepted)
            if unknown:
                raise PydanticCustomError("unknown_parameters", "{unknown} (accepted: {accepted})",
                                          {"unknown": ", ".join(unknown), "accepted": ", ".join(accepted) or "none"})
        return data


def _flag_text(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return value


def _number_text(value: Any) -> Any:
    return float(value) if isinstance(value, str) and _DECIMAL.fullmatch(value) else value


def _integer_text(value: Any) -> Any:
    return int(value) if isinstance(value, str) and _INTEGER.fullmatch(value) else value


def _comma_text(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def json_text(value: Any) -> Any:
    """A before-validator for object fields: query-string JSON text becomes its value (parsed strictly)."""
    if not isinstance(value, str):
        return value
    try:
        return strict_json.loads(value)
    except strict_json.JsonRejected as exc:
        raise invalid(f"must be a JSON object: {exc}") from None


# Before-validators go after a type's constraints: pydantic cannot put constraints that follow a validator into
# the JSON schema.
NumberText = BeforeValidator(_number_text)
CommaList = BeforeValidator(_comma_text)
Flag = Annotated[bool, BeforeValidator(_flag_text)]
Integer = Annotated[int, BeforeValidator(_integer_text)]
StrategyName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["manual"])]

_PHRASES = {
    "missing": "is required",
    "bool_type": "must be a boolean (true or false)",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "model_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "string_pattern_mismatch": "must match {pattern}",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
}


def bad_request(error: ValidationError, subject: str) -> BadRequest:
    """One BadRequest naming every parameter `error` found at fault.

    Args:
        error: what a ParamsModel's validation raised.
        subject: what the parameters belong to, for unknown names (e.g. "'allocation'", "strategy 'dummy'").
    """
    return BadRequest("; ".join(_describe(detail, subject) for detail in error.errors(include_url=False)))


def _describe(detail: dict, subject: str) -> str:
    loc, kind = detail["loc"], detail["type"]
    if kind == "unknown_parameters":
        return (f"unknown parameter(s) for {subject}: {detail['msg']}" if not loc
                else f"parameter {_path(loc)!r} does not accept parameter(s) {detail['msg']}")
    if not loc:
        return detail["msg"]
    name = _path(loc)
    if kind == "param_invalid":
        return f"parameter {name!r}: {detail['msg']}"
    if kind == "missing":
        return f"parameter {name!r} is required"
    phrase = _PHRASES.get(kind)
    phrase = phrase.format(**_readable(detail.get("ctx", {}))) if phrase else detail["msg"]
    return f"parameter {name!r} {phrase}, got {_shown(detail.get('input'))}"


def _readable(ctx: dict) -> dict:
    return {key: f"{value:g}" if isinstance(value, float) else value for key, value in ctx.items()}


def _path(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}..."
