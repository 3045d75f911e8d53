"""The control API under `/__mock` (openapi/admin.yaml): health, reset, the request journal, state
export/import, fault rules and the specs as served.

As for the vendors, the routes come from the spec and each operationId has one handler here;
parameters, bodies and responses are checked with the spec's compiled validators. Handlers are
thin: the work is in `journal`, `faults` and `state`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml
from flask import Blueprint, Response, jsonify, request
from jsonschema import validators
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import Rule

from mockserver import __version__, jsontext
from mockserver.ecma import Validator
from mockserver.errors import Issue, ValidationFailed
from mockserver.faults import FaultError
from mockserver.pipeline import read_parameters, schema_issues
from mockserver.settings import CONTROL_PREFIX
from mockserver.spec import Operation, Spec, SpecError, flask_rule
from mockserver.state import StateError, export_state, import_state
from mockserver.store import Tenant

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

PREFIX = CONTROL_PREFIX
SPEC_FILE = "admin.yaml"
log = logging.getLogger("mockserver")


class AdminError(Exception):
    """An answer other than success, as admin.yaml's `Error`."""

    def __init__(self, status: int, message: str, issues: list[dict] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.issues, self.headers = status, message, issues, headers or {}


@dataclass
class AdminCall:
    operation: Operation
    spec: Spec  # admin.yaml itself
    body: Any
    path: dict[str, Any]
    query: dict[str, Any]


Result = tuple[int, Any] | Response
Handler = Callable[["Runtime", AdminCall], Result]


def blueprint(runtime: Runtime, spec: Spec) -> Blueprint:
    """The `/__mock` routes of admin.yaml, each served by its handler."""
    if spec.server_path != PREFIX:
        raise SpecError(f"{spec.source}: the control API must be served at {PREFIX}, not {spec.server_path!r}")
    if set(spec.operations) != set(HANDLERS):
        raise SpecError(f"{spec.source}: handlers and spec disagree: "
                        f"{sorted(set(spec.operations) ^ set(HANDLERS))}")
    routes = Blueprint("mockserver_admin", __name__, url_prefix=PREFIX)
    for spec_path, operations in spec.paths.items():

        def view(_operations=operations, **path_params: str) -> Response:
            return _serve(runtime, spec, _operations, path_params)

        def add(state, path=spec_path, view=view):
            # methods=None: every method, QUERY and made-up ones too, reaches `_serve`'s 405 with `Allow`
            endpoint = f"{routes.name}.{path}"
            state.app.url_map.add(Rule(PREFIX + flask_rule(path), endpoint=endpoint, methods=None))
            state.app.view_functions[endpoint] = view

        routes.record(add)
    return routes


def _serve(runtime: Runtime, spec: Spec, operations: dict[str, Operation], path_params: dict[str, str]) -> Response:
    operation = operations.get(request.method) or (operations.get("GET") if request.method == "HEAD" else None)
    try:
        refusal = foreign_origin()
        if refusal:
            raise AdminError(403, refusal)
        if operation is None:
            allowed = ", ".join(sorted(operations))
            raise AdminError(405, f"method {request.method} is not allowed on {request.path}; allowed: {allowed}",
                             headers={"Allow": allowed})
        _authorize(runtime, operation)
        path, query = read_parameters(operation, path_params)
        body = _body(operation)
        result = HANDLERS[operation.operation_id](runtime, AdminCall(operation, spec, body, path, query))
    except ValidationFailed as error:
        result = _error(AdminError(400, error.message, [_issue(issue) for issue in error.issues]))
    except (StateError, FaultError) as error:
        issues = getattr(error, "issues", None)
        result = _error(AdminError(400, str(error), issues and [{"in": "body", "name": name, "detail": detail}
                                                                for name, detail in issues]))
    except AdminError as error:
        result = _error(error)
    if isinstance(result, Response):
        return _own_origin_only(result)
    status, payload = result
    if operation is not None and runtime.settings.validate_responses:
        problem = _response_problem(operation, status, payload)
        if problem:
            log.error("control API bug: %s", problem)
            status, payload = 500, {"error": "Internal Server Error", "message": problem, "status": 500}
    response = jsonify(payload)
    response.status_code = status
    return _own_origin_only(response)


def foreign_origin() -> str | None:
    """Why a request from another origin is refused, or None for this page, curl and test code.

    The control API and the page serve no other origin: no cross-origin preflight is answered (so a
    page elsewhere cannot send JSON, DELETE or PUT here), and a request that a browser marks as
    coming from another site (`Origin`, `Sec-Fetch-Site`) is refused, even one a form or a
    `no-cors` fetch can send without a preflight (an empty POST to `/reset`)."""
    origin = request.headers.get("Origin")
    site = request.headers.get("Sec-Fetch-Site", "").lower()
    if site not in ("cross-site", "same-site") or request.method in ("GET", "HEAD"):
        site = ""  # a link followed from elsewhere may open the page or read a document
    own = request.host.lower()
    if (origin is None or urlsplit(origin.lower()).netloc == own) and not site:
        return None
    if origin is not None and request.method == "OPTIONS":
        return (f"the control API answers no cross-origin request: {origin} is not {own}; "
                "it serves only its own page, curl and test code")
    return (f"the control API refuses requests from another site ({origin or site}): only its own page at "
            f"{PREFIX}/, curl and test code may use it")


def _own_origin_only(response: Response) -> Response:
    """No CORS header on any control answer, whatever else may add them."""
    for name in [name for name in response.headers.keys() if name.lower().startswith("access-control-")]:
        del response.headers[name]
    return response


def _error(error: AdminError) -> tuple[int, dict] | Response:
    payload: dict = {"error": HTTPStatus(error.status).phrase, "message": error.message, "status": error.status}
    if error.issues:
        payload["issues"] = error.issues
    if not error.headers:
        return error.status, payload
    response = jsonify(payload)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _issue(issue: Issue) -> dict:
    return {"in": issue.location, "name": issue.dotted or issue.location, "detail": issue.message}


def _authorize(runtime: Runtime, operation: Operation) -> None:
    """With `--admin-token`, every operation that declares security needs it (health does not)."""
    token = runtime.settings.admin_token
    if not token or not operation.security:
        return
    if not token_sent(token):
        raise AdminError(401, "the control API needs the admin token: send Authorization: Bearer <token> "
                              "or X-Mock-Admin-Token: <token>",
                         headers={"WWW-Authenticate": 'Bearer realm="mockserver"'})


PAGE_COOKIE = "mockserver_admin"  # set by the page once it was opened with `?token=`


def page_cookie(token: str) -> str:
    """The page's cookie value: a digest of the token, so the browser never stores the token itself."""
    return hashlib.sha256(b"mockserver page\n" + token.encode()).hexdigest()


def token_sent(token: str) -> bool:
    """Whether the request carries the admin token: `Authorization: Bearer`, `X-Mock-Admin-Token`, or
    the page's cookie (`SameSite=Strict`, and another site's requests are refused anyway)."""
    header = request.headers.get("Authorization", "")
    sent = header[len("Bearer "):].strip() if header.startswith("Bearer ") else \
        request.headers.get("X-Mock-Admin-Token", "")
    if sent:
        return hmac.compare_digest(sent.encode(), token.encode())
    cookie = request.cookies.get(PAGE_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), page_cookie(token).encode())


def _body(operation: Operation) -> Any:
    """The validated JSON body; `{}` when an optional one is absent; None when the operation takes none."""
    if operation.body_schema is None:
        return None
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise AdminError(413, f"the body is over the limit of {request.max_content_length} bytes") from None
    # The type first, even for an empty body: a cross-site form (urlencoded, multipart, text/plain)
    # is sent without a preflight, and must not reset or change anything.
    if (raw.strip() or request.content_type) and request.mimetype != "application/json":
        raise AdminError(415, f"unsupported media type {request.content_type or '(none)'}: send application/json")
    if not raw.strip():
        if operation.body_required:
            raise AdminError(400, "a JSON body is required")
        return {}
    try:
        body = json.loads(raw.decode("utf-8-sig"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise AdminError(400, "the body is not valid UTF-8") from None
    except RecursionError:
        raise AdminError(400, "the body is nested too deeply") from None
    except ValueError as error:
        raise AdminError(400, f"the body is not valid JSON: {error}") from None
    where = jsontext.lone_surrogate_path(body)
    if where is not None:  # kept, it would fail every answer that shows it, even after a restart
        name = Issue("body", where, "", "").dotted or "body"
        raise ValidationFailed([Issue("body", where, "format", f"{name}: holds a lone surrogate (a \\uD800-"
                                      "\\uDFFF escape without its pair), which is not text")])
    issues = schema_issues(operation.body_validator, body, "body", ()) or _strict_integers(operation, body)
    if issues:
        raise ValidationFailed(issues)
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _strict_integers(operation: Operation, body: Any) -> list[Issue]:
    """JSON Schema counts `503.0` as an integer; the control API does not: a status, a seed, a delay
    written with a fraction or an exponent is refused, naming the field, never taken for another."""
    validator = _STRICT.get(operation.operation_id)
    if validator is None:
        validator = _STRICT[operation.operation_id] = _Strict(operation.body_schema)
    return schema_issues(validator, body, "body", ())


def _strict_integer(checker, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


_Strict = validators.extend(Validator, type_checker=Validator.TYPE_CHECKER.redefine("integer", _strict_integer))
_STRICT: dict[str, Any] = {}


def _response_problem(operation: Operation, status: int, payload: Any) -> str | None:
    documented = operation.response(status)
    if documented is None:
        return f"{operation.operation_id}: status {status} is not documented"
    error = next(iter(documented.validator.iter_errors(payload)), None) if documented.validator else None
    return None if error is None else f"{operation.operation_id} {status}: {error.message}"


def _known_vendor(runtime: Runtime, vendor: str | None) -> None:
    if vendor is not None and vendor not in runtime.mounts:
        raise AdminError(400, f"vendor {vendor!r} is not served here (served: {', '.join(runtime.mounts)})",
                         [{"in": "body" if request.method == "POST" else "query", "name": "vendor",
                           "detail": "unknown vendor"}])


def _base_url() -> str:
    return request.host_url.rstrip("/")


# --- handlers, by operationId --------------------------------------------------------------------

def get_health(runtime: Runtime, call: AdminCall) -> Result:
    base = _base_url()
    vendors = [{"name": name, "baseUrl": base + mount.spec.server_path,
                "openapi": f"{base}{PREFIX}/openapi/{name}.yaml"} for name, mount in runtime.mounts.items()]
    return 200, {"status": "ok", "version": __version__, "seed": runtime.determinism.seed,
                 "clock": runtime.determinism.clock, "vendors": vendors}


def reset(runtime: Runtime, call: AdminCall) -> Result:
    vendor, credential = call.body.get("vendor"), call.body.get("credential")
    _known_vendor(runtime, vendor)
    runtime.store.reset(vendor=vendor, tenant=Tenant(vendor, credential) if credential is not None else None)
    runtime.journal.clear(vendor, credential)
    runtime.faults.clear(vendor, credential)
    if "seed" in call.body:
        runtime.determinism.reseed(call.body["seed"])
    return 200, {"status": "ok", "seed": runtime.determinism.seed}


def list_requests(runtime: Runtime, call: AdminCall) -> Result:
    query = call.query
    try:
        page = runtime.journal.page(
            vendor=query.get("vendor"), operation_id=query.get("operationId"), credential=query.get("credential"),
            status=query.get("status"), since=query.get("since"), after=query.get("after"),
            rejected=query.get("rejected"), limit=query.get("limit"))
    except ValueError as error:
        raise AdminError(400, str(error), [{"in": "query", "name": "since", "detail": str(error)}]) from None
    return 200, page


def clear_requests(runtime: Runtime, call: AdminCall) -> Result:
    return 200, {"removed": runtime.journal.clear()}


def get_state(runtime: Runtime, call: AdminCall) -> Result:
    _known_vendor(runtime, call.query.get("vendor"))
    return 200, export_state(runtime, call.query.get("vendor"), call.query.get("credential"))


def put_state(runtime: Runtime, call: AdminCall) -> Result:
    imported = set(import_state(runtime, call.body))
    tenants = export_state(runtime)["tenants"]
    return 200, {"tenants": [t for t in tenants if Tenant(t["vendor"], t["credential"]) in imported]}


def list_faults(runtime: Runtime, call: AdminCall) -> Result:
    return 200, {"faults": runtime.faults.rules()}


def add_fault(runtime: Runtime, call: AdminCall) -> Result:
    return 201, runtime.faults.add(call.body, runtime.mounts)


def clear_faults(runtime: Runtime, call: AdminCall) -> Result:
    return 200, {"removed": runtime.faults.clear()}


def delete_fault(runtime: Runtime, call: AdminCall) -> Result:
    rule_id = call.path["id"]
    if not runtime.faults.delete(rule_id):
        raise AdminError(404, f"no fault rule {rule_id}")
    return 200, {"removed": 1}


def get_openapi(runtime: Runtime, call: AdminCall) -> Result:
    """A spec as written, with `servers` pointing at this mock."""
    name, _, kind = call.path["document"].rpartition(".")
    specs = {vendor: mount.spec for vendor, mount in runtime.mounts.items()} | {"admin": call.spec}
    if name not in specs:
        raise AdminError(404, f"no spec {name!r}; served: {', '.join(f'{n}.yaml' for n in specs)}")
    spec = specs[name]
    document = dict(spec.document, servers=[{"url": _base_url() + spec.server_path}])
    if kind == "json":
        return Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json")
    return Response(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), mimetype="application/yaml")


HANDLERS: dict[str, Handler] = {
    "getHealth": get_health,
    "reset": reset,
    "listRequests": list_requests,
    "clearRequests": clear_requests,
    "exportState": get_state,
    "importState": put_state,
    "listFaults": list_faults,
    "addFault": add_fault,
    "clearFaults": clear_faults,
    "deleteFault": delete_fault,
    "getOpenapi": get_openapi,
}
