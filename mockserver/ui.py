"""The page at `GET /__mock/`: vendors, tenants and their projects, and the request journal, for a
person in a browser.

It reads only what the control API serves, through the control API's own handlers (`getHealth`,
`exportState`, `listRequests`), so there is no second way to the data. It renders server-side with
Flask's Jinja (autoescaped: a project name or body is text, never markup), caps what it renders,
and sends a Content-Security-Policy that lets no script run but its own.

The reset button calls `POST /__mock/reset` from the page's script. The page never carries a
credential: each tenant has a key (a digest of vendor and credential), and the script finds the
credential to reset by reading `GET /__mock/state` when the button is pressed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, render_template, request, url_for

from mockserver import admin
from mockserver.journal import mask, mask_within
from mockserver.records import dataclass

if TYPE_CHECKING:
    from mockserver.exchange import Mount
    from mockserver.runtime import Runtime
    from mockserver.vendors.base import StateFormat

STATUS_CLASSES = ("2XX", "3XX", "4XX", "5XX")
DEFAULT_LIMIT = 100  # journal entries rendered; the journal itself may hold many more
MAX_LIMIT = 1000
PROJECTS_SHOWN = 50  # per tenant
TEXT_CAP = 8_000  # characters of one body or header block


class BadFilter(ValueError):
    """A query parameter of the page the mock cannot use (answered 400, naming it)."""


@dataclass(frozen=True)
class Columns:
    """Which fields of a vendor's project are its name and its creation time (read from the spec)."""

    name: str | None
    created: str | None


def blueprint(runtime: Runtime) -> Blueprint:
    page = Blueprint("mockserver_ui", __name__, url_prefix=admin.PREFIX, template_folder="templates")
    columns = {name: project_columns(mount) for name, mount in runtime.mounts.items()}
    page.add_app_template_filter(pretty, "pretty")
    page.add_app_template_filter(query_string, "query_string")

    # OPTIONS is the page's own: Flask's automatic answer would be a 200 to any preflight.
    @page.route("/", methods=["GET", "OPTIONS"], provide_automatic_options=False)
    def show() -> Response:
        foreign = admin.foreign_origin()
        if foreign:
            return _html_error(403, foreign)
        if request.method == "OPTIONS":
            return Response(status=204, headers={"Allow": "GET, HEAD, OPTIONS"})
        refusal = _refused(runtime)
        if refusal is not None:
            return refusal
        try:
            filters = read_filters(runtime, request.args)
        except BadFilter as error:
            return _html_error(400, str(error))
        nonce = secrets.token_urlsafe(16)
        html = render_template("ui.html", nonce=nonce, filters=filters, choices=_choices(runtime),
                               health=_call(runtime, "getHealth", {}), tenants=tenants(runtime, columns),
                               journal=journal(runtime, filters))
        response = Response(html, mimetype="text/html")
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; connect-src 'self'; "
            "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"  # no link out carries the page's URL
        return response

    return page


# --- what the page shows ---------------------------------------------------------------------------

def read_filters(runtime: Runtime, args: Any) -> dict:
    vendor = args.get("vendor") or None
    if vendor is not None and vendor not in runtime.mounts:
        raise BadFilter(f"vendor {vendor!r} is not served here (served: {', '.join(runtime.mounts)})")
    status = (args.get("status") or "").upper() or None
    if status is not None and status not in STATUS_CLASSES:
        raise BadFilter(f"status must be one of {', '.join(STATUS_CLASSES)}, not {status!r}")
    raw_limit = args.get("limit") or str(DEFAULT_LIMIT)
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise BadFilter(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {raw_limit!r}")
    rejected = args.get("rejected", "").lower() in ("true", "1", "on")
    filters = {"vendor": vendor, "status": status, "operationId": args.get("operationId") or None,
               "rejected": rejected, "limit": int(raw_limit)}
    filters["any"] = any(filters[name] for name in ("vendor", "status", "operationId", "rejected"))
    return filters


def journal(runtime: Runtime, filters: dict) -> dict:
    """The newest `limit` matching entries, newest first, from the control API's `listRequests`."""
    query = {"vendor": filters["vendor"], "operationId": filters["operationId"], "limit": filters["limit"],
             "status": filters["status"], "rejected": True if filters["rejected"] else None}
    found = _call(runtime, "listRequests", query)
    shown = list(reversed(found["requests"]))
    next_limit = min(MAX_LIMIT, filters["limit"] * 5)
    more = url_for(".show", **{**request.args.to_dict(), "limit": next_limit}) if next_limit > filters["limit"] else ""
    return {"shown": shown, "total": found["total"], "capacity": found["capacity"],
            "last": shown[0]["id"] if shown else 0, "next_limit": next_limit, "more": more}


def tenants(runtime: Runtime, columns: dict[str, Columns]) -> list[dict]:
    """Every tenant from the control API's `exportState`, its credential masked, its newest projects."""
    shown = []
    for tenant in _call(runtime, "exportState", {})["tenants"]:
        vendor, credential = tenant["vendor"], tenant["credential"]
        hide = functools.partial(mask_within, secrets=(credential, runtime.settings.admin_token or ""))
        formats = runtime.mounts[vendor].vendor.formats
        collection = formats[0].collection
        projects = _objects(formats[0], tenant.get(collection, []))
        others = [(form.collection, len(_objects(form, tenant.get(form.collection, [])))) for form in formats[1:]]
        names = columns[vendor]
        shown.append({
            "vendor": vendor,
            "masked": mask(credential) if credential else "(no credential)",
            "key": tenant_key(vendor, credential),
            "count": len(projects),
            "label": ", ".join([_counted(collection, len(projects)),
                                *(_counted(name, count) for name, count in others if count)]),
            "projects": [{"id": hide(project.get("id")),
                          "name": hide(project.get(names.name)) if names.name else None,
                          "created": project.get(names.created) if names.created else None}
                         for project in projects[-PROJECTS_SHOWN:]],
        })
    return shown


def _objects(form: StateFormat, value: list) -> list:
    """A collection's objects in a tenant's state (a nested collection's, out of their groups)."""
    return [obj for group in value for obj in group["items"]] if form.scope else value


def _counted(collection: str, count: int) -> str:
    """`1 project`, `2 projects`, `0 pets`: the collection's name (a path segment) as a count's noun."""
    plural = collection if collection.endswith("s") else collection + "s"
    return f"{count} {plural[:-1] if count == 1 else plural}"


def tenant_key(vendor: str, credential: str) -> str:
    """What the page calls a tenant instead of its credential: the page's script computes the same
    digest over `GET /__mock/state` to find the credential to reset."""
    return hashlib.sha256(f"{vendor}\n{credential}".encode()).hexdigest()[:32]


def project_columns(mount: Mount) -> Columns:
    """The project's name field (`name`, else a required create field named `...name`) and its
    creation time (the first `date-time` field of the read operation's answer)."""
    if not mount.vendor.formats:
        return Columns(None, None)
    form = mount.vendor.formats[0]
    read = mount.spec.operations[form.read].response(200)
    properties = (read.validator.schema.get("properties", {}) if read and read.validator else {})
    created = next((name for name, schema in properties.items()
                    if isinstance(schema, dict) and schema.get("format") == "date-time"), None)
    create = (mount.spec.operations[form.create].body_schema if form.create else None) or {}
    required = [name for name in create.get("required", []) if name in properties]
    name = "name" if "name" in properties else next(
        (field for field in required if field.lower().endswith("name")), required[0] if required else None)
    return Columns(name, created)


def pretty(value: Any) -> str:
    """A body as indented JSON (text as is), cut at `TEXT_CAP` characters."""
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    if len(text) > TEXT_CAP:
        return f"{text[:TEXT_CAP]}\n… ({len(text) - TEXT_CAP} more characters; see /__mock/requests)"
    return text


def query_string(query: dict[str, list[str]]) -> str:
    """A journal entry's query as it was sent (values are lists)."""
    return urlencode(query, doseq=True)


def _choices(runtime: Runtime) -> dict:
    operations = sorted({op for mount in runtime.mounts.values() for op in mount.spec.operations})
    return {"vendors": list(runtime.mounts), "statuses": STATUS_CLASSES, "operations": operations}


# --- plumbing ---------------------------------------------------------------------------------------

def _call(runtime: Runtime, operation_id: str, query: dict) -> Any:
    """Run a control API handler in-process, as its endpoint would for this query."""
    call = admin.AdminCall(operation=None, spec=None, body=None, path={},
                           query={name: value for name, value in query.items() if value is not None})
    status, payload = admin.HANDLERS[operation_id](runtime, call)
    if status != 200:  # the page only asks what the control API always answers
        raise RuntimeError(f"{operation_id} answered {status}: {payload}")
    return payload


def _refused(runtime: Runtime) -> Response | None:
    """With `--admin-token`, the page wants it as the control API does (a header, or the page's
    cookie). A browser opening a link cannot send a header: `/__mock/?token=T` sets the cookie (a
    digest of the token, HttpOnly, SameSite=Strict) and redirects to the page without the token, so
    that it is in no HTML, history entry or Referer; the page's script then needs no token."""
    token = runtime.settings.admin_token
    if not token:
        return None
    offered = request.args.get("token")
    if offered is not None:
        if not hmac.compare_digest(offered.encode(), token.encode()):
            return _html_error(401, "this page needs the admin token: open /__mock/?token=<token>")
        kept = {name: value for name, value in request.args.items(multi=True) if name != "token"}
        response = redirect(url_for(".show", **kept), 303)
        response.set_cookie(admin.PAGE_COOKIE, admin.page_cookie(token), httponly=True, samesite="Strict",
                            path=admin.PREFIX)
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response
    if admin.token_sent(token):
        return None
    return _html_error(401, "this page needs the admin token: open /__mock/?token=<token>")


def _html_error(status: int, message: str) -> Response:
    html = render_template("ui_error.html", status=status, message=message)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
