"""The control API under `/__mock` (openapi/admin.yaml): health, reset, the request journal, state
export/import, fault rules and the specs as served.

It is served by the same request path as every API (`pipeline`), as an API whose steps are its
own: it refuses other sites first, takes the admin token (with `--admin-token`) instead of a
tenant's credential, reads its bodies strictly, answers errors as admin.yaml's `Error`, and is
neither journaled nor faulted nor given CORS headers. Handlers are thin: the work is in `journal`,
`faults` and `state`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from mockserver import __version__, ecma, jsontext, pipeline
from mockserver.errors import Issue, MethodNotAllowed, MockError, ValidationFailed
from mockserver.exchange import Mount
from mockserver.faults import FaultError
from mockserver.pipeline import schema_issues
from mockserver.records import dataclass
from mockserver.settings import ADMIN_SPEC, CONTROL_PREFIX
from mockserver.spec import Operation, Spec, SpecError
from mockserver.state import StateError, export_state, import_state
from mockserver.store import Tenant
from mockserver.vendors.base import Call, ErrorContext, Reply, Vendor

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

PREFIX = CONTROL_PREFIX
CONTROL = Tenant("admin", "")  # who calls the control API: no tenant of any API
SPEC_FILE = ADMIN_SPEC
log = logging.getLogger("mockserver")


class AdminError(MockError):
    """An answer other than success, as admin.yaml's `Error`."""

    def __init__(self, status: int, message: str, issues: list[dict] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.issues, self.headers = status, issues, headers or {}


@dataclass
class AdminCall:
    operation: Operation
    spec: Spec  # admin.yaml itself
    body: Any
    path: dict[str, Any]
    query: dict[str, Any]


Result = tuple[int, Any] | Reply
Handler = Callable[["Runtime", AdminCall], Result]


def mount(app: Flask, runtime: Runtime, spec: Spec) -> Mount:
    """Serve admin.yaml's routes under `/__mock` through the common request path."""
    if spec.server_path != PREFIX:
        raise SpecError(f"{spec.source}: the control API must be served at {PREFIX}, not {spec.server_path!r}")
    if set(spec.operations) != set(HANDLERS):
        raise SpecError(f"{spec.source}: handlers and spec disagree: "
                        f"{sorted(set(spec.operations) ^ set(HANDLERS))}")
    handlers = {op_id: _handler(runtime, spec, op_id) for op_id in HANDLERS}
    vendor = Vendor(name="admin", spec_file=SPEC_FILE, handlers=handlers, render_error=render_error,
                    screen=_screen, authenticate=lambda operation: _authorize(runtime, operation),
                    read_body=_body)
    target = Mount(vendor, spec, control=True)
    pipeline.mount(app, runtime, target)
    return target


def _handler(runtime: Runtime, spec: Spec, operation_id: str) -> Callable[[Call], Reply]:
    def run(call: Call) -> Reply:
        try:
            result = HANDLERS[operation_id](runtime, AdminCall(call.operation, spec, call.body, call.path,
                                                               call.query))
        except (StateError, FaultError) as error:
            issues = getattr(error, "issues", None)
            raise AdminError(400, str(error), issues and [{"in": "body", "name": name, "detail": detail}
                                                          for name, detail in issues]) from None
        if isinstance(result, Reply):
            return result
        status, payload = result
        return Reply(status, payload)

    return run


def render_error(error: MockError, context: ErrorContext) -> Reply:
    """admin.yaml's `Error`: `{error, message, status}`, and `issues` naming each field."""
    status = error.status
    headers = dict(getattr(error, "headers", {}))
    issues = getattr(error, "issues", None)
    if isinstance(error, ValidationFailed):
        status, issues = 400, [_issue(issue) for issue in error.issues]
    elif isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)
    payload: dict = {"error": HTTPStatus(status).phrase, "message": error.message, "status": status}
    if issues:
        payload["issues"] = issues
    return Reply(status, payload, headers)


def _screen() -> AdminError | None:
    refusal = foreign_origin()
    return AdminError(403, refusal) if refusal else None


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


def _issue(issue: Issue) -> dict:
    return {"in": issue.location, "name": issue.dotted or issue.location, "detail": issue.message}


def _authorize(runtime: Runtime, operation: Operation) -> Tenant:
    """With `--admin-token`, every operation that declares security needs it (health does not)."""
    token = runtime.settings.admin_token
    if not token or not operation.security:
        return CONTROL
    if not token_sent(token):
        raise AdminError(401, "the control API needs the admin token: send Authorization: Bearer <token> "
                              "or X-Mock-Admin-Token: <token>",
                         headers={"WWW-Authenticate": 'Bearer realm="mockserver"'})
    return CONTROL


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
    if not _holds_float(body):  # the schema's verdict stands (the usual body: no jsonschema needed)
        return []
    validator = _STRICT.get(operation.operation_id)
    if validator is None:
        validator = _STRICT[operation.operation_id] = _strict_class()(operation.body_schema)
    return schema_issues(validator, body, "body", ())


def _holds_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_holds_float(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_float(item) for item in value)
    return False


def _strict_integer(checker, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.cache
def _strict_class() -> Any:
    from jsonschema import validators

    validator = ecma.validator_class()
    return validators.extend(validator, type_checker=validator.TYPE_CHECKER.redefine("integer", _strict_integer))


_STRICT: dict[str, Any] = {}


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
                **({"profile": mount.vendor.profile} if mount.vendor.profile is not None else {}),
                "openapi": f"{base}{PREFIX}/openapi/{name}.yaml",
                **({"specFaults": list(mount.spec.faults)} if mount.spec.faults else {})}
               for name, mount in runtime.mounts.items()]
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
    document = dict(spec.bundled or spec.document, servers=[{"url": _base_url() + spec.server_path}])
    if kind == "json":
        return Reply(200, document, {"Content-Type": "application/json"})
    import yaml  # here: only this answer writes YAML, and a start need not import it

    return Reply(200, yaml.safe_dump(document, sort_keys=False, allow_unicode=True),
                 {"Content-Type": "application/yaml"})


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
