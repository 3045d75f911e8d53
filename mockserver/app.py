"""`create_app(settings)`: load each vendor's spec, mount its operations, attach the runtime."""

from __future__ import annotations

import dataclasses
import gc
import logging

from flask import Flask, current_app, jsonify
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from mockserver import admin, guard, jsontext, pipeline, ui
from mockserver.determinism import Determinism
from mockserver.engine import build_vendor
from mockserver.errors import Refusal
from mockserver.exchange import Mount
from mockserver.faults import Faults
from mockserver.journal import Journal, secret_names
from mockserver.pipeline import observe_http_error
from mockserver.runtime import Runtime
from mockserver.settings import Settings
from mockserver.spec import SpecError, load_spec, specs_dir
from mockserver.state import load_fixtures
from mockserver.store import open_store
from mockserver.vendors import SEED, discover, load_profile, profile_of
from mockserver.vendors.base import Vendor

log = logging.getLogger("mockserver")


def create_app(settings: Settings | None = None, vendors: dict[str, Vendor] | None = None) -> Flask:
    # Loading the specs allocates objects that live as long as the app and make no garbage: a
    # collection in between only walks them (~13 ms of a first create_app). Paused, then as it was.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _create_app(settings or Settings(), vendors)
    finally:
        if collecting:
            gc.enable()


def _create_app(settings: Settings, vendors: dict[str, Vendor] | None) -> Flask:
    mounts = _mounts(settings, vendors if vendors is not None else discover(), bundled=vendors is None)
    allowed = _allowed_keys(settings, mounts)

    app = _Flask("mockserver")
    app.json = _JSONProvider(app)
    app.url_map.merge_slashes = False  # `/v1/projects//x` is a 404, never a redirect to another URL
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    journal = Journal(settings.journal_size, secret_names(m.spec for m in mounts.values()), settings.journal_bytes,
                      [settings.admin_token or ""])
    runtime = Runtime(settings, open_store(settings.db), Determinism(settings.seed, settings.clock), mounts,
                      allowed, journal=journal, faults=Faults(settings.max_delays))
    app.extensions["mockserver"] = runtime
    for target in mounts.values():
        pipeline.mount(app, runtime, target)
    runtime.observers.append(runtime.journal.record)
    runtime.interceptors.append(runtime.faults.intercept)
    app.wsgi_app = runtime.faults.wrap(app.wsgi_app)  # drops close the connection unanswered
    app.wsgi_app = guard.host_check(app.wsgi_app, settings)  # DNS rebinding: only this machine's names
    admin.mount(app, runtime, load_spec(specs_dir() / admin.SPEC_FILE, "admin"))
    app.register_blueprint(ui.blueprint(runtime))  # the page at /__mock/
    for path in settings.fixtures:
        load_fixtures(runtime, path)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Refusal, _http_error)  # the mock's own refusals, answered as its routing errors
    app.register_error_handler(Exception, _unexpected_error)
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


def _mounts(settings: Settings, vendors: dict[str, Vendor], bundled: bool = True) -> dict[str, Mount]:
    """Each vendor (all, or those the settings name) with its spec; every operation needs a handler.
    A bundled spec with no vendor module is a vendor too, served by the engine: a new vendor can be a
    YAML file and nothing else."""
    if bundled:
        modules = {vendor.spec_file for vendor in vendors.values()}
        vendors = dict(vendors)
        documents = [path for path in sorted(specs_dir().glob("*.yaml"))
                     if path.name not in modules and path.name != admin.SPEC_FILE]
        stems = set(vendors) | {path.stem for path in documents}
        for path in documents:  # `<vendor>-<profile>.yaml` is a version of a vendor, not one more API
            if path.stem not in vendors and profile_of(path.stem, stems) is None:
                spec = load_spec(path, path.stem)
                vendors[path.stem] = dataclasses.replace(build_vendor(spec), profile=SEED)
    for name, profile in settings.profiles:
        if name not in vendors:
            raise SpecError(f"--profile {name}={profile}: no vendor {name!r} (vendors: {', '.join(vendors)})")
        vendors[name] = load_profile(vendors[name], profile)
    if settings.vendors:
        unknown = set(settings.vendors) - set(vendors)
        if unknown:
            raise SpecError(f"unknown vendor(s): {', '.join(sorted(unknown))}; known: {', '.join(vendors)}")
        vendors = {name: vendors[name] for name in settings.vendors}
    mounts = {}
    for name, vendor in vendors.items():
        spec = load_spec(specs_dir() / vendor.spec_file, name)
        missing = set(spec.operations) - set(vendor.handlers)
        extra = set(vendor.handlers) - set(spec.operations)
        if missing or extra:
            raise SpecError(f"{name}: handlers and spec disagree: missing {sorted(missing)}, extra {sorted(extra)}")
        mounts[name] = Mount(vendor, spec)
    for name, path in settings.specs:  # documents mounted with no code
        if name in mounts:
            raise SpecError(f"--spec {name}={path}: an API named {name!r} is already mounted; name it NAME=PATH")
        spec = load_spec(path, name, strict=settings.strict_spec)
        if not spec.operations:  # a fault no lenient load repairs: there is nothing to serve
            raise SpecError(f"{path}: no operation under `paths`: nothing to serve")
        mounts[name] = Mount(build_vendor(spec), spec)
    for name, base in settings.bases:
        if name not in mounts:
            raise SpecError(f"--base {name}={base}: no API named {name!r} (mounted: {', '.join(mounts)})")
        target = mounts[name]
        mounts[name] = Mount(target.vendor, dataclasses.replace(target.spec, server_path=base.rstrip("/")))
    _check_overlaps(mounts)
    return mounts


def _check_overlaps(mounts: dict[str, Mount]) -> None:
    """Two APIs whose routes could match one URL would shadow each other: refuse, naming both."""
    routes = [(name, mount.spec.server_path + path, _shape(mount.spec.server_path + path))
              for name, mount in mounts.items() for path in mount.spec.paths]
    for at, (name, path, shape) in enumerate(routes):
        for other, other_path, other_shape in routes[at + 1:]:
            if other != name and len(shape) == len(other_shape) and all(
                    a == b or a is None or b is None for a, b in zip(shape, other_shape, strict=True)):
                raise SpecError(f"APIs {name!r} and {other!r} overlap: {path} and {other_path} match the same "
                                "URLs; move one with --base NAME=/path")


def _shape(path: str) -> tuple[str | None, ...]:
    """A route's segments, None for a template (it matches any segment)."""
    return tuple(None if part.startswith("{") else part for part in path.strip("/").split("/"))


def _allowed_keys(settings: Settings, mounts: dict[str, Mount]) -> dict[str, frozenset[str]]:
    """`--api-key VENDOR=KEY`: the only keys a vendor accepts, when any is given for it."""
    allowed: dict[str, set[str]] = {}
    for vendor_name, key in settings.api_keys:
        if vendor_name not in mounts:
            raise SpecError(f"--api-key names unknown API {vendor_name!r} (mounted: {', '.join(mounts)})")
        target = mounts[vendor_name]
        schemes = {name: scheme for op in target.spec.operations.values() for name, scheme in op.security}
        if schemes and not any(target.vendor.accept_credential(name, scheme, key) for name, scheme in schemes.items()):
            # Else every request would be a 401 with no hint why.
            raise SpecError(f"--api-key {vendor_name}=...: {vendor_name} refuses a key of that form in any "
                            "request; check it against the vendor's key format")
        allowed.setdefault(vendor_name, set()).add(key)
    return {name: frozenset(keys) for name, keys in allowed.items()}


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
