"""Ampersand: projects of the platform API. Errors are problem+json (RFC 9457) with Ampersand's
additions (`subsystem`, `time`, `requestId`, `remedy`, and `issues[]` for validation)."""

from __future__ import annotations

import functools
from http import HTTPStatus

from mockserver.determinism import rfc3339_nano
from mockserver.engine import normalized, unique_keys
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
from mockserver.inference import Collection, collection_named, defaults
from mockserver.spec import load_spec, specs_dir
from mockserver.store import Record
from mockserver.store.base import Unique
from mockserver.vendors.base import Call, ErrorContext, Reply, StateFormat, Vendor, micros, recognize

COLLECTION = "projects"
UPDATE_MASKS = ("appName", "name")


def render(record: Record, entitlements: bool = False) -> dict:
    project = {
        "id": record["id"],
        "name": record["name"],
        "appName": record["appName"],
        "orgId": record["orgId"],
        "createTime": rfc3339_nano(record["created"]),
        "updateTime": rfc3339_nano(record["updated"]),
    }
    if entitlements:
        # Go's encoding/json: both members are struct values, so both appear whenever the object does.
        project["entitlements"] = {
            "brandingRemoval": {"value": record.get("brandingRemoval", entitlement_defaults()[0])},
            "logRetentionDays": {"value": record.get("logRetentionDays", entitlement_defaults()[1])},
        }
    return project


@functools.cache
def projects() -> Collection:
    """The project collection with the rules ampersand.yaml declares (`name` lowercased, unique per org)."""
    return collection_named(load_spec(specs_dir() / VENDOR.spec_file, VENDOR.name), COLLECTION)


@functools.cache
def entitlement_defaults() -> tuple[bool, int]:
    """(brandingRemoval, logRetentionDays) a project has unless a state import sets its own: the
    spec's `default`s (the plan is not in the API; the retention is a guess, the spec says so)."""
    return (defaults(projects().schema, "entitlements", "brandingRemoval")["value"],
            defaults(projects().schema, "entitlements", "logRetentionDays")["value"])


# --- handlers ----------------------------------------------------------------------------------

def create_project(call: Call) -> Reply:
    body = normalized(projects(), call.body)

    def build(seq: int) -> Record:
        now = call.now(seq)
        return {"id": call.uuid4("project", seq), "seq": seq, "name": body["name"], "appName": body["appName"],
                "orgId": body["orgId"], "created": now, "updated": now}

    record = call.store.insert(call.tenant, COLLECTION, build, unique_keys(projects(), body))
    return Reply(201, render(record, entitlements=True))


def list_projects(call: Call) -> Reply:
    return Reply(200, [render(record) for record in call.store.scan(call.tenant, COLLECTION)])


def get_project(call: Call) -> Reply:
    return Reply(200, render(_existing(call), entitlements=call.query.get("includeEntitlements", False)))


def update_project(call: Call) -> Reply:
    mask, values = call.body["updateMask"], call.body["project"]
    unknown = [path for path in mask if path not in UPDATE_MASKS]
    if unknown:
        raise BadRequest(f"Invalid update mask: {', '.join(repr(p) for p in unknown)}",
                         remedy="Allowed masks: 'appName' and 'name'")
    missing = [path for path in dict.fromkeys(mask) if path not in values]
    if missing:
        raise ValidationFailed([Issue("body", ("project", path), "required",
                                      f"value not found for mask '{path}'") for path in missing])
    current = _existing(call)
    changes = normalized(projects(), {path: values[path] for path in mask})

    def change(old: Record, seq: int) -> Record:
        return dict(old, **changes, updated=call.now(seq))

    unique = unique_keys(projects(), {**current, **changes}) if "name" in changes else {}
    record = call.store.update(call.tenant, COLLECTION, current["id"], change, unique)
    if record is None:  # gone meanwhile
        raise EntityNotFound("project", call.path["projectIdOrName"])
    return Reply(200, render(record))


def _existing(call: Call) -> Record:
    """By id, else by name (case-insensitively; the oldest when several orgs share it)."""
    wanted = call.path["projectIdOrName"]
    record = call.store.get(call.tenant, COLLECTION, wanted)
    if record is None:
        name = normalized(projects(), {"name": wanted})["name"]
        record = next((r for r in call.store.scan(call.tenant, COLLECTION) if r["name"] == name), None)
    if record is None:
        raise EntityNotFound("project", wanted)
    return record


# --- state export/import ----------------------------------------------------------------------

def restore(project: dict, call: Call, seq: int) -> tuple[Record, Unique]:
    """An API-shaped project (validated) as a stored record. `entitlements` cannot be set through the
    API; an import is how a test gives a project its own (each member optional, the rest default)."""
    created = micros(project["createTime"]) if "createTime" in project else call.now(seq)
    entitlements = project.get("entitlements", {})
    record = {"id": project.get("id") or call.uuid4("project", seq), "seq": seq, "name": project["name"],
              "appName": project["appName"], "orgId": project["orgId"], "created": created,
              "updated": micros(project["updateTime"]) if "updateTime" in project else created,
              "brandingRemoval": entitlements.get("brandingRemoval", {}).get("value", entitlement_defaults()[0]),
              "logRetentionDays": entitlements.get("logRetentionDays", {}).get("value", entitlement_defaults()[1])}
    return record, unique_keys(projects(), record)


def sequence_of(projects: list[dict], call: Call, sequence: int) -> list[int | None]:
    """The sequence number each project was made with, found from its id (derived from it)."""
    return recognize([project.get("id") for project in projects], lambda seq: call.uuid4("project", seq), sequence)


# --- credentials and errors --------------------------------------------------------------------

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


VENDOR = Vendor(
    name="ampersand",
    spec_file="ampersand.yaml",
    handlers={
        "createProject": create_project,
        "listProjects": list_projects,
        "getProject": get_project,
        "updateProject": update_project,
    },
    render_error=render_error,
    state=StateFormat(COLLECTION, create="createProject", read="getProject",
                      export=lambda record, call: render(record, entitlements=True), restore=restore,
                      sequence_of=sequence_of),
)
