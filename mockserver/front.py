"""The WSGI app the HTTP server serves: a request a spec operation takes is handled here, with the
mock's own router (`routes.py`) and request (`leanrequest.py`), without Flask's request context,
dispatch and finalizing (about a third of a create's time, bench/results.md); the control API, the
page, every request no spec route takes, and the errors the pipeline raises go on to the Flask app
(its error handlers answer them, in a request context made then). What Flask would add on the lean
path (no hooks, signals or sessions are used) is nothing, so the answers are the same bytes.

The Flask app is built the first time a request needs it: `mockserver serve` answers its first
vendor requests without importing Flask or werkzeug (most of a start, bench/results.md).
Around it, outermost first: the host check (DNS rebinding) and the faults' connection-level effects.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mockserver import guard, pipeline
from mockserver.leanrequest import LeanRequest, path_of
from mockserver.routes import Router

if TYPE_CHECKING:
    from flask import Flask

    from mockserver.httpserver import HttpServer
    from mockserver.runtime import Runtime
    from mockserver.settings import Settings

# The Flask app, and its own WSGI app (Flask's dispatch, without this front).
FlaskBuild = Callable[[], tuple["Flask", Callable]]


class Front:
    def __init__(self, runtime: Runtime, build: FlaskBuild) -> None:
        self.runtime = runtime
        self.router = Router(runtime.mounts)
        self._build = build
        self._built: tuple[Flask, Callable] | None = None
        self._lock = threading.Lock()
        # (method, script name, path) -> (route, path parameters) of the spec routes matched lately: the
        # router's answer depends on nothing else. Bounded; a client's own ids fill it, then it stops growing.
        self._matched: dict[tuple[str, str, str], tuple[Any, dict]] = {}
        self.wsgi = guard.host_check(runtime.faults.wrap(self._dispatch), runtime.settings)

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        return self.wsgi(environ, start_response)

    def flask(self) -> tuple[Flask, Callable]:
        """The Flask app and its WSGI app, built on first use (once, whichever thread asks first)."""
        built = self._built
        if built is None:
            with self._lock:
                if self._built is None:
                    self._built = self._build()
                built = self._built
        return built

    def _dispatch(self, environ: dict, start_response: Callable) -> Any:
        key = (environ.get("REQUEST_METHOD", ""), environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""))
        known = self._matched.get(key)
        if known is None:
            if "HTTP_UPGRADE" in environ:  # werkzeug's map refuses a WebSocket upgrade to a plain rule
                return self.flask()[1](environ, start_response)
            known = self.router.match(path_of(environ))
            if known is None:  # no route, a redirect, a tie, the control API: Flask's URL map decides
                return self.flask()[1](environ, start_response)
            if len(self._matched) < 4096:
                self._matched[key] = known
        route, path_params = known[0], dict(known[1])
        request = LeanRequest(environ, self.runtime.settings.max_body_bytes)
        try:
            response = pipeline.handle(self.runtime, route[0], route[1], path_params, request, lean=True,
                                       shared=route[2])
        except Exception as error:  # as Flask's dispatch does, within the `except` (for log.exception)
            app = self.flask()[0]
            with app.request_context(environ):
                try:
                    answer = app.handle_user_exception(error)
                except Exception as unhandled:
                    answer = app.handle_exception(unhandled)
                response = app.finalize_request(answer)
        return response(environ, start_response)


def http_server(wsgi: Callable, runtime: Runtime, settings: Settings) -> HttpServer:
    """The app's HTTP server, bound but not yet serving (the CLI and `run()` share it)."""
    from mockserver.httpserver import HttpServer

    if settings.exposed:
        logging.getLogger("mockserver").warning(
            "listening on all interfaces: anyone who can reach this machine can use the mock")
    # A request a delay may hold runs on a worker thread: `threads` of them, plus `max_delays` (no
    # more delays at once: faults refuses the excess), so delays never take the threads the rest needs.
    # The body cap keeps the server from buffering a huge body before the pipeline's limit (which
    # answers in the vendor's shape) sees it; past the cap the server answers its own plain 413.
    return HttpServer(wsgi, host=settings.host, port=settings.port, workers=settings.threads + settings.max_delays,
                      may_wait=runtime.faults.may_hold,
                      max_body_bytes=max(16 * 1024 * 1024, 4 * settings.max_body_bytes))
