"""An intent request's raw parameters: the query string and, for POST, a JSON object body, read within the
service's limits so that nothing a caller sends can make the service fail (500).

A parameter is given once: twice in the query string, twice in one JSON object, or in both the query string and
the body is refused, since the two values could disagree (`?dryRun=true` on a body saying `false`) and either
reading could trade."""
from __future__ import annotations

from flask import Request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from lib import strict_json
from lib.errors import BadRequest

MAX_BODY_BYTES = 64 * 1024
# gunicorn answers 414 itself past its limit_request_line (4094 bytes, its default, which gunicorn.conf.py keeps)
MAX_REQUEST_LINE_BYTES = 4094
MAX_JSON_DEPTH = strict_json.MAX_DEPTH
JSON_MEDIA_TYPE = "application/json"


def read_params(request: Request) -> dict:
    """The raw parameters of `request`, for the intent's model to validate.

    Args:
        request: the Flask request; its app's MAX_CONTENT_LENGTH bounds the body.

    Raises:
        BadRequest: a parameter repeated in the query string, or given both there and in the body; a body on a
            request other than POST; a body that is not UTF-8, not JSON, not an object, nests deeper than
            MAX_JSON_DEPTH, repeats a key, or holds NaN, Infinity or a number beyond a float's range.
        UnsupportedMediaType: a body whose Content-Type is not JSON (HTTP 415).
        RequestEntityTooLarge: a body larger than MAX_CONTENT_LENGTH (HTTP 413).
    """
    params = _query(request.args)
    body = _body(request)
    if body:
        if request.method != "POST":
            raise BadRequest(f"a {request.method} request carries its parameters in the query string; send a JSON "
                             f"body with POST")
        _check_json_type(request)
        fields = _json_object(body)
        both = sorted(set(params) & set(fields))
        if both:
            raise BadRequest(f"parameter(s) {', '.join(both)} given both in the query string and in the body; give "
                             f"each once")
        params.update(fields)
    return params


def _query(args: MultiDict) -> dict:
    params = {}
    for name, values in args.lists():
        if len(values) > 1:
            raise BadRequest(f"parameter {name!r} appears {len(values)} times in the query string; give it once "
                             f"(lists are comma-separated)")
        params[name] = values[0]
    return params


def _body(request: Request) -> bytes:
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise RequestEntityTooLarge(f"the request body is larger than the limit of {request.max_content_length} "
                                    f"bytes") from None


def _check_json_type(request: Request) -> None:
    """A body is JSON unless its Content-Type says otherwise (a missing one is taken as JSON)."""
    mimetype = request.mimetype
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    is_json = mimetype in ("", JSON_MEDIA_TYPE) or (mimetype.startswith("application/") and mimetype.endswith("+json"))
    if not is_json or charset != "utf-8":
        raise UnsupportedMediaType(f"the request body must be JSON in UTF-8 (Content-Type: {JSON_MEDIA_TYPE}), "
                                   f"got {request.content_type!r}")


def _json_object(body: bytes) -> dict:
    try:
        value = strict_json.loads(body.decode("utf-8"), max_depth=MAX_JSON_DEPTH)
    except UnicodeDecodeError as exc:
        raise BadRequest(f"request body: not valid JSON: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except strict_json.JsonRejected as exc:
        raise BadRequest(f"request body: {exc}") from None
    if not isinstance(value, dict):
        raise BadRequest(f"request body must be a JSON object, got {type(value).__name__}")
    return value
