"""Answers in the shapes a document declares: a value fitted to the documented response, its
documented headers, and errors with the operation's documented status and body schema (problem+json
where the document declares none). Used by the engine for any API mounted with no code."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from mockserver.errors import (
    MISSING,
    Conflict,
    EntityNotFound,
    InjectedFault,
    MalformedBody,
    MethodNotAllowed,
    MockError,
    PayloadTooLarge,
    RouteNotFound,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from mockserver.generate import GenerationError, generate
from mockserver.inference import properties_of
from mockserver.spec import Operation, ResponseSpec
from mockserver.vendors.base import ErrorContext, Reply

log = logging.getLogger("mockserver")
_PROBLEM = "application/problem+json"

# Which documented status an error takes, in order of preference; the error's own status otherwise.
_STATUS_CHOICES: list[tuple[type, tuple[int, ...]]] = [
    (ValidationFailed, (422, 400)),
    (MalformedBody, (400, 422)),
    (Conflict, (409,)),
    (EntityNotFound, (404,)),
    (RouteNotFound, (404,)),
    (Unauthorized, (401,)),  # missing or refused, a credential is a 401 (403 is a permission refused)
]
_MESSAGE_FIELDS = ("message", "detail", "error", "description", "msg", "reason", "error_description",
                   "error_message", "errormessage")
_ISSUE_FIELDS = ("issues", "errors", "details", "violations", "invalid_params", "invalidparams")


def without_write_only(schema: Any, value: Any, depth: int = 0) -> Any:
    """The value with every `writeOnly` property the schema marks left out, at any depth (through
    allOf/oneOf/anyOf branches and array items): an answer never shows what only a request may carry."""
    if depth > 32 or not isinstance(schema, dict) or (depth == 0 and not _marks_write_only(schema)):
        return value
    if isinstance(value, list):
        items = schema.get("items")
        return [without_write_only(items, item, depth + 1) for item in value] if isinstance(items, dict) else value
    if not isinstance(value, dict):
        return value
    props = properties_of(schema)
    kept = {}
    for name, item in value.items():
        prop = props.get(name)
        if isinstance(prop, dict) and prop.get("writeOnly"):
            continue
        kept[name] = without_write_only(prop, item, depth + 1) if isinstance(prop, dict) else item
    return kept


_WRITE_ONLY: dict[int, tuple[dict, bool]] = {}  # id(schema) -> (schema, marks writeOnly anywhere)


def _marks_write_only(schema: dict) -> bool:
    """Whether `writeOnly` appears anywhere in the schema: most answers' schemas mark none, and then
    walking every answer is wasted (~10 µs a request). Remembered per schema, which the loaded spec keeps."""
    known = _WRITE_ONLY.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    seen: set[int] = set()

    def marks(node: Any) -> bool:
        if id(node) in seen:
            return False
        seen.add(id(node))
        if isinstance(node, dict):
            return bool(node.get("writeOnly")) or any(marks(item) for item in node.values())
        return isinstance(node, list) and any(marks(item) for item in node)

    found = marks(schema)
    if len(_WRITE_ONLY) < 4096:
        _WRITE_ONLY[id(schema)] = (schema, found)
    return found


def fit(value: Any, response: ResponseSpec | None, seed: str, whole_examples: bool = True) -> tuple[Any, bool]:
    """The value as the documented response wants it, and whether it still breaks the schema (a
    schema no value meets): as it is when valid; else generated for the response schema, with each
    of the value's fields kept where the result stays valid. `whole_examples`: see `generate`."""
    if response is None or response.validator is None:
        return None, False
    schema = response.validator.schema
    value = without_write_only(schema, value)
    if response.validator.is_valid(value):
        return value, False
    base = generated(schema, seed, "", value, whole_examples=whole_examples)
    fitted = _keep_valid(base, value, response) if isinstance(value, dict) and isinstance(base, dict) else base
    return fitted, not response.validator.is_valid(fitted)


def _keep_valid(base: dict, fields: dict, response: ResponseSpec) -> dict:
    """`base` with each of `fields` set where the result stays valid for the response."""
    result = base
    for name, item in fields.items():
        trial = dict(result, **{name: item})
        if response.validator.is_valid(trial):
            result = trial
    return result


_DELETED_FIELDS = ("deleted", "is_deleted", "isdeleted")


def as_deleted(value: Any, response: ResponseSpec | None) -> Any:
    """What a delete answers about the item: the item, with each boolean property of the answer named
    like `deleted` set to true (an example's `deleted: false` would say the delete did not happen)."""
    if response is None or response.validator is None or not isinstance(value, dict):
        return value
    marks = {name: True for name, prop in properties_of(response.validator.schema).items()
             if name.lower() in _DELETED_FIELDS and isinstance(prop, dict)
             and prop.get("type") in ("boolean", ["boolean"], None) and prop.get("const", True) is True}
    return {**value, **marks} if marks else value


def success(operation: Operation) -> tuple[int, ResponseSpec | None]:
    """The status and response an operation answers when all goes well: its lowest 2xx; else `2XX`;
    else, for an operation that documents only other statuses (a redirect, a 404), the lowest of them;
    else `default`."""
    numeric = sorted(int(code) for code in operation.responses if code.isdigit() and 200 <= int(code) <= 599)
    codes = [code for code in numeric if code < 300]
    if codes:
        return codes[0], operation.responses[str(codes[0])]
    if "2XX" in operation.responses:
        return 200, operation.responses["2XX"]
    if numeric:
        return numeric[0], operation.responses[str(numeric[0])]
    ranges = sorted(code for code in operation.responses if len(code) == 3 and code.endswith("XX") and code[0] in "345")
    if ranges:
        return int(ranges[0][0]) * 100, operation.responses[ranges[0]]
    return 200, operation.responses.get("default")


def documented_headers(documented: ResponseSpec | None, seed: str) -> dict[str, str]:
    """Documented response headers, with their example or a generated value."""
    headers: dict[str, str] = {}
    for name, header in (documented.headers if documented else {}).items():
        if not isinstance(header, dict) or name.lower() in ("content-type", "content-length"):
            continue
        schema = header.get("schema") or {"type": "string"}
        value = header["example"] if "example" in header else generated(schema, seed, f"/headers/{name}")
        if value is not MISSING:
            headers[name] = value if isinstance(value, str) else json.dumps(value)
    return headers


def generated(schema: dict, seed: str, pointer: str, fallback: Any = MISSING, whole_examples: bool = True) -> Any:
    """A generated value, or `fallback` for a schema no value satisfies (the answer is then checked
    against the document like any other, and a mismatch names the field)."""
    try:
        return generate(schema, seed, pointer=pointer, whole_examples=whole_examples)
    except GenerationError as error:
        log.warning("cannot generate a value: %s", error)
        return fallback


# --- errors ------------------------------------------------------------------------------------------

def _error_status(error: MockError, operation: Operation | None) -> int:
    """The status the document gives this error: a preferred one it lists, else the usual one when a
    range or `default` covers it, else another 4xx it lists, else the usual one."""
    status = error.status
    if operation is None:
        return status
    choices = next((choices for kind, choices in _STATUS_CHOICES if isinstance(error, kind)), (status,))
    for choice in choices:
        if str(choice) in operation.responses:
            return choice
    if f"{status // 100}XX" in operation.responses or "default" in operation.responses:
        return status
    if isinstance(error, ValidationFailed) and any(issue.location == "path" for issue in error.issues) \
            and "404" in operation.responses:
        return 404  # a malformed id names nothing
    fallbacks = (400, 422, 404) if isinstance(error, (ValidationFailed, MalformedBody, Conflict)) else ()
    return next((code for code in fallbacks if str(code) in operation.responses), status)


def render_error(error: MockError, context: ErrorContext) -> Reply:
    """The error in the shape the operation documents for its status (or `default`); problem+json
    where the document declares none."""
    operation = context.operation
    status = error.status if isinstance(error, InjectedFault) else _error_status(error, operation)
    headers: dict[str, str] = {}
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)
    message = _message(error)
    documented = operation.response(status) if operation is not None else None
    if documented is None or documented.validator is None:
        if documented is not None:  # documented without a body
            return Reply(status, None, headers)
        headers["Content-Type"] = _PROBLEM
        return Reply(status, {"type": "about:blank", "title": _phrase(status), "status": status,
                              "detail": message}, headers)
    seed = f"{context.determinism.seed}|error|{operation.operation_id}|{status}"
    # No example object or list: the document's example error is about another request.
    schema = documented.validator.schema
    body = generated(schema, seed, "", {}, whole_examples=False)
    if isinstance(body, dict):
        filled = _filled(body, schema, error, status, message)
        body = filled if documented.validator.is_valid(filled) else _keep_valid(body, filled, documented)
    return Reply(status, body, headers, best_effort=not documented.validator.is_valid(body))


def _filled(body: dict, schema: Any, error: MockError, status: int, message: str, depth: int = 0) -> dict:
    """A generated error body with what the mock knows in the fields named for it; where the body has
    no message field of its own but an `error` object does (PagerDuty's `{"error": {"message", "code",
    "errors"}}`), in that object."""
    filled = dict(body)
    props = properties_of(schema) if isinstance(schema, dict) else {}
    required = set(schema.get("required") or ()) if isinstance(schema, dict) else set()
    said = False
    for name, prop in props.items():
        kind = prop.get("type") if isinstance(prop, dict) else None
        lower = name.lower()
        if lower in _MESSAGE_FIELDS and kind in ("string", None):
            filled[name], said = message, True
        elif lower == "title" and kind in ("string", None):
            filled[name] = _phrase(status)
        elif lower == "id" and kind == "string" and "enum" not in prop:
            # an error's short name (DigitalOcean's `id`), never an example's `not_found` on a 422
            filled[name] = _phrase(status).lower().replace(" ", "_").replace("-", "_")
        elif lower in ("status", "code", "statuscode", "status_code", "error_code", "errorcode") \
                and kind in ("integer", "number", "string", None):
            filled[name] = status if kind in ("integer", "number") else str(status)
        elif lower in _ISSUE_FIELDS and kind == "array" and name in filled:
            if isinstance(error, ValidationFailed):
                items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
                filled[name] = [issue.message if items.get("type") == "string" else  # PagerDuty's `errors`
                                {"in": issue.location, "name": issue.dotted or issue.location, "detail": issue.message}
                                for issue in error.issues]
            elif name in required:
                filled[name] = []  # made-up issues would name fields the request never had
            else:
                del filled[name]
    inner = next((name for name in props if name.lower() == "error" and isinstance(filled.get(name), dict)), None)
    if not said and inner is not None and depth == 0:
        filled[inner] = _filled(filled[inner], props[inner], error, status, message, depth + 1)
    return filled


def _message(error: MockError) -> str:
    if isinstance(error, ValidationFailed) and error.issues:
        return "; ".join(issue.message for issue in error.issues[:5])
    if isinstance(error, EntityNotFound):
        return f"{error.entity_type} {error.entity_id!r} not found"
    if isinstance(error, UnsupportedMediaType):
        return f"unsupported media type {error.content_type or '(none)'}"
    if isinstance(error, PayloadTooLarge):
        return "the request body is too large"
    return error.message or _phrase(error.status)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
