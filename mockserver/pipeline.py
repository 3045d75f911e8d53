"""The generic request path, one named step after another:

    operation -> credential -> parse body -> validate -> vendor handler -> check response -> observers

The operation is the URL's for the method; where `#fragment` paths share that URL and method, the one
whose request it is (`choose`).

Every step raises a vendor-neutral `MockError`; the vendor renders it. Nothing here knows a vendor.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from mockserver import bodies, credentials, jsontext
from mockserver.coercion import coerce_types
from mockserver.connection import RAW_BODY
from mockserver.credentials import describe_scheme
from mockserver.errors import (
    MISSING,
    EntityNotFound,
    Issue,
    MalformedBody,
    MethodNotAllowed,
    MockError,
    NotAcceptable,
    PayloadTooLarge,
    RouteNotFound,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from mockserver.exchange import Exchange, Mount, http_errors
from mockserver.inference import properties_of, required_of
from mockserver.runtime import Runtime
from mockserver.settings import CONTROL_PREFIX
from mockserver.spec import MediaSpec, Operation, flask_rule, is_json_media, path_variables, subtype
from mockserver.store import Tenant
from mockserver.vendors.base import Call, ErrorContext, Reply, Vendor

if TYPE_CHECKING:  # Flask and werkzeug are imported when the Flask app is built, or a request needs them
    from flask import Flask, Request, Response
    from werkzeug.exceptions import HTTPException

log = logging.getLogger("mockserver")

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
_JSON_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


def mount(app: Flask, runtime: Runtime, target: Mount) -> None:
    """Add one view per URL (both with and without a trailing slash, no redirect): a spec path, with
    its `#fragment` paths (other operations on the same URL and method, `choose`). The front
    (`front.Front`) answers most of these requests itself; Flask's URL map takes the rest."""
    from flask import request

    for url, candidates in target.spec.routes.items():
        rule = target.spec.server_path + flask_rule(url)
        endpoint = f"{target.vendor.name}:{url}"
        operations = {method: each[0] for method, each in candidates.items()}
        shared = {method: each for method, each in candidates.items() if len(each) > 1}

        def view(_operations=operations, _shared=shared, **path_params: str) -> Response:
            return handle(runtime, target, _operations, path_params, request._get_current_object(), shared=_shared)

        # methods=None: every method, QUERY and made-up ones too, reaches the vendor's 405 with `Allow`
        # (a Flask rule lists its methods, and werkzeug's own 405 names them all in a generic body).
        for path, name in ((rule, endpoint), (rule.rstrip("/") + "/", endpoint + "/")):
            app.url_map.add(app.url_rule_class(path, endpoint=name, methods=None))  # the app's (lazy builders)
            app.view_functions[name] = view


def handle(runtime: Runtime, target: Mount, operations: dict[str, Operation],
           path_params: dict[str, str], request: Request, lean: bool = False,
           shared: dict[str, tuple[Operation, ...]] | None = None) -> Response | _Plain:
    if runtime.settings.cors and not target.control and is_preflight(request):
        return preflight(request, operations)
    vendor = target.vendor
    exchange = Exchange(
        vendor=vendor.name,
        method=request.method,
        path=request.path,
        query=request.args.to_dict(flat=False) if request.environ.get("QUERY_STRING") else {},
        headers=header_dict(request),
        body=b"",
        request=request,
    )
    operation: Operation | None = None
    try:
        refusal = vendor.screen() if vendor.screen else None
        if refusal is not None:
            raise refusal
        operation = pick_operation(operations, request.method, request.path)
        exchange.operation_id = operation.operation_id  # `choose` may refuse the request as this one
        candidates = shared.get("GET" if request.method == "HEAD" and "HEAD" not in operations
                                else request.method) if shared else None
        tied: tuple[Operation, ...] = ()
        if candidates and not vendor.read_body:
            operation, *others = choose(candidates, request, path_params, runtime.settings.max_body_bytes, exchange)
            tied = tuple(other for other in others if other.operation_id in vendor.finds) \
                if operation.operation_id in vendor.finds else ()
        exchange.operation_id = operation.operation_id
        exchange.tenant = vendor.authenticate(operation) if vendor.authenticate \
            else authenticate(request, operation, vendor, runtime.allowed_keys.get(vendor.name))
        # The vendors document each error and, as their real services, answer JSON whatever Accept says.
        if not target.control and (vendor.undocumented_errors or operation.documents_error(406)):
            check_accept(request.headers.get("Accept"), operation)
        if vendor.read_body:
            path_values, query = read_parameters(operation, path_params, request)
            body = vendor.read_body(operation)
        else:
            body = parse_body(request, operation, runtime.settings.max_body_bytes, exchange)
            path_values, query = read_parameters(operation, path_params, request)
            if operation.coerce_types and body is not MISSING:
                body = coerce_types(body, operation.body_schema, operation.coerce_types, exchange.warnings,
                                    itself=False)
            validate_body(request, operation, body)
            body = drop_unknown(getattr(body_media(request, operation), "schema", operation.body_schema), body,
                                exchange.warnings)
        reply = None
        for intercept in () if target.control else runtime.interceptors:
            reply = intercept(exchange, operation, target)
            if reply is not None:
                break
        if reply is None:
            call = Call(operation, exchange.tenant, body, path_values, query, runtime.store,
                        runtime.determinism, exchange.warnings, request.headers, lambda: request.base_url)
            operation, reply = _answer(vendor, call, tied)
            exchange.operation_id = operation.operation_id
    except MockError as error:
        if isinstance(error, ValidationFailed):
            exchange.issues = error.issues
        exchange.error = error.message
        context = ErrorContext(request.method, request.path, operation, exchange.tenant,
                               runtime.determinism, runtime.store)
        reply = vendor.render_error(error, context)
    return finish(runtime, operation, reply, exchange, observed=not target.control, lean=lean)


# --- CORS: browser apps on another origin use the vendors as the real services let them -----------
# A preflight (OPTIONS with Origin and Access-Control-Request-Method) on a vendor path is answered
# here, not journaled (it is the browser's question, not the client's request); every vendor answer,
# errors included, carries the headers that let the page read it. The control API and the page at
# /__mock stay same-origin: they never get these headers.

CORS_MAX_AGE = "86400"
CORS_HEADERS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "*"}


def is_preflight(request: Request) -> bool:
    return (request.method == "OPTIONS" and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers)


def preflight(request: Request, operations: dict[str, Operation]) -> _Plain:
    """204 naming the path's methods and allowing the headers asked for."""
    methods = sorted({*operations, *(["HEAD"] if "GET" in operations else [])})
    headers = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", ", ".join(methods))]
    asked = request.headers.get("Access-Control-Request-Headers", "").strip()
    if asked:
        headers.append(("Access-Control-Allow-Headers", asked))
    headers += [("Access-Control-Max-Age", CORS_MAX_AGE), ("Vary", "Access-Control-Request-Headers")]
    return _Plain(204, headers, b"")


def add_cors(runtime: Runtime, response: Response) -> Response:
    """The headers a page from another origin needs to read a vendor's answer (off with --no-cors)."""
    if runtime.settings.cors:
        response.headers.update(CORS_HEADERS)
    return response


def header_dict(request: Request) -> dict[str, str]:
    """`dict(request.headers)`, read from the WSGI environ in one pass (werkzeug's way looks each
    name up again). A variable name no server makes (a dash in it) takes werkzeug's way."""
    found = {}
    for key, value in request.environ.items():
        if key.startswith("HTTP_"):
            if "-" in key:
                return dict(request.headers)
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                found[key[5:].replace("_", "-").title()] = value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            found[key.replace("_", "-").title()] = value
    return found


def pick_operation(operations: dict[str, Operation], method: str, path: str) -> Operation:
    operation = operations.get(method) or (operations.get("GET") if method == "HEAD" else None)
    if operation is None:
        raise MethodNotAllowed(method, path, sorted(operations))
    return operation


def choose(candidates: tuple[Operation, ...], request: Request, path_params: dict[str, str], limit: int,
           exchange: Exchange) -> tuple[Operation, ...]:
    """Which of the operations sharing a URL and method (`/files/{id}` and `/files/{id}#add_link`)
    the request means. A request whose body holds a value one candidate alone pins (a property whose
    schema is a `const` or a one-value `enum`), and no other value where that candidate pins one, is
    that candidate's, valid or not: Box's classification template is the one whose `templateKey` or
    `displayName` it names, and its checks answer. Else, of those whose request it is (parameters and
    body valid, naming no parameter or body property that only the others declare), the one whose
    required parameters and body properties it names most; ties, and a request that is none's, the
    first (the plain path's, else the document's first), whose checks then answer it. The chosen one
    comes first, then those tied with it; a request with no body tied between operations that take one
    and answer differently is a 400 (which operation it is, it does not say)."""
    if request.environ.get(RAW_BODY) is None:  # each candidate reads the body: the bytes, kept once
        if request.content_length is not None and request.content_length > limit:
            return candidates[:1]
        try:
            request.environ[RAW_BODY] = request.get_data(cache=False)
        except http_errors():  # over the limit (werkzeug's RequestEntityTooLarge)
            return candidates[:1]
    declared, pinned = zip(*(_reads(operation) for operation in candidates), strict=True)
    everyone = {name for names in declared for name in names}
    owned = [pins - set().union(*(other for j, other in enumerate(pinned) if j != i))
             for i, pins in enumerate(pinned)]  # pins of its own: what no other candidate pins too
    best, most, aimed, scores = candidates[0], -1, [], {}
    for operation, own, pins, mine in zip(candidates, declared, pinned, owned, strict=True):
        try:
            body = parse_body(request, operation, limit, exchange)
        except MockError:
            continue
        if mine and isinstance(body, dict) and any(_same(body.get(name, MISSING), value) for name, value in mine) \
                and all(name not in body or _same(body[name], value) for name, value in pins):
            aimed.append(operation)
        try:
            read_parameters(operation, path_params, request)
            if operation.coerce_types and body is not MISSING:
                body = coerce_types(body, operation.body_schema, operation.coerce_types, [], itself=False)
            validate_body(request, operation, body)
        except MockError:
            continue
        if any(name not in own for name in _sent(request, body, everyone)):
            continue  # it names what another operation declares and this one does not: that one's request
        named = sum(1 for param in operation.parameters if param.required and param.location != "path")
        schema = getattr(body_media(request, operation), "schema", operation.body_schema)
        if isinstance(body, dict) and isinstance(schema, dict):
            named += len(required_of(schema) & body.keys())
        scores[operation.operation_id] = named
        if named > most:
            best, most = operation, named
    if len(aimed) == 1:
        return aimed[0],
    tied = (best, *(other for other in candidates if other is not best and scores.get(other.operation_id) == most))
    if not request.environ[RAW_BODY].strip() and len({_answer_shape(other) for other in tied
                                                       if other.body_schema is not None}) > 1:
        # the body would tell which (Box's template or classification create), whose answers differ
        raise MalformedBody("the request body is empty; its body tells which operation it is: "
                            + ", ".join(other.operation_id for other in tied if other.body_schema is not None),
                            empty=True)
    return tied


def _answer_shape(operation: Operation) -> tuple[str | None, frozenset[str]]:
    """An operation's first success status and the properties its answer declares."""
    code = min((code for code in operation.responses if code.startswith("2")), default=None)
    schema = operation.responses[code].schema if code is not None else None
    return code, frozenset(properties_of(schema) if isinstance(schema, dict) else ())


_READS: dict[int, tuple[Operation, set[tuple[str, str]], frozenset[tuple[str, Any]]]] = {}


def _reads(operation: Operation) -> tuple[set[tuple[str, str]], frozenset[tuple[str, Any]]]:
    """What an operation's request names (`_declared`) and pins (`_pinned`): worked out once, not per
    request (the operation is kept, so its id names no other)."""
    found = _READS.get(id(operation))
    if found is None or found[0] is not operation:
        found = _READS[id(operation)] = (operation, _declared(operation), _pinned(operation))
    return found[1], found[2]


def _same(value: Any, pin: Any) -> bool:
    return value == pin and isinstance(value, bool) == isinstance(pin, bool)  # True is not 1 here


def _pinned(operation: Operation) -> frozenset[tuple[str, Any]]:
    """The (property, value) pairs an operation's request body pins: top-level properties whose schema
    allows one scalar value (`const`, or an `enum` of one)."""
    pins = set()
    for schema in (operation.body_schema, *(media.schema for media in operation.body_media.values())):
        for name, prop in properties_of(schema).items() if isinstance(schema, dict) else ():
            values = [prop["const"]] if isinstance(prop, dict) and "const" in prop \
                else prop.get("enum") if isinstance(prop, dict) else None
            if isinstance(values, list) and len(values) == 1 and isinstance(values[0], str | int | float | bool):
                pins.add((name, values[0]))
    return frozenset(pins)


def _answer(vendor: Vendor, call: Call, tied: tuple[Operation, ...]) -> tuple[Operation, Reply]:
    """The handler's answer; where finds are tied on the request (`choose`), the first whose item is
    stored answers, and when none holds it, the first's 404."""
    try:
        return call.operation, vendor.handlers[call.operation.operation_id](call)
    except EntityNotFound:
        for other in tied:
            try:
                return other, vendor.handlers[other.operation_id](dataclasses.replace(call, operation=other))
            except EntityNotFound:
                continue
        raise


def _declared(operation: Operation) -> set[tuple[str, str]]:
    """(location, name) of what an operation reads: its parameters (headers in lower case) and the
    top-level properties of its request bodies."""
    names = {(param.location, param.name.lower() if param.location == "header" else param.name)
             for param in operation.parameters if param.location != "path"}
    for media in operation.body_media.values():
        names.update(("body", name) for name in properties_of(media.schema or {}))
    if operation.body_schema:
        names.update(("body", name) for name in properties_of(operation.body_schema))
    return names


def _sent(request: Request, body: Any, known: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """Which of the `known` (location, name) pairs the request sends."""
    sent = []
    for location, name in known:
        if location == "query":
            found = name in request.args
        elif location == "header":
            found = name in request.headers
        elif location == "cookie":
            found = name in request.cookies
        else:
            found = isinstance(body, dict) and name in body
        if found:
            sent.append((location, name))
    return sent


def authenticate(request: Request, operation: Operation, vendor: Vendor, allowed: frozenset[str] | None) -> Tenant:
    """The tenant is (vendor, credential): the first credential a security scheme finds. Every
    credential presented must be accepted: one refused is a 401 even beside an accepted one (a real
    service checks what it is given). `allowed` (from `--api-key`) narrows which values are accepted."""
    if not operation.security:
        return Tenant(vendor.name, "")
    accepted: str | None = None
    presented = empty = False
    sent: set[str] = set()
    for name, scheme in operation.security:
        value = credentials.read_credential(scheme, request)
        if value is None:
            continue
        if not value:  # sent empty: alone, none came; beside an accepted credential, a refused one
            empty = True
            continue
        presented = True
        sent.add(name)
        if not ((allowed is None or value in allowed) and vendor.accept_credential(name, scheme, value)):
            accepted = None
            break
        if accepted is None:
            accepted = value
    if accepted is not None and empty:
        accepted, presented = None, True  # refused, as any refused credential beside an accepted one
    if accepted is not None and operation.together and not any(sent.issuperset(names) for names in operation.together):
        # a requirement naming several schemes needs them all (Plaid: client id, secret and version)
        schemes = dict(operation.security)
        expected = " or ".join(" and ".join(describe_scheme(schemes[name]) for name in names)
                               for names in operation.together)
        raise Unauthorized(f"a credential is missing; send {expected}")
    if accepted is not None:
        return Tenant(vendor.name, accepted)
    if not presented and operation.anonymous:  # the document allows no credential (`security: [{}]`)
        return Tenant(vendor.name, "")
    expected = " or ".join(describe_scheme(scheme) for _, scheme in operation.security)
    if presented:
        raise Unauthorized(f"the credential was refused; send {expected}", presented=True)
    raise Unauthorized(f"no credential; send {expected}")


def check_accept(accept: str | None, operation: Operation) -> None:
    """A 406 when the request's Accept names none of the media types the operation's success answers
    have (what the mock sends). No Accept, `*/*`, `application/*` and q-values work as HTTP says; a
    JSON type accepts any other (`+json`: GitHub's `application/vnd.github+json`); an Accept with no
    media range in it, or one the operation declares as a header parameter, is not judged."""
    if not accept or any(param.location == "header" and param.name.lower() == "accept"
                         for param in operation.parameters):
        return  # a document that declares `Accept` says what it takes (PagerDuty's version header)
    offered = tuple(dict.fromkeys(response.media_type for code, response in operation.responses.items()
                                  if code.startswith("2") and response.media_type))
    if not offered or any("*" in offer for offer in offered):
        return
    ranges = _accept_ranges(accept)
    if ranges and not any(_acceptable(offer, ranges) for offer in offered):
        raise NotAcceptable(accept, offered)


_USUAL_TYPES = {"text": "text/plain", "image": "image/png", "audio": "audio/mpeg", "video": "video/mp4",
                "font": "font/woff2"}


def concrete_media(documented: str, accept: str | None, text: bool) -> str:
    """The Content-Type of an answer documented under a media range (`*/*`, `image/*`: no type a
    response may name): the first type the request's Accept names that the range covers, else JSON
    for a JSON value, else the usual type of the range (`application/octet-stream` for `*/*`)."""
    kind = documented.partition(";")[0].strip().partition("/")[0]
    for offer, quality in _accept_ranges(accept) if accept else ():
        if quality > 0 and "*" not in offer and (kind == "*" or offer.partition("/")[0] == kind):
            return offer
    if not text and kind in ("*", "application"):
        return "application/json"
    return _USUAL_TYPES.get(kind, "application/octet-stream")


@functools.lru_cache(maxsize=256)
def _accept_ranges(accept: str) -> tuple[tuple[str, float], ...]:
    ranges = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        if media.count("/") != 1:
            continue  # not a media range: no opinion
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    pass
        ranges.append((media.lower(), quality))
    return tuple(ranges)


def _acceptable(offer: str, ranges: tuple[tuple[str, float], ...]) -> bool:
    """The quality of the most specific range matching `offer` is above 0 (RFC 9110, 12.5.1)."""
    kind = offer.partition("/")[0]
    best: tuple[int, float] | None = None
    for media, quality in ranges:
        if media == offer or (is_json_media(media) and is_json_media(offer)):
            rank = 3  # JSON for JSON: `application/vnd.github+json` asks for the JSON answer (a version)
        elif media == f"{kind}/*":
            rank = 2
        elif media == "*/*":
            rank = 1
        else:
            continue
        if best is None or rank > best[0]:
            best = (rank, quality)
    return best is not None and best[1] > 0


def parse_body(request: Request, operation: Operation, limit: int, exchange: Exchange) -> Any:
    """The JSON body, or MISSING when the operation takes none."""
    if operation.body_schema is None:
        return MISSING
    raw = request.environ.get(RAW_BODY)  # the server's bytes, where it has them (no stream wrappers)
    if raw is None:
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge(limit)
        try:
            raw = request.get_data(cache=False)
        except http_errors():  # over the limit (werkzeug's RequestEntityTooLarge)
            raise PayloadTooLarge(limit) from None
    if len(raw) > limit:
        raise PayloadTooLarge(limit)
    exchange.body = raw
    if not raw.strip():
        if operation.body_required:
            raise MalformedBody("the request body is empty; send a JSON object", empty=True)
        form = bodies.pick_media(operation.body_media, request.mimetype) if operation.body_media else None
        kind = bodies.kind_of(form.media_type) if form is not None else None
        if kind in ("form", "multipart"):
            return {}  # an empty form is a form without fields (validated as one), not a missing body
        if kind == "xml":  # XML has no empty document: a declared XML body that is empty is malformed
            raise MalformedBody("the XML body is empty: an XML document needs a root element")
        return MISSING
    if not operation.body_media:  # an Operation built by hand: JSON only, as before body_media
        if not _JSON_TYPE.match(request.mimetype or ""):
            raise UnsupportedMediaType(request.content_type or "")
        return bodies.decode_body(raw, "application/json", None)
    media = bodies.pick_media(operation.body_media, request.mimetype)
    if media is None:
        raise UnsupportedMediaType(request.content_type or "", tuple(operation.body_media))
    return bodies.decode_body(raw, request.mimetype, media, request.content_type or "")


def body_media(request: Request, operation: Operation) -> MediaSpec | None:
    """The declared media type this request's body is read and validated as (None: the JSON one)."""
    return bodies.pick_media(operation.body_media, request.mimetype) if operation.body_media else None


def read_parameters(operation: Operation, path_params: dict[str, str], request: Request) -> tuple[dict, dict]:
    """Path and query parameters, converted to their schema's type and validated."""
    values: dict[str, dict[str, Any]] = {"path": {}, "query": {}}
    issues: list[Issue] = []
    for param in operation.parameters:
        if param.location == "path":
            raw: Any = path_params.get(param.name, MISSING)
            if raw is MISSING:  # a name the router could not take has a positional one
                raw = next((path_params[variable] for variable, name in path_variables(operation.path)
                            if name == param.name and variable in path_params), MISSING)
        elif param.location == "query":
            if param.media is not None:  # no style: the text of its media type
                raw = request.args.getlist(param.name)[-1] if param.name in request.args else MISSING
            elif param.style in (None, "form") and _is_object(param.schema):
                raw = _form_object(request.args, param, operation)
            else:
                items = request.args.getlist(param.name)
                if items and param.schema.get("type") == "array":
                    items = _delimited(items, param)
                raw = MISSING if not items else (items if param.schema.get("type") == "array" else items[-1])
                if param.style == "deepObject":
                    deep = _deep_object(request.args, param)
                    if deep is not MISSING:
                        raw = deep
                    elif raw == "" and _is_object(param.schema):
                        raw = {}  # `?filter=`: the empty object, which deepObject has no `filter[k]` pair to write
                    elif raw == "null" and "null" in bodies.types_of(param.schema):
                        raw = None  # `?filter=null`, as documents say to send "no filter" (OpenAI's `metadata`)
        elif param.location == "header":
            raw = request.headers.get(param.name, MISSING)
        elif param.location == "cookie":
            raw = request.cookies.get(param.name, MISSING)
        else:
            continue
        if raw is MISSING:
            if param.required and param.location == "header" and param.name.lower() == "authorization":
                # A document that declares the credential as a header parameter (not a security
                # scheme): without it the caller is not authenticated.
                raise Unauthorized("no credential; send the Authorization header")
            if param.required:
                issues.append(Issue(param.location, (param.name,), "required",
                                    f"{param.location} parameter {param.name!r} is required",
                                    expected=param.name))
            elif "default" in param.schema:
                values.setdefault(param.location, {})[param.name] = param.schema["default"]
            continue
        if param.media is not None:
            value = _decoded(raw, param.media)
        else:
            value = coerce_types(raw, param.schema, operation.coerce_types) if operation.coerce_types \
                else coerce(raw, param.schema)
        found = schema_issues(param.validator, value, param.location, (param.name,))
        issues.extend(found)
        if not found:
            values.setdefault(param.location, {})[param.name] = value
    if issues:
        raise ValidationFailed(issues)
    return values["path"], values["query"]


_DELIMITERS = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}


def _delimited(items: list[str], param) -> list[str]:
    """A query array as its `style` and `explode` write it: `?a=1&a=2` (form, exploded: the default),
    or one value split on `,` (`explode: false`), ` ` (spaceDelimited) or `|` (pipeDelimited)."""
    style = param.style or "form"
    if (style == "form" and param.explode is not False) or style not in _DELIMITERS:
        return items
    return [part for item in items for part in (item.split(_DELIMITERS[style]) if item else [])]


def _deep_object(args, param) -> Any:
    """`?filter[name]=x&filter[size]=2` (style deepObject) as `{"name": "x", "size": 2}`, each value as
    its property's type; MISSING when no key of the object was sent."""
    prefix = f"{param.name}["
    found = {key[len(prefix):-1]: args.getlist(key)[-1] for key in args if key.startswith(prefix) and key.endswith("]")}
    if not found:
        return MISSING
    props = param.schema.get("properties", {}) if isinstance(param.schema, dict) else {}
    return {name: coerce(value, props.get(name, {})) for name, value in found.items()}


def _decoded(raw: Any, media: str) -> Any:
    """A parameter given by `content`: JSON decoded when its media type is JSON and it parses (else
    the text, for the validator to judge)."""
    if isinstance(raw, str) and is_json_media(media):
        try:
            return jsontext.loads(raw.encode("utf-8", "surrogatepass"))
        except (ValueError, RecursionError):
            return raw
    return raw


def _is_object(schema: dict) -> bool:
    kind = schema.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) \
        or (kind is None and "properties" in schema)


def _form_object(args, param, operation: Operation) -> Any:
    """A query object in style form (the default), each value as its property's type; MISSING when
    none of it was sent. Exploded (the default), each property is its own pair, `?color=red&size=L`:
    the names the schema declares, or with `additionalProperties`, every name no other parameter of the
    operation takes. Not exploded, one pair lists names and values, `?filter=color,red,size,L` (an odd
    count is left as text, for the validator to refuse)."""
    props = param.schema.get("properties") if isinstance(param.schema.get("properties"), dict) else {}
    extra = param.schema.get("additionalProperties", True)
    extra = extra if isinstance(extra, dict) else {}
    if param.explode is False:
        if param.name not in args:
            return MISSING
        text = args.getlist(param.name)[-1]
        parts = text.split(",") if text else []
        if len(parts) % 2:
            return text
        pairs = zip(parts[::2], parts[1::2], strict=True)
        return {name: coerce(value, props.get(name, extra)) for name, value in pairs}
    if props and not param.schema.get("additionalProperties"):
        names = [name for name in props if name in args]
    else:
        taken = set()  # what the operation's other query parameters read
        for other in operation.parameters:
            if other.location == "query" and other is not param:
                taken.add(other.name)
                if other.media is None and other.style in (None, "form") and other.explode is not False \
                        and _is_object(other.schema) and isinstance(other.schema.get("properties"), dict):
                    taken.update(other.schema["properties"])
        names = [name for name in args
                 if name not in taken and not any(name.startswith(f"{other}[") for other in taken)]
    if not names:
        return MISSING
    found = {}
    for name in names:
        schema = props.get(name, extra)
        values = args.getlist(name)
        found[name] = coerce(values if schema.get("type") == "array" else values[-1], schema)
    return found


def coerce(raw: Any, schema: dict) -> Any:
    """A query or path string as the schema's type, when it reads as one (else left for the
    validator to reject with a message naming the type)."""
    kind = schema.get("type")
    if isinstance(raw, list):
        return [coerce(item, schema.get("items", {})) for item in raw]
    if kind == "integer" and re.fullmatch(r"[+-]?\d{1,100}", raw):  # the schema bounds it, not us
        return int(raw)
    if kind == "number":
        try:
            value = float(raw)
        except ValueError:
            return raw
        return value if math.isfinite(value) else raw
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def validate_body(request: Request, operation: Operation, body: Any) -> None:
    if operation.body_validator is None or body is MISSING:
        return
    media = body_media(request, operation)
    if isinstance(body, bytes):  # binary: only its size, already checked, and the schema's lengths
        issues = bodies.size_issues(body, media.schema if media else {})
    else:
        issues = schema_issues(media.validator if media else operation.body_validator, body, "body", ())
    if issues:
        raise ValidationFailed(issues)


def schema_issues(validator, instance: Any, location: str, prefix: tuple) -> list[Issue]:
    """Every schema error as an Issue, the most relevant first."""
    errors = list(validator.iter_errors(instance))
    if not errors:
        return []
    from jsonschema.exceptions import relevance

    errors.sort(key=relevance, reverse=True)
    issues = []
    for error in errors:
        path = prefix + tuple(error.absolute_path)
        value: Any = error.instance
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = next((p for p in error.validator_value if p not in error.instance), None)
            path, value = path + (missing,), MISSING
        where = _dotted(path) or location
        issues.append(Issue(location, path, str(error.validator), f"{where}: {error.message}",
                            value, error.validator_value))
    return issues


def _dotted(path: tuple) -> str:
    return Issue("body", path, "", "").dotted


def drop_unknown(schema: dict | None, value: Any, warnings: list[str], where: str = "") -> Any:
    """Remove object properties the schema does not name (the vendors drop them silently);
    record each as a warning for the journal."""
    if not schema or not isinstance(value, dict) or "properties" not in schema:
        return value
    if schema.get("additionalProperties") is False:
        return value
    known = schema["properties"]
    chosen = subtype(schema, value)
    if chosen is not None:  # a base schema: the subtype its discriminator names declares more
        known = {**properties_of(chosen), **known}
    kept = {}
    for key, item in value.items():
        name = f"{where}.{key}" if where else key
        if key in known:
            kept[key] = drop_unknown(known[key], item, warnings, name)
        else:
            warnings.append(f"unknown field {name!r} dropped")
    return kept


def finish(runtime: Runtime, operation: Operation | None, reply: Reply, exchange: Exchange,
           observed: bool = True, lean: bool = False) -> Response | _Plain:
    """Check the reply against the spec, serialize it once, tell the observers (not for the control
    API, which also never gets CORS headers). `lean` (the lean dispatch) may get a `_Plain` answer."""
    documented = operation.response(reply.status) if operation else None
    # An error status the operation does not document, from an API that may answer one (looked up only then).
    mounted = runtime.mounts.get(exchange.vendor) if documented is None and reply.status >= 400 else None
    unchecked = mounted is not None and mounted.vendor.undocumented_errors
    if operation is not None and runtime.settings.validate_responses and not unchecked:
        problem = response_problem(operation, documented, reply)
        if problem and reply.best_effort:
            log.warning("no valid answer: %s", problem)
            exchange.warnings.append(f"the document allows no valid answer here: {problem}")
            problem = None
        if problem:
            log.error("mock bug: %s", problem)
            exchange.error = problem
            reply = Reply(500, {"error": "mock response does not match its spec", "detail": problem}) if observed \
                else Reply(500, {"error": "Internal Server Error", "message": problem, "status": 500})  # the mock's own
            documented = None
    # The type the reply names (a document served as YAML or JSON), else the documented one; an
    # undocumented reply (a 405 outside every operation) keeps the type its vendor chose.
    media_type = reply.headers.get("Content-Type") or (documented.media_type if documented else None) \
        or "application/json"
    if "*" in media_type:
        media_type = concrete_media(media_type, exchange.headers.get("Accept"), isinstance(reply.body, str | bytes))
    if reply.body is None:
        payload = b""
    elif isinstance(reply.body, str) and not _JSON_TYPE.match(media_type.partition(";")[0].strip()):
        payload = reply.body.encode("utf-8")  # a text answer (a vendor's plain-text 404), sent as is
    else:
        payload = _utf8(_encode(reply.body))
    plain = _plain_answer(reply, exchange, media_type, payload, runtime.settings.cors) if lean and observed else None
    if plain is not None:
        response: Response | _Plain = plain
    else:
        response = _answer_class()(payload, status=reply.status, headers=reply.headers,
                                   content_type=media_type if reply.body is not None else None)
        if reply.body is None:
            response.headers.pop("Content-Type", None)
        response.status = f"{reply.status} {_reason(reply.status)}"
        if not observed:
            return response
        add_cors(runtime, response)
    exchange.status = reply.status
    exchange.response_body = reply.body
    exchange.response_bytes = payload
    exchange.response_headers = dict(reply.headers)
    for observe in runtime.observers:
        observe(exchange)
    return response


class _Plain:
    """The usual answer of the lean dispatch as the WSGI server gets it: status, header list and
    body, without building a werkzeug Response (~15 µs a request). Its headers are the ones
    `_Answer` would send, with the same names and values."""

    __slots__ = ("status", "status_code", "headers", "body")

    def __init__(self, status_code: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status_code, self.status = status_code, f"{status_code} {_reason(status_code)}"
        self.headers, self.body = headers, body

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        start_response(self.status, self.headers)
        return [self.body]


_REWRITTEN = frozenset(("location", "content-location", "content-length"))  # werkzeug's to decide
_CORS_NAMES = frozenset(name.lower() for name in CORS_HEADERS)


def _plain_answer(reply: Reply, exchange: Exchange, media_type: str, payload: bytes, cors: bool) -> _Plain | None:
    """The answer as `_Plain`, with the status, headers and body werkzeug would send: no body, no
    `Content-Type` (None: nothing to type) and a `Content-Length` of 0; a 204 without `Content-Length`;
    HEAD with its GET's headers and no body. Not for a 1xx or 304, a header werkzeug rewrites, or a
    value that is not plain text (werkzeug refuses a newline): those stay werkzeug's."""
    status = reply.status
    if not 200 <= status < 600 or status == 304:
        return None
    headers, typed = [], False
    for name, value in reply.headers.items():
        lower = name.lower()
        if lower in _REWRITTEN or (cors and lower in _CORS_NAMES) or not isinstance(value, str) \
                or "\n" in value or "\r" in value:
            return None
        if lower == "content-type":
            if reply.body is None:
                continue
            value, typed = media_type, True
        headers.append((name, value))
    if not typed and reply.body is not None:
        headers.append(("Content-Type", media_type))
    if status != 204:
        headers.append(("Content-Length", str(len(payload))))
    if cors:
        headers.extend(CORS_HEADERS.items())
    return _Plain(status, headers, b"" if status == 204 or exchange.method == "HEAD" else payload)


@functools.cache
def _answer_class() -> type[Response]:
    """`_Answer`, made when an answer first needs werkzeug (a `Location`, the control API): a start
    whose first answers are plain ones never imports it."""
    from werkzeug.wrappers import Response

    class _Answer(Response):
        """An answer sent as werkzeug sends it, the usual case without its per-call work: a copy of
        the headers scanned for `Location`, and an iterator wrapping the one body chunk."""

        def __call__(self, environ: dict, start_response: Callable) -> Any:
            status = self.status_code
            if environ.get("REQUEST_METHOD") == "HEAD" or not 200 <= status < 600 or status in (204, 304) \
                    or not isinstance(self.response, list) or not self._plain_headers():
                return super().__call__(environ, start_response)
            start_response(self.status, self.headers.to_wsgi_list())
            return self.response

        def _plain_headers(self) -> bool:
            """Content-Length set, and nothing werkzeug rewrites (Location, Content-Location)."""
            length = False
            for key, _ in self.headers:
                name = key.lower()
                if name in ("location", "content-location"):
                    return False
                length = length or name == "content-length"
            return length

    return _Answer


def _utf8(text: str) -> bytes:
    """The answer's bytes; a lone surrogate an error message quotes (a refused key) becomes U+FFFD."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return re.sub("[\ud800-\udfff]", "\ufffd", text).encode("utf-8")


# Compact, numbers printed as the vendors' JavaScript and Go print them (`7.0` is `7`).
_encode = jsontext.dumps


@functools.lru_cache(maxsize=256)
def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def response_problem(operation: Operation, documented, reply: Reply) -> str | None:
    """Why the reply breaks the spec (naming the field), or None."""
    name = f"{operation.vendor} {operation.operation_id}"
    if not operation.responses:  # documents no answer at all (OpenAPI 3.1 allows it): nothing to check
        return None
    if documented is None:
        return f"{name}: status {reply.status} is not documented"
    validator = documented.validator
    named = reply.headers.get("Content-Type", "").partition(";")[0].strip().lower()
    if named and named in documented.media:  # the reply chose one of the documented media types
        validator = documented.media[named].validator
    if validator is None:
        return None if reply.body is None else f"{name}: status {reply.status} documents no body"
    if reply.body is None:
        return f"{name}: status {reply.status} needs a body"
    error = next(iter(sorted(validator.iter_errors(reply.body), key=lambda e: list(e.path))), None)
    if error is None:
        return None
    field_name = _dotted(tuple(error.absolute_path)) or "(the body)"
    return f"{name}: response {reply.status} field {field_name}: {error.message}"

def observe_http_error(runtime: Runtime, request: Request, error: HTTPException, body: Any) -> None:
    """Tell the observers about a vendor request answered outside the pipeline: no route matched
    (404), or the mock refused it (a `Prefer` it cannot honour). Control API requests are skipped."""
    if request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/"):
        return
    exchange = getattr(error, "exchange", None)
    if exchange is None:
        if error.code != 404:
            return
        exchange = Exchange(vendor=_vendor_of(runtime, request.path) or "", method=request.method,
                            path=request.path, query=request.args.to_dict(flat=False),
                            headers=dict(request.headers), body=b"", request=request)
        exchange.error = f"no route for {request.method} {request.path}"
    else:
        exchange.error = error.description
    exchange.status = error.code or 500
    exchange.response_body = body
    for observe in runtime.observers:
        observe(exchange)


def _vendor_of(runtime: Runtime, path: str) -> str | None:
    """The vendor whose base path the path is under, if any."""
    target = mount_at(runtime, path)
    return target.vendor.name if target else None


def mount_at(runtime: Runtime, path: str) -> Mount | None:
    """The mounted API whose base path (`Spec.base_path`) holds the path, the longest one first."""
    owners = [target for target in runtime.mounts.values() if target.spec.owns(path)]
    return max(owners, key=lambda target: len(target.spec.base_path), default=None)


def unrouted(runtime: Runtime, request: Request, target: Mount) -> Response:
    """A request under a vendor's base path that no operation matches: the vendor's own 404."""
    exchange = Exchange(vendor=target.vendor.name, method=request.method, path=request.path,
                        query=request.args.to_dict(flat=False), headers=dict(request.headers), body=b"",
                        request=request)
    error = RouteNotFound(f"no route for {request.method} {request.path}")
    exchange.error = error.message
    context = ErrorContext(request.method, request.path, None, None, runtime.determinism, runtime.store)
    return finish(runtime, None, target.vendor.render_error(error, context), exchange)



__all__ = ["add_cors", "handle", "mount", "mount_at", "observe_http_error", "unrouted"]
