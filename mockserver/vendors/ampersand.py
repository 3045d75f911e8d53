"""Ampersand: projects of the platform API.

The engine serves the projects from ampersand.yaml (create, list, get, update; `name` lowercased and
unique per org, a path naming a project by id or by name, the update mask, the entitlements'
`default`s). What no spec can say is here: a project is stored with its times in microseconds and
rendered as Go prints them; entitlements come with a create and with a get that asks; and the
errors, problem+json (RFC 9457) with Ampersand's additions (`subsystem`, `time`, `requestId`,
`remedy`, `issues[]`)."""

from __future__ import annotations

from http import HTTPStatus

from mockserver.determinism import rfc3339_nano
from mockserver.engine import build_vendor
from mockserver.errors import (
    MISSING,
    BadRequest,
    Conflict,
    EntityNotFound,
    Issue,
    MalformedBody,
    MethodNotAllowed,
    MockError,
    RouteNotFound,
    Unauthorized,
    ValidationFailed,
)
from mockserver.inference import collection_named, defaults, properties_of
from mockserver.spec import Spec, load_spec, specs_dir
from mockserver.store import Record
from mockserver.vendors.base import Call, Codec, ErrorContext, Overrides, Reply, Vendor, micros

PROFILE = "seed"  # the default profile: the contract the seed's pages show (2026-03, X-Api-Key on create)
COLLECTION = "projects"
SPEC = load_spec(specs_dir() / "ampersand.yaml", "ampersand")


# --- the record and the API object -------------------------------------------------------------

def codec(spec: Spec, entitlements_on: frozenset[str] = frozenset({"create", "export"})) -> Codec:
    """How a project is kept and shown, for the spec (a profile's document) given. `entitlements_on`:
    the answers that carry entitlements (besides a get that asks), when the spec's project has any."""
    schema = collection_named(spec, COLLECTION).schema
    # (brandingRemoval, logRetentionDays) a project has unless a state import sets its own: the
    # spec's `default`s (the plan is not in the API; the retention is a guess, the spec says so).
    entitled = "entitlements" in properties_of(schema)
    branding, retention = ((defaults(schema, "entitlements", "brandingRemoval").get("value", False),
                            defaults(schema, "entitlements", "logRetentionDays").get("value", 30))
                           if entitled else (False, 30))

    def record(call: Call, project: dict, key: str, seq: int) -> Record:
        """A project as stored: times in microseconds (printed as Go does), and entitlements only where
        an import sets them (they cannot be set through the API; each member optional)."""
        created = micros(project["createTime"]) if "createTime" in project else call.now(seq)
        stored = {"id": key, "seq": seq, "name": project["name"], "appName": project["appName"],
                  "orgId": project.get("orgId"), "created": created,
                  "updated": micros(project["updateTime"]) if "updateTime" in project else created}
        entitlements = project.get("entitlements")
        if entitlements:
            stored["brandingRemoval"] = entitlements.get("brandingRemoval", {}).get("value", branding)
            stored["logRetentionDays"] = entitlements.get("logRetentionDays", {}).get("value", retention)
        return stored

    def show(call: Call, record: Record, kind: str) -> dict:
        """Entitlements come with the answers `entitlements_on` names, and with a get that asks for them."""
        project = {
            "id": record["id"],
            "name": record["name"],
            "appName": record["appName"],
            "orgId": record["orgId"],
            "createTime": rfc3339_nano(record["created"]),
            "updateTime": rfc3339_nano(record["updated"]),
        }
        if project["orgId"] is None:  # a project of before org ids (the 2024 profile's), as Go omits it
            del project["orgId"]
        if entitled and (kind in entitlements_on or (kind == "read" and call.query.get("includeEntitlements"))):
            # Go's encoding/json: both members are struct values, so both appear whenever the object does.
            project["entitlements"] = {
                "brandingRemoval": {"value": record.get("brandingRemoval", branding)},
                "logRetentionDays": {"value": record.get("logRetentionDays", retention)},
            }
        return project

    return Codec("project", record, show, change)


def change(call: Call, old: Record, body: dict, seq: int) -> Record:
    return dict(old, **body, updated=call.now(seq))


# --- errors ------------------------------------------------------------------------------------

def issue_detail(issue: Issue) -> str:
    name = issue.dotted or "body"
    expected = issue.expected
    match issue.keyword:
        case "required" if not issue.message.startswith("value not found"):
            return f"{name} is required"
        case "type":
            return f"{name} must be of type {expected if isinstance(expected, str) else ' or '.join(expected)}"
        case "pattern":
            return f"{name} does not match pattern '{expected}'"
        case "minLength":
            return f"{name} must be at least {expected} characters long"
        case "maxLength":
            return f"{name} must be at most {expected} characters long"
        case "minItems":
            return f"{name} must have at least {expected} item(s)"
        case _:
            return issue.message


def render_error(error: MockError, context: ErrorContext) -> Reply:
    headers: dict[str, str] = {"Content-Type": "application/problem+json"}  # every error, 405 too
    extra: dict = {}
    match error:
        case ValidationFailed():
            where = {issue.location for issue in error.issues}
            detail = "request body failed validation" if where == {"body"} else "request failed validation"
            extra["issues"] = [_issue(issue) for issue in error.issues]
        case EntityNotFound():
            detail = "project not found"
            extra["remedy"] = "Check the project's id or name, or list projects to find it."
        case Conflict():
            detail = "a project with this name already exists in the organization"
            extra["remedy"] = "Choose a different project name"
        case BadRequest():
            detail = error.message
            if error.remedy:
                extra["remedy"] = error.remedy
        case MalformedBody() | Unauthorized():
            detail = error.message
        case RouteNotFound():
            detail = error.message
            extra["remedy"] = "Check the method and path against the API reference."
        case MethodNotAllowed():
            detail = error.message
            headers["Allow"] = ", ".join(error.allowed)
        case _:
            detail = error.message or HTTPStatus(error.status).phrase
    status = error.status
    if status >= 500 or status == 429:
        extra["retryable"] = True
    return Reply(status, problem(status, detail, context) | extra, headers)


def problem(status: int, detail: str, context: ErrorContext) -> dict:
    tenant = context.tenant
    seq = context.store.sequence(tenant) if tenant else 0
    request_uuid = context.determinism.uuid4("ampersand", tenant.credential if tenant else "", "request", seq)
    return {
        "type": f"https://httpstatuses.com/{status}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "subsystem": "api",
        "time": rfc3339_nano(context.determinism.now(seq)),
        "requestId": f"{request_uuid}#{seq}",
    }


def _issue(issue: Issue) -> dict:
    entry = {"in": issue.location, "name": issue.dotted or "body"}
    if issue.value is not MISSING:
        entry["value"] = issue.value
    entry["detail"] = issue_detail(issue)
    return entry


def for_profile(spec: Spec, profile: str) -> Vendor:
    """Another version of the API (`mockserver.vendors`): the same code over the profile's document.
    Today's service promises entitlements only to a get that asks (and the export keeps them)."""
    shown = frozenset({"export"}) if profile == "latest" else frozenset({"create", "export"})
    return build_vendor(spec, Overrides(codecs={COLLECTION: codec(spec, shown)}, render_error=render_error,
                                        undocumented_errors=False))


VENDOR = build_vendor(SPEC, Overrides(
    codecs={COLLECTION: codec(SPEC)},
    render_error=render_error,
    undocumented_errors=False,
))
