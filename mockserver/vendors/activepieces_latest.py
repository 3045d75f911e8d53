"""Activepieces today (profile `latest`, openapi/activepieces-latest.yaml).

The engine serves the projects as for the default profile; what no spec can say is here: the
project as today's service stores and prints it (a team project with an icon, its plan and
analytics, null where unset), the list's order (type, name, id) and its composite cursor, and
today's errors: Zod's messages in Fastify's validation error, a 403 `AUTHORIZATION` without a key
and a 401 `AUTHENTICATION` for a refused one. The rest of the errors are the default profile's.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from typing import Any

from mockserver.determinism import iso_millis
from mockserver.engine import build_vendor
from mockserver.errors import MISSING, InjectedFault, Issue, MockError, Unauthorized, ValidationFailed
from mockserver.inference import collection_named, defaults, properties_of
from mockserver.spec import load_spec, specs_dir
from mockserver.store import Record
from mockserver.vendors import activepieces as era_a
from mockserver.vendors.base import Call, Codec, ErrorContext, Handler, Overrides, Reply, micros, recognize

COLLECTION = "projects"
SPEC = load_spec(specs_dir() / "activepieces-latest.yaml", "activepieces")
DEFAULT_PAGE = 50


# --- the record and the API object -------------------------------------------------------------

@functools.cache
def new_project() -> tuple[dict, dict, dict, tuple[str, ...]]:
    """What a new project holds, as the spec's `default`s say (its own, its plan's, its analytics'),
    and the icon colours one is given."""
    schema = collection_named(SPEC, COLLECTION).schema
    colors = tuple(properties_of(properties_of(schema)["icon"])["color"]["enum"])
    return defaults(schema), defaults(schema, "plan"), defaults(schema, "analytics"), colors


def _color(call: Call, seq: int) -> str:
    """The service picks a colour at random; here one derived from the seed and the sequence."""
    colors = new_project()[3]
    return colors[int(call.uuid4("icon", seq).replace("-", ""), 16) % len(colors)]


def record(call: Call, project: dict, key: str, seq: int) -> Record:
    """What cannot be derived of a project (a create's body, or an imported project)."""
    created = micros(project["created"]) if "created" in project else call.now(seq)
    project_defaults, plan_defaults, _, _ = new_project()
    plan = project.get("plan", {})
    external_id = project.get("externalId")
    return {"id": key, "seq": seq, "displayName": project["displayName"],
            "externalId": external_id if external_id is not None and external_id.strip() else None,
            "type": project.get("type", project_defaults["type"]),
            "color": project.get("icon", {}).get("color") or _color(call, seq),
            "releasesEnabled": project.get("releasesEnabled", project_defaults["releasesEnabled"]),
            "metadata": project.get("metadata"), "maxConcurrentJobs": project.get("maxConcurrentJobs"),
            "locked": plan.get("locked", plan_defaults["locked"]),
            "piecesFilterType": plan.get("piecesFilterType", plan_defaults["piecesFilterType"]),
            "pieces": list(plan.get("pieces", plan_defaults["pieces"])),
            "created": created, "updated": micros(project["updated"]) if "updated" in project else created,
            "planUpdated": micros(plan["updated"]) if "updated" in plan else created}


def change(call: Call, old: Record, body: dict, seq: int) -> Record:
    """An update: `updated` moves, and `plan.updated` when the plan changes; a blank `externalId`
    is not given."""
    now = call.now(seq)
    new = dict(old, updated=now)
    for name in ("displayName", "releasesEnabled", "metadata", "maxConcurrentJobs"):
        if name in body:
            new[name] = body[name]
    external_id = body.get("externalId")
    if external_id is not None and external_id.strip():
        new["externalId"] = external_id
    if "icon" in body:
        new["color"] = body["icon"]["color"]
    plan = body.get("plan")
    if plan:
        new.update({name: plan[name] for name in ("pieces", "piecesFilterType") if name in plan})
        new["planUpdated"] = now
    return new


def show(call: Call, record: Record, kind: str) -> dict:
    """The project as every operation answers it (and as state export writes it)."""
    analytics = new_project()[2]
    seq, project_id = record["seq"], record["id"]
    created = iso_millis(record["created"])
    return {
        "id": project_id,
        "created": created,
        "updated": iso_millis(record["updated"]),
        "ownerId": call.base62_id("owner", 0),
        "displayName": record["displayName"],
        "platformId": call.base62_id("platform", 0),
        "type": record["type"],
        "icon": {"color": record["color"]},
        "releasesEnabled": record["releasesEnabled"],
        "externalId": record["externalId"],
        "metadata": record["metadata"],
        "maxConcurrentJobs": record["maxConcurrentJobs"],
        "poolId": None,
        "plan": {
            "id": call.base62_id("plan", seq),
            "created": created,
            "updated": iso_millis(record["planUpdated"]),
            "projectId": project_id,
            "locked": record["locked"],
            "name": new_project()[1]["name"],
            "piecesFilterType": record["piecesFilterType"],
            "pieces": list(record["pieces"]),
        },
        "analytics": dict(analytics),
    }


def sequence_of(projects: list[dict], call: Call, sequence: int) -> list[int | None]:
    """The sequence number each project was made with, found from its plan id (derived from it)."""
    plan_ids = [project.get("plan", {}).get("id") for project in projects]
    return recognize(plan_ids, lambda seq: call.base62_id("plan", seq), sequence)


# --- the list: order (type, name, id) and composite cursors -------------------------------------

def _order(project: dict) -> tuple[str, str, str]:
    return project["type"], project["displayName"], project["id"]


def encode_cursor(direction: str, project: dict) -> str:
    """`base64("next_" + base64(JSON {type, displayName, id}))`, as the service's paginator writes it."""
    kind, name, key = _order(project)
    inner = base64.b64encode(json.dumps({"type": kind, "displayName": name, "id": key},
                                        separators=(",", ":")).encode()).decode()
    return base64.b64encode(f"{direction}_{inner}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, tuple[str, str, str]] | None:
    """Where a cursor points; None for one the service never gave (it then starts from the first page)."""
    try:
        direction, _, inner = base64.b64decode(cursor, validate=True).decode().partition("_")
        point = json.loads(base64.b64decode(inner, validate=True).decode())
        if direction in ("next", "prev") and all(isinstance(point.get(name), str)
                                                 for name in ("type", "displayName", "id")):
            return direction, (point["type"], point["displayName"], point["id"])
    except (binascii.Error, UnicodeError, ValueError, AttributeError):
        pass
    return None


def list_projects(call: Call, engine: Handler) -> Reply:
    """The engine filters (`externalId`, `displayName` contained in any case, `types`: the YAML
    says how); the page is cut here, in the service's order, at a composite cursor."""
    query = call.query
    if query.get("externalUserId") is not None:  # the mock has no embedded users
        return Reply(200, {"data": [], "next": None, "previous": None})
    limit, cursor = query.pop("limit", DEFAULT_PAGE), query.pop("cursor", None)
    reply = engine(call)  # without a limit: every project the filters keep
    projects = sorted(reply.body["data"], key=_order)
    if limit < 0:  # the paginator's NO_LIMIT
        return Reply(200, {"data": projects, "next": None, "previous": None})
    position = decode_cursor(cursor) if cursor else None
    keys = [_order(project) for project in projects]
    if position is not None and position[0] == "prev":
        end = sum(1 for key in keys if key < position[1])
        start = max(end - limit, 0)
    else:
        start = sum(1 for key in keys if key <= position[1]) if position is not None else 0
        end = min(start + limit, len(projects))
    page = projects[start:end]
    return Reply(200, {
        "data": page,
        "next": encode_cursor("next", page[-1]) if page and end < len(projects) else None,
        "previous": encode_cursor("prev", page[0]) if page and start > 0 else None,
    })


# --- errors ------------------------------------------------------------------------------------

_JS_TYPES = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object",
             type(None): "null"}
_WHERE = {"body": "body", "query": "querystring", "path": "params", "header": "headers"}


def _received(value: Any) -> str:
    return "undefined" if value is MISSING else _JS_TYPES.get(type(value), "unknown")


def _expected_type(expected: Any) -> str:
    kinds = [kind for kind in ([expected] if isinstance(expected, str) else list(expected or ())) if kind != "null"]
    kind = kinds[0] if kinds else "unknown"
    return {"integer": "int"}.get(kind, kind)


def _property_type(context: ErrorContext, issue: Issue) -> Any:
    """The type a missing property should have had, from the operation's schema."""
    schema = context.operation.body_schema if context.operation is not None else None
    for part in issue.path:
        schema = properties_of(schema).get(str(part), {}) if isinstance(schema, dict) else {}
    return schema.get("type", "unknown") if isinstance(schema, dict) else "unknown"


def zod_message(issue: Issue, context: ErrorContext) -> str:
    """Fastify's line for one Zod issue: `body/displayName Invalid input: expected string, received number`."""
    where = "/".join([_WHERE.get(issue.location, issue.location), *(str(part) for part in issue.path)])
    expected = issue.expected
    match issue.keyword:
        case "required":
            text = f"Invalid input: expected {_expected_type(_property_type(context, issue))}, received undefined"
        case "type":
            received = _received(issue.value)
            if isinstance(issue.value, float) and _expected_type(expected) == "int":
                received = "number"
            text = f"Invalid input: expected {_expected_type(expected)}, received {received}"
        case "pattern":
            text = f"Invalid string: must match pattern /{expected}/"
        case "format" if expected == "email":
            text = "Invalid email address"
        case "format":
            text = f"Invalid {expected}"
        case "enum":
            text = "Invalid option: expected one of " + "|".join(json.dumps(option) for option in expected)
        case "minimum" | "exclusiveMinimum":
            bound = ">" if issue.keyword.startswith("exclusive") else ">="
            text = f"Too small: expected number to be {bound}{expected}"
        case "maximum" | "exclusiveMaximum":
            bound = "<" if issue.keyword.startswith("exclusive") else "<="
            text = f"Too big: expected number to be {bound}{expected}"
        case "minLength":
            text = f"Too small: expected string to have >={expected} characters"
        case "maxLength":
            text = f"Too big: expected string to have <={expected} characters"
        case _:
            text = issue.message.split(": ", 1)[-1]
    return f"{where} {text}"


def _in_shape_order(issues: list[Issue], context: ErrorContext) -> list[Issue]:
    """Zod reports an object's issues in the order its shape declares the properties."""
    schema = context.operation.body_schema if context.operation is not None else None
    order = {name: at for at, name in enumerate(properties_of(schema))} if isinstance(schema, dict) else {}
    return sorted(issues, key=lambda issue: order.get(issue.path[0], len(order)) if issue.path else -1)


def render_error(error: MockError, context: ErrorContext) -> Reply:
    match error:
        case Unauthorized(presented=True) | InjectedFault(status=401):
            return Reply(401, {"code": "AUTHENTICATION", "params": {"message": "invalid api key"}})
        case Unauthorized() | InjectedFault(status=403):
            return Reply(403, {"code": "AUTHORIZATION", "params": {}})
        case ValidationFailed():
            message = ", ".join(zod_message(issue, context) for issue in _in_shape_order(error.issues, context))
            return Reply(400, era_a.fastify_error(400, message, "FST_ERR_VALIDATION"))
        case _:
            return era_a.render_error(error, context)


VENDOR = build_vendor(SPEC, Overrides(
    codecs={COLLECTION: Codec("project", record, show, change, sequence_of)},
    handlers={"listProjects": list_projects},
    render_error=render_error,
    undocumented_errors=False,
))
