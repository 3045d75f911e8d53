"""Activepieces: platform projects (the v0.14-v0.17 shape of the "Create Project" page).

The engine serves the projects from activepieces.yaml (create, get, update, delete; `externalId`
unique, the new project's plan and usage as `default`s, keys of the form `sk-...`; each key is one
platform, so the tenant is the platform). What no spec can say is here: a project is stored as what
cannot be derived (names, settings, times) and rendered with the ids derived from its sequence
number; Era A's cursor format; a blank `externalId` on update; and Era A's error shapes.
"""

from __future__ import annotations

import base64
import binascii
import functools
from http import HTTPStatus

from mockserver.determinism import iso_millis
from mockserver.engine import build_vendor
from mockserver.errors import (
    BadRequest,
    Conflict,
    EntityNotFound,
    InjectedFault,
    Issue,
    MalformedBody,
    MethodNotAllowed,
    MockError,
    PayloadTooLarge,
    RouteNotFound,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from mockserver.inference import collection_named, defaults
from mockserver.spec import load_spec, specs_dir
from mockserver.store import Record
from mockserver.vendors.base import Call, Codec, Cursors, ErrorContext, Handler, Overrides, Reply, micros, recognize

PROFILE = "2024"  # the default profile: Era A, v0.14-v0.17 (Dec 2023 - Mar 2024), the seed's era
COLLECTION = "projects"
DAY_US = 86_400_000_000
SPEC = load_spec(specs_dir() / "activepieces.yaml", "activepieces")


# --- the record and the API object -------------------------------------------------------------

@functools.cache
def new_project() -> tuple[dict, dict, dict]:
    """What a new project holds, as the spec's `default`s say: the project's own (notifyStatus, type),
    its plan's (the platform plan of the seed era) and its usage's (nothing consumed, one member)."""
    schema = collection_named(SPEC, COLLECTION).schema
    return defaults(schema), defaults(schema, "plan"), defaults(schema, "usage")


def record(call: Call, project: dict, key: str, seq: int) -> Record:
    """What cannot be derived of a project (a create's body, or an imported project): owner, platform,
    plan and usage ids and the usage are derived; what is absent is what a new project has."""
    created = micros(project["created"]) if "created" in project else call.now(seq)
    project_defaults, plan_defaults, _ = new_project()
    plan = project.get("plan", plan_defaults)
    return {"id": key, "seq": seq, "displayName": project["displayName"], "externalId": project.get("externalId"),
            "notifyStatus": project.get("notifyStatus", project_defaults["notifyStatus"]),
            "tasks": plan.get("tasks", plan_defaults["tasks"]),
            "teamMembers": plan.get("teamMembers", plan_defaults["teamMembers"]),
            "created": created, "updated": micros(project["updated"]) if "updated" in project else created,
            "planUpdated": micros(plan["updated"]) if "updated" in plan else created}


def change(call: Call, old: Record, body: dict, seq: int) -> Record:
    """An update: `updated` moves, and `plan.updated` when the plan changes."""
    now = call.now(seq)
    new = dict(old, updated=now)
    for name in ("displayName", "notifyStatus", "externalId"):
        if name in body:
            new[name] = body[name]
    plan = body.get("plan")
    if plan:
        new.update({name: plan[name] for name in ("tasks", "teamMembers") if name in plan})
        new["planUpdated"] = now
    return new


def show(call: Call, record: Record, kind: str) -> dict:
    """The project as every operation answers it (and as state export writes it)."""
    project_defaults, plan, usage = new_project()
    seq, project_id = record["seq"], record["id"]
    created = iso_millis(record["created"])
    project = {
        "id": project_id,
        "created": created,
        "updated": iso_millis(record["updated"]),
        "ownerId": call.base62_id("owner", 0),
        "displayName": record["displayName"],
        "notifyStatus": record["notifyStatus"],
        "type": project_defaults["type"],
        "platformId": call.base62_id("platform", 0),
    }
    if record.get("externalId") is not None:
        project["externalId"] = record["externalId"]
    project["plan"] = {
        "id": call.base62_id("plan", seq),
        "created": created,
        "updated": iso_millis(record["planUpdated"]),
        "projectId": project_id,
        "stripeSubscriptionId": plan["stripeSubscriptionId"],
        "subscriptionStartDatetime": created,
        "flowPlanName": plan["flowPlanName"],
        "minimumPollingInterval": plan["minimumPollingInterval"],
        "connections": plan["connections"],
        "teamMembers": record["teamMembers"],
        "tasks": record["tasks"],
        "tasksPerDay": plan["tasksPerDay"],
    }
    project["usage"] = {
        "id": call.base62_id("usage", seq),
        "created": created,
        "updated": created,
        "projectId": project_id,
        "consumedTasks": usage["consumedTasks"],
        "connections": usage["connections"],
        "teamMembers": usage["teamMembers"],
        "consumedTasksToday": usage["consumedTasksToday"],
        "nextResetDatetime": iso_millis(record["created"] + 30 * DAY_US),
    }
    return project


def sequence_of(projects: list[dict], call: Call, sequence: int) -> list[int | None]:
    """The sequence number each project was made with, found from its plan id (derived from it)."""
    plan_ids = [project.get("plan", {}).get("id") for project in projects]
    return recognize(plan_ids, lambda seq: call.base62_id("plan", seq), sequence)


# --- what the engine cannot do -----------------------------------------------------------------

def update_project(call: Call, engine: Handler) -> Reply:
    """The real server treats a blank `externalId` as "not provided"."""
    external_id = call.body.get("externalId")
    if external_id is not None and not external_id.strip():
        call.body = {name: value for name, value in call.body.items() if name != "externalId"}
    return engine(call)


# Era A's cursors: `next_<seq>` or `prev_<seq>`, base64; one it never gave is a 400.

def encode_cursor(direction: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{direction}_{seq}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        direction, _, seq = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii").partition("_")
        if direction in ("next", "prev") and seq.isdigit():
            return direction, int(seq)
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise ValidationFailed([Issue("query", ("cursor",), "cursor",
                                  "must be a cursor returned by an earlier page", cursor)])


# --- errors ------------------------------------------------------------------------------------

def ajv_message(issue: Issue) -> str:
    """Fastify/ajv wording: `body/displayName must be string`."""
    prefix = {"body": "body", "query": "querystring", "path": "params", "header": "headers"}[issue.location]
    parts = issue.path[:-1] if issue.keyword == "required" else issue.path
    where = "/".join([prefix, *(str(part) for part in parts)])
    expected = issue.expected
    match issue.keyword:
        case "required":
            text = f"must have required property '{issue.path[-1] if issue.path else expected}'"
        case "type":
            text = f"must be {expected if isinstance(expected, str) else ','.join(map(str, expected))}"
        case "enum":
            text = "must be equal to one of the allowed values"
        case "pattern" | "format":
            text = f'must match {issue.keyword} "{expected}"'
        case "minLength" | "maxLength" | "minItems" | "maxItems":
            more = "more" if issue.keyword.startswith("max") else "fewer"
            unit = "characters" if issue.keyword.endswith("Length") else "items"
            text = f"must NOT have {more} than {expected} {unit}"
        case "minimum":
            text = f"must be >= {expected}"
        case "maximum":
            text = f"must be <= {expected}"
        case "additionalProperties":
            text = "must NOT have additional properties"
        case _:
            text = issue.message.split(": ", 1)[-1]
    return f"{where} {text}"


def fastify_error(status: int, message: str, code: str | None = None) -> dict:
    body: dict = {"statusCode": status}
    if code:
        body["code"] = code
    body["error"] = HTTPStatus(status).phrase
    body["message"] = message
    return body


# Era A's `onRequest` hook answers any request no route matches with this text (app.ts, v0.14),
# before authentication; Fastify sends a string as text/plain.
DEAD_END = """
                Oops! It looks like we hit a dead end.
                The endpoint you're searching for is nowhere to be found.
                We suggest turning around and trying another path. Good luck!
            """


def render_error(error: MockError, context: ErrorContext) -> Reply:
    match error:
        case RouteNotFound():
            return Reply(404, DEAD_END, {"Content-Type": "text/plain; charset=utf-8"})
        case Unauthorized():
            return Reply(401, {"code": "INVALID_BEARER_TOKEN", "params": {"message": "invalid access token"}})
        case ValidationFailed():
            return Reply(400, fastify_error(400, ajv_message(error.issues[0]), "FST_ERR_VALIDATION"))
        case MalformedBody(empty=True):
            return Reply(400, fastify_error(
                400, "Body cannot be empty when content-type is set to 'application/json'",
                "FST_ERR_CTP_EMPTY_JSON_BODY"))
        case MalformedBody():
            return Reply(400, fastify_error(400, error.message, "FST_ERR_CTP_INVALID_JSON_BODY"))
        case BadRequest():
            return Reply(400, fastify_error(400, error.message, "FST_ERR_VALIDATION"))
        case EntityNotFound():
            return Reply(404, {"code": "ENTITY_NOT_FOUND",
                               "params": {"entityType": error.entity_type, "entityId": error.entity_id}})
        case Conflict():
            return Reply(409, {"code": "PROJECT_EXTERNAL_ID_ALREADY_EXISTS", "params": {"externalId": error.value}})
        case MethodNotAllowed():
            return Reply(405, fastify_error(405, error.message), {"Allow": ", ".join(error.allowed)})
        case UnsupportedMediaType():
            return Reply(415, fastify_error(415, f"Unsupported Media Type: {error.content_type or '(none)'}",
                                            "FST_ERR_CTP_INVALID_MEDIA_TYPE"))
        case PayloadTooLarge():
            return Reply(413, fastify_error(413, "Request body is too large", "FST_ERR_CTP_BODY_TOO_LARGE"))
        case InjectedFault(status=401 | 404 | 409):
            return render_error({401: Unauthorized(), 404: EntityNotFound("project", "injected"),
                                409: Conflict("externalId", "injected")}[error.status], context)
        case _:
            return Reply(error.status, fastify_error(error.status, error.message or HTTPStatus(error.status).phrase))


VENDOR = build_vendor(SPEC, Overrides(
    codecs={COLLECTION: Codec("project", record, show, change, sequence_of)},
    handlers={"updateProject": update_project},
    cursors={COLLECTION: Cursors(encode_cursor, decode_cursor)},
    render_error=render_error,
    undocumented_errors=False,
))
