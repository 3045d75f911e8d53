"""`mockserver serve ...`: build Settings from flags and serve the app over HTTP."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mockserver import __version__
from mockserver.settings import CLOCKS, Settings, spec_option

if TYPE_CHECKING:
    from flask import Flask

    from mockserver.runtime import Runtime


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="mockserver", description=__doc__)
    root.add_argument("--version", action="version", version=f"mockserver {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the mock APIs over HTTP")
    defaults = Settings()
    serve.add_argument("--host", default=defaults.host, help="address to bind (default %(default)s)")
    serve.add_argument("--port", type=int, default=defaults.port, help="0 picks a free port (default %(default)s)")
    serve.add_argument("--seed", type=int, default=defaults.seed, help="seed of ids (default %(default)s)")
    serve.add_argument("--clock", choices=CLOCKS, default=defaults.clock,
                       help="fixed: a fixed epoch, one step per write; real: wall time (default %(default)s)")
    serve.add_argument("--threads", type=int, default=defaults.threads,
                       help="worker threads for requests a fault may hold (default %(default)s)")
    serve.add_argument("--max-delays", type=int, default=defaults.max_delays, metavar="N",
                       help="delayed requests (Prefer: delay=, delay rules) held at once, each on its own "
                            "thread beyond --threads; more are refused with a 503 (default %(default)s)")
    serve.add_argument("--db", type=Path, default=None, help="keep state in this SQLite file (default: memory)")
    serve.add_argument("--spec", action="append", default=[], metavar="[NAME=]PATH",
                       help="also mount this OpenAPI document (YAML or JSON, 3.0 or 3.1) as a stateful mock; "
                            "NAME defaults to the file's stem (repeatable)")
    serve.add_argument("--strict-spec", action="store_true",
                       help="refuse a --spec document with any schema the JSON Schema metaschema refuses "
                            "(default: repair it, one warning line per fault)")
    serve.add_argument("--base", action="append", default=[], metavar="NAME=/PATH",
                       help="serve API NAME under this base path instead of its spec's (repeatable)")
    serve.add_argument("--profile", action="append", default=[], metavar="VENDOR=PROFILE",
                       help="serve VENDOR as another version of its API: latest (today's), 2024 ...; "
                            "default: the seeds' era (repeatable)")
    serve.add_argument("--api-key", action="append", default=[], metavar="API=KEY",
                       help="accept only these keys for API (repeatable; for HTTP basic, KEY is user:password)")
    serve.add_argument("--fixtures", action="append", type=Path, default=[], metavar="PATH",
                       help="load these projects at start (YAML or JSON state document; repeatable)")
    serve.add_argument("--journal-size", type=int, default=defaults.journal_size, metavar="N",
                       help="requests kept in the journal at /__mock/requests (default %(default)s)")
    serve.add_argument("--journal-bytes", type=_size, default=defaults.journal_bytes, metavar="SIZE",
                       help="what the journal may take, bodies included: bytes, or with K, M, G "
                            "(KiB, MiB, GiB; default 64M)")
    serve.add_argument("--admin-token", default=os.environ.get("MOCKSERVER_ADMIN_TOKEN") or None, metavar="T",
                       help="require this token on /__mock/* except health (default: $MOCKSERVER_ADMIN_TOKEN)")
    serve.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                       help="also answer requests with this Host (repeatable; .example.test allows every name "
                            "under it); bound to loopback, the mock answers only localhost, 127.0.0.1 and [::1]")
    serve.add_argument("--no-cors", dest="cors", action="store_false",
                       help="no CORS: browser pages on other origins cannot read the vendors' answers")
    serve.add_argument("-q", "--quiet", action="store_true",
                       help="print the ready line only (text or JSON, as --log-format says): no banner, "
                            "no line per request")
    serve.add_argument("--log-format", choices=("text", "json"), default="text",
                       help="text: a line per request for a person (colour on a terminal, unless NO_COLOR is "
                            "set); json: one JSON object per line, the ready line too (default %(default)s)")
    return root


def _pairs(flag: str, items: list[str], what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"{flag} must be {what}, not {item!r}")
        pairs.append((name, value))
    return pairs


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(host=args.host, port=args.port, seed=args.seed, clock=args.clock, threads=args.threads,
                    max_delays=args.max_delays, db=args.db,
                    api_keys=tuple(_pairs("--api-key", args.api_key, "API=KEY")),
                    fixtures=tuple(args.fixtures), journal_size=args.journal_size, journal_bytes=args.journal_bytes,
                    admin_token=args.admin_token, specs=tuple(spec_option(item) for item in args.spec),
                    bases=tuple(_pairs("--base", args.base, "NAME=/PATH")), allow_hosts=tuple(args.allow_host),
                    cors=args.cors, profiles=tuple(_pairs("--profile", args.profile, "VENDOR=PROFILE")),
                    strict_spec=args.strict_spec)


def _size(text: str) -> int:
    """`65536`, `64K`, `64M`, `1G` (powers of 1024)."""
    number, unit = text.strip().upper().removesuffix("IB").removesuffix("B"), 1
    if number[-1:] in ("K", "M", "G"):
        number, unit = number[:-1], 1024 ** (" KMG".index(number[-1]))
    if not number.isascii() or not number.isdigit() or len(number) > 15:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (bytes, or a number with K, M or G)")
    return int(number) * unit


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from(args)
        return serve(settings, quiet=args.quiet, log_format=args.log_format)
    except Exception as error:  # a start-up error is one clear line, not a traceback
        from mockserver.spec import SpecError
        from mockserver.store import StoreError

        if isinstance(error, (ValueError, SpecError, StoreError, OSError)):
            print(f"mockserver: error: {error}", file=sys.stderr)
            return 2
        raise


def serve(settings: Settings, quiet: bool = False, log_format: str = "text") -> int:
    # Start-up (importing the modules, loading the specs) makes next to no garbage: no collector
    # passes over it (~4% of a start's instructions); collecting resumes before serving.
    collecting = gc.isenabled()
    gc.disable()
    try:
        from mockserver import accesslog
        from mockserver.assembly import build_runtime
        from mockserver.front import Front, http_server

        runtime = build_runtime(settings)
        # What start-up built (specs, validators, routes) lives as long as the server: out of the garbage
        # collector's full passes, which would walk it every few thousand requests (bench/results.md).
        gc.freeze()
        # Each create leaves survivors (the record, the journal's entry): with the default thresholds a
        # gen-1 pass (~2.5 ms, stalling every request in flight) comes every ~1,000 requests, often
        # enough to set the p99. Four times rarer halves the GC's total time (bench/results.md).
        gc.set_threshold(700, 40)
    finally:
        if collecting:
            gc.enable()
    log, colour = None, False
    if not quiet:  # quiet: no request is ever queued, the server runs as without a log
        out = sys.stdout.fileno()
        colour = log_format == "text" and accesslog.wants_colour(out)
        log = accesslog.AccessLog(accesslog.fd_writer(out), runtime.mounts, log_format, colour,
                                  secret_values=[settings.admin_token or ""])
        runtime.observers.append(log.observe)
    hooks = (log.attach_control,) if log is not None else ()
    front = Front(runtime, lambda: _flask(runtime, hooks))  # Flask: when a request first needs it
    server = http_server(front, runtime, settings)
    host, port = server.socket.getsockname()[:2]
    root = f"http://{_url_host(host)}:{port}"
    shown = accesslog.banner(root, runtime.mounts, log_format, colour)

    def stop(signum, frame):  # the loop stops accepting, finishes the answers in flight, then returns
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:  # the ready line comes after the handlers, so a signal right after it still stops cleanly
        print("\n".join(shown if log is not None else shown[:1]), flush=True)  # quiet: the ready line only
        if log is not None:
            log.start()
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if log is not None:
            log.close()  # the last requests' lines
        runtime.store.close()
    return 0


def _flask(runtime: Runtime, hooks: tuple[Callable[[Flask], None], ...]) -> tuple[Flask, Callable]:
    """The Flask app over the server's runtime, and its own WSGI app (the front goes around it)."""
    from mockserver.app import flask_app

    app = flask_app(runtime, hooks)
    return app, app.wsgi_app


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
