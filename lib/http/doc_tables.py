"""docs/http-api.md's intent, parameter, status and limit tables rendered from the OpenAPI document, so the document
says what the spec says. Each table sits between two markers in it; `update` replaces what is between them."""
from __future__ import annotations

import json
import re

RUN_CONTROLS = ("timeoutSeconds", "force")
# Schemas built from the strategy registry carry this mark: the tables describe them without listing the strategies,
# so adding a strategy leaves docs/http-api.md as it is (GET /openapi.json lists them).
REGISTRY_MARK = "x-registry"
_BEGIN = "<!-- generated from GET /openapi.json: {name} -->"
_END = "<!-- end of {name} -->"


def update(text: str, document: dict) -> str:
    """`text` with every generated section replaced by its rendering of `document`.

    Raises:
        ValueError: a section's markers are missing.
    """
    for name, table in render(document).items():
        begin, end = _BEGIN.format(name=name), _END.format(name=name)
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"the document lacks the markers {begin} ... {end}")
        text = pattern.sub(lambda _: f"{begin}\n{table}\n{end}", text, count=1)
    return text


def render(document: dict) -> dict[str, str]:
    """Markdown of each section, by section name."""
    intents = {path: item for path, item in document["paths"].items() if "post" in item}
    return {"intents": _intents(intents), "parameters": _parameters(intents, document["components"]["schemas"]),
            "statuses": _statuses(intents, document["components"]["responses"]),
            "limits": _limits(document["info"]["x-limits"])}


def _intents(intents: dict) -> str:
    rows = ["| intent | what it does | places orders | 409 when | time budget |", "|---|---|---|---|---|"]
    for path, item in intents.items():
        get = item["get"]
        conflict = get["responses"].get("409", {}).get("description", "")
        budget = _parameter(get, "timeoutSeconds")["schema"]["default"]
        rows.append(f"| `{_intent(path)}` | {get['description']} | {'yes' if '403' in get['responses'] else ''} | "
                    f"{conflict} | {budget:g} s |")
    return "\n".join(rows)


def _parameters(intents: dict, schemas: dict) -> str:
    common = {}
    for item in intents.values():
        for name, member in _body_schema(item, schemas)["properties"].items():
            if name in RUN_CONTROLS:
                common.setdefault(name, member)
    budget = common["timeoutSeconds"]
    common["timeoutSeconds"] = {key: value for key, value in budget.items() if key != "default"}
    common["timeoutSeconds"]["description"] = f"{budget['description']} (default: the intent's time budget above)"
    parts = ["Every intent takes `timeoutSeconds`; those that can place orders also take `force`.", "",
             _table(common, (), schemas)]
    for path, item in intents.items():
        model = _body_schema(item, schemas)
        own = {name: member for name, member in model["properties"].items() if name not in RUN_CONTROLS}
        if own:
            parts += ["", f"`{_intent(path)}`:", "", _table(own, model.get("required", ()), schemas)]
    return "\n".join(parts)


def _table(members: dict, required, schemas: dict) -> str:
    rows = ["| parameter | type | default | meaning |", "|---|---|---|---|"]
    for name, member in members.items():
        rows += _rows(name, member, name in required, schemas)
    return "\n".join(rows)


def _rows(name: str, member: dict, required: bool, schemas: dict) -> list[str]:
    target = _resolve(member, schemas)
    default = "required" if required else _default(member.get("default", target.get("default")))
    meaning = member.get("description") or target.get("description", "")
    if REGISTRY_MARK in target:
        meaning += " (each strategy's are in `GET /openapi.json`; docs/strategies.md describes the built-in ones)"
    elif target.get("type") == "object" and not target.get("properties"):
        meaning += " (it takes none)"
    nested = "." in name
    rows = [f"| `{name}` | {_type(target, nested)} | {default} | {_cell(meaning)} |"]
    if REGISTRY_MARK in target:
        return rows
    for child, child_member in target.get("properties", {}).items() if target.get("type") == "object" else ():
        rows += _rows(f"{name}.{child}", child_member, child in target.get("required", ()), schemas)
    return rows


def _type(schema: dict, nested: bool) -> str:
    """The type in words; top-level lists and objects say how a query string writes them."""
    kind = schema.get("type")
    if REGISTRY_MARK in schema and "enum" in schema:
        return "a registered strategy id: `GET /openapi.json` lists them"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    if kind == "array":
        # a list of objects cannot be comma-separated: the query string gives it as JSON text, like an object
        written = "JSON text" if schema["items"].get("type") == "object" else "comma-separated"
        return f"list ({_type(schema['items'], True)}{'' if nested else f'; {written} in a query string'})"
    if kind == "object":
        return "object" if nested else "object (JSON text in a query string)"
    bounds = [f"> {_number(schema['exclusiveMinimum'])}" if "exclusiveMinimum" in schema else "",
              f">= {_number(schema['minimum'])}" if "minimum" in schema else "",
              f"<= {_number(schema['maximum'])}" if "maximum" in schema else "",
              f"matching `{schema['pattern']}`" if "pattern" in schema else ""]
    return ", ".join([kind or "any", *filter(None, bounds)])


def _number(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _statuses(intents: dict, responses: dict) -> str:
    ok = next(iter(intents.values()))["get"]["responses"]["200"]["description"]
    rows = ["| status | when |", "|---|---|", f"| 200 | {ok} |"]
    rows += [f"| {status} | {_cell(response['description'])} |" for status, response in sorted(responses.items())]
    return "\n".join(rows)


def _limits(limits: list[dict]) -> str:
    rows = ["| limit | accepted | otherwise |", "|---|---|---|"]
    rows += [f"| {entry['limit']} | {entry['value']} | {entry['status']} |" for entry in limits]
    return "\n".join(rows)


def _body_schema(item: dict, schemas: dict) -> dict:
    return _resolve(item["post"]["requestBody"]["content"]["application/json"]["schema"], schemas)


def _parameter(operation: dict, name: str) -> dict:
    return next(parameter for parameter in operation["parameters"] if parameter["name"] == name)


def _resolve(member: dict, schemas: dict) -> dict:
    return schemas[member["$ref"].rsplit("/", 1)[1]] if "$ref" in member else member


def _intent(path: str) -> str:
    return path.lstrip("/") or "/"


def _default(value) -> str:
    return "" if value is None else f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
