"""The Flask app: the control API, the page, and every answer outside the spec routes (no route,
the mock's own refusals, errors), over a runtime `assembly.build_runtime` made. `create_app` builds
it at once; `mockserver serve` only when a request first needs it (`front.Front`)."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable

from flask import Flask, current_app, jsonify
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from mockserver import admin, jsontext, pipeline, ui
from mockserver.assembly import build_runtime
from mockserver.errors import Refusal
from mockserver.front import Front
from mockserver.pipeline import observe_http_error
from mockserver.runtime import Runtime
from mockserver.settings import Settings
from mockserver.spec import load_spec, specs_dir
from mockserver.vendors.base import Vendor

log = logging.getLogger("mockserver")


def create_app(settings: Settings | None = None, vendors: dict[str, Vendor] | None = None) -> Flask:
    """The runtime and its Flask app, with the front (`front.Front`) as its WSGI app."""
    # Building it allocates objects that live as long as the app and make no garbage: a collection
    # in between only walks them. Paused, then as it was.
    collecting = gc.isenabled()
    gc.disable()
    try:
        app = flask_app(build_runtime(settings or Settings(), vendors))
        own = app.wsgi_app
        front = Front(app.extensions["mockserver"], lambda: (app, own))
        app.wsgi_app = front
        app.extensions["mockserver.front"] = front
        return app
    finally:
        if collecting:
            gc.enable()


def flask_app(runtime: Runtime, hooks: tuple[Callable[[Flask], None], ...] = ()) -> Flask:
    """The Flask app over `runtime`: its own WSGI app is Flask's dispatch (the front goes around it)."""
    app = _Flask("mockserver")
    app.json = _JSONProvider(app)
    app.url_map.merge_slashes = False  # `/v1/projects//x` is a 404, never a redirect to another URL
    app.config["MAX_CONTENT_LENGTH"] = runtime.settings.max_body_bytes
    app.json.sort_keys = False
    app.extensions["mockserver"] = runtime
    for target in runtime.mounts.values():
        pipeline.mount(app, runtime, target)
    admin.mount(app, runtime, load_spec(specs_dir() / admin.SPEC_FILE, "admin"))
    app.register_blueprint(ui.blueprint(runtime))  # the page at /__mock/
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Refusal, _http_error)  # the mock's own refusals, answered as its routing errors
    app.register_error_handler(Exception, _unexpected_error)
    for hook in hooks:
        hook(app)
    return app


class _Rule(Rule):
    """werkzeug's rule, but its two URL builders (for `url_for`: Python source generated and compiled
    per rule, ~0.3 ms each, most of mounting a 600-operation document) are compiled on first use."""

    def _compile_builder(self, append_unknown: bool = True):
        compile_now = super()._compile_builder
        built = []

        def build(rule, *args, **kwargs):
            if not built:
                built.append(compile_now(append_unknown).__get__(rule, None))
            return built[0](*args, **kwargs)

        return build


class _Flask(Flask):
    # `_compile_builder` is werkzeug's private API (pyproject.toml bounds werkzeug's version); were it
    # gone, rules are werkzeug's own.
    url_rule_class = _Rule if callable(getattr(Rule, "_compile_builder", None)) else Rule


class _JSONProvider(DefaultJSONProvider):
    """The control API's JSON: numbers as the vendors print them (`7.0` is `7`), as theirs are."""

    def dumps(self, obj, **kwargs) -> str:
        return super().dumps(jsontext.js_numbers(obj), **kwargs)


def _http_error(error: HTTPException | Refusal):
    """Routing errors outside any vendor's operations. Under a vendor's base path a 404 is the
    vendor's own; elsewhere the mock's plain JSON, never HTML."""
    from flask import request

    runtime = current_app.extensions["mockserver"]
    if error.code == 404 and not getattr(error, "exchange", None):
        target = pipeline.mount_at(runtime, request.path)
        if target is not None:
            return pipeline.unrouted(runtime, request, target)
    message = f"no route for {request.method} {request.path}" if error.code == 404 else error.description
    body = {"error": error.name, "message": message, "status": error.code}
    response = jsonify(body)
    response.status = f"{error.code} {error.name}"
    if error.code == 405 and getattr(error, "valid_methods", None):  # RFC 9110: a 405 names what is allowed
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    observe_http_error(runtime, request, error, body)  # the journal sees unrouted requests
    if getattr(error, "exchange", None) is not None:  # refused on a vendor's path: readable cross-origin too
        pipeline.add_cors(runtime, response)
    return response


def _unexpected_error(error: Exception):
    """A bug: logged with its traceback, answered without one."""
    log.exception("unexpected error")
    response = jsonify({"error": "Internal Server Error", "message": "the mock failed; see its log",
                        "status": 500})
    response.status_code = 500
    return response
