"""What `mockserver serve` prints: the start-up banner, then one line per request (text for a
person, or one JSON object per line for CI logs).

Off the hot path: the observer only appends a tuple of what the line needs (never the bodies, and
texts cut, so a blocked output holds little) to a bounded deque; a background thread formats what
came and writes it in batches every `INTERVAL_S`. A terminal that cannot keep up blocks only that
thread: once `capacity` lines wait, new ones are dropped and counted, and a line says how many.
Secrets are masked as the journal masks them; control characters a client sent (an escape sequence
in a path) are shown escaped, never sent to the terminal.
"""

from __future__ import annotations

import json
import os
import re
import select
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mockserver.exchange import Exchange, Mount
from mockserver.journal import MIN_SUBSTRING_SECRET, mask_within, secret_names
from mockserver.settings import CONTROL_PREFIX

if TYPE_CHECKING:
    from flask import Flask

FORMATS = ("text", "json")
CAPACITY = 10_000  # lines waiting to be written before new ones are dropped
INTERVAL_S = 0.05  # how often the writer wakes: late enough to batch, soon enough for a person
CHUNK = 64  # lines formatted between two writes (each write lets the event loop's thread run)
TEXT_CAP = 300  # characters of a path or a reason shown in a text line
KEEP = 50  # issues and warnings kept for a line (the JSON lists them; the counts stay whole)
KEEP_CHARS = 2000  # characters of one reason or warning kept
PAGE = CONTROL_PREFIX + "/"

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL, C1: a terminal may act on them
_RESET, _DIM, _BOLD = "\x1b[0m", "\x1b[2m", "\x1b[1m"
_STATUS_COLOURS = {2: "\x1b[32m", 3: "\x1b[36m", 4: "\x1b[33m", 5: "\x1b[31m"}
_REASON_COLOUR = "\x1b[31m"


def wants_colour(fd: int, environ: dict | None = None) -> bool:
    """Colour on a terminal only, and not when NO_COLOR (https://no-color.org) is set or TERM is dumb."""
    environ = os.environ if environ is None else environ
    try:
        tty = os.isatty(fd)
    except OSError:
        return False
    return tty and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def profile_of(mount: Mount) -> str | None:
    """The version profile an API is served as (`--profile`), None for a document with none: the one
    place the banner and the JSON start line read it from."""
    return mount.vendor.profile


def _spec_version(mount: Mount) -> str | None:
    info = mount.spec.document.get("info")
    version = info.get("version") if isinstance(info, dict) else None
    return str(version) if version is not None else None


def banner(root: str, mounts: dict[str, Mount], fmt: str = "text", colour: bool = False) -> list[str]:
    """The start-up lines. The first one is the ready line scripts wait for: in text
    `mockserver listening on http://HOST:PORT`, in JSON an object with `"event": "listening"` and `url`."""
    apis = [{"name": name, "url": root + mount.spec.server_path, "profile": profile_of(mount),
             "specVersion": _spec_version(mount), "operations": len(mount.spec.operations)}
            for name, mount in mounts.items()]
    if fmt == "json":
        return [json.dumps({"event": "listening", "url": root, "apis": apis, "page": root + PAGE})]
    width = max([len(api["name"]) for api in apis] + [len("page")])
    url_width = max([len(api["url"]) for api in apis] + [len(root + PAGE)])
    bold, reset = (_BOLD, _RESET) if colour else ("", "")
    lines = [f"mockserver listening on {root}"]
    for api in apis:
        served = f"profile {api['profile']}" if api["profile"] else \
            f"spec {api['specVersion']}" if api["specVersion"] else "spec"
        count = api["operations"]
        lines.append(f"  {bold}{api['name']:<{width}}{reset}  {api['url']:<{url_width}}  "
                     f"({served}, {count} operation{'s' * (count != 1)})")
    lines.append(f"  {bold}{'page':<{width}}{reset}  {root + PAGE:<{url_width}}  (state, journal, faults)")
    return lines


class AccessLog:
    """`observe` is the pipeline's observer (`runtime.observers`); `start()` starts the writer,
    `close()` writes what is left (waiting at most `timeout` for a blocked output) and stops it."""

    def __init__(self, write: Callable[[bytes], Any], mounts: dict[str, Mount], fmt: str = "text",
                 colour: bool = False, capacity: int = CAPACITY, interval: float = INTERVAL_S,
                 secret_values: Iterable[str] = ()) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        self._write = write
        self._json = fmt == "json"
        self.colour = colour
        self._interval = interval
        # As the pipeline's header dicts spell them (werkzeug's and ours title-case the names).
        self._secret_headers = tuple(name.title() for name in secret_names(mount.spec for mount in mounts.values())[0])
        self._secret_values = frozenset(value for value in secret_values if value)
        self._width = max([len(name) for name in mounts] + [len("mock")])
        self._queue: deque[tuple] = deque()
        self._capacity = capacity
        self.dropped = 0  # lines dropped, all told (approximate under contention: a count, not a ledger)
        self._reported = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mockserver-log", daemon=True)
        self._clock: tuple[int, str] = (-1, "")
        self._utc_clock: tuple[int, str] = (-1, "")
        queue, names = self._queue, self._secret_headers

        def observe(exchange: Exchange) -> None:
            """What a line needs: small values, the credentials to mask, issues without their values."""
            if exchange.abandoned:
                return
            if len(queue) >= self._capacity:
                self.dropped += 1
                return
            fault, issues, warnings, tenant = exchange.fault, exchange.issues, exchange.warnings, exchange.tenant
            queue.append((time.time(), exchange.started, exchange.vendor, exchange.method, exchange.path,
                          exchange.operation_id, exchange.status, exchange.error and exchange.error[:KEEP_CHARS],
                          [(issue.location, issue.dotted, issue.message[:KEEP_CHARS]) for issue in issues[:KEEP]]
                          if issues else (), len(issues),
                          warnings[:KEEP] if warnings else (), len(warnings), bool(fault and fault.get("drop")),
                          (*map(exchange.headers.get, names), tenant and tenant.credential), False))

        self.observe = observe

    def attach(self, app: Flask) -> None:
        """Observe the app's vendor requests, and the control API's requests that change something."""
        app.extensions["mockserver"].observers.append(self.observe)
        self.attach_control(app)

    def attach_control(self, app: Flask) -> None:
        """Log the control API's requests that change something (the Flask app serves them)."""
        app.before_request(_stamp)
        app.after_request(self._control)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 1.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # --- the control API -------------------------------------------------------------------------

    def _control(self, response):
        """Requests to /__mock/* that change state (reset, faults, state import, clearing the journal)
        are logged, marked; reads (health, the journal, the page and its polling, specs) are not."""
        from flask import request

        path = request.path
        if request.method not in ("GET", "HEAD", "OPTIONS") and (path == CONTROL_PREFIX or path.startswith(PAGE)):
            if len(self._queue) < self._capacity:
                self._queue.append((time.time(), request.environ.get(_STARTED, time.time()), "", request.method, path,
                                    None, response.status_code, None, (), 0, (), 0, False, (), True))
            else:
                self.dropped += 1
        return response

    # --- the writer ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            if not self._flush():
                return
        self._flush()

    def _flush(self) -> bool:
        """Write every waiting line, a chunk at a time; False once the output is gone (a closed pipe)."""
        queue = self._queue
        try:
            while queue:
                lines = []
                for _ in range(min(CHUNK, len(queue))):
                    item = queue.popleft()
                    try:
                        lines.append(self._line(item))
                    except Exception as error:  # a bug here must not end the log, nor hide the request
                        lines.append(f"mockserver: the line of {item[3]} {_safe(str(item[4]))} could not be "
                                     f"printed: {type(error).__name__}\n")
                self._write("".join(lines).encode("utf-8", "replace"))
            dropped = self.dropped
            if dropped != self._reported:
                self._write(self._dropped_line(dropped - self._reported).encode())
                self._reported = dropped
        except (OSError, ValueError):  # the terminal or pipe is gone: stop logging, keep serving
            self._capacity = 0
            queue.clear()
            return False
        return True

    def _dropped_line(self, count: int) -> str:
        if self._json:
            return json.dumps({"event": "dropped", "count": count}) + "\n"
        return f"mockserver: {count} request line{'s' * (count != 1)} dropped: the output did not keep up\n"

    def _line(self, item: tuple) -> str:
        ended, started, vendor, method, path, operation_id, status, error, issues, issue_count, warnings, \
            warning_count, dropped, carried, control = item
        hide = self._secrets(carried)
        if dropped:
            status = None
        issues = [_described(*issue) for issue in issues]
        if issues:
            field, reason = issues[0]
        else:
            field, reason = None, error
        ms = int(max(0.0, ended - started) * 10_000 + 0.5) / 10  # milliseconds to 0.1 (cheaper than round())
        path = _masked(path, hide)
        reason = _masked(reason, hide) if reason else reason
        warnings = [_masked(warning[:KEEP_CHARS], hide) for warning in warnings]
        if self._json:
            return json.dumps({
                "event": "request", "time": self._utc(started), "api": vendor or None, "method": method, "path": path,
                "operationId": operation_id, "status": status, "ms": ms, "field": field, "reason": reason,
                "issues": [{"field": f, "reason": _masked(r, hide)} for f, r in issues],
                "warnings": warnings, "dropped": dropped, "control": control}) + "\n"
        api = "mock" if control else vendor or "-"
        shown = "drop" if dropped else str(status)
        text = f"{self._time(started)} {api:<{self._width}} {method:<6} {_safe(path)} {operation_id or '-'} "
        tail = ""
        if reason:
            more = f" (+{issue_count - 1} more)" if issue_count > 1 else ""
            tail = f"  {_safe(field + ': ' if field else '')}{_safe(reason)}{more}"
        elif warnings:
            more = f" (+{warning_count - 1} more)" if warning_count > 1 else ""
            tail = f"  warning: {_safe(warnings[0])}{more}"
        if not self.colour:
            return f"{text}{shown} {ms}ms{tail}\n"
        if control:
            return f"{_DIM}{text}{shown} {ms}ms{tail}{_RESET}\n"
        colour = _STATUS_COLOURS.get(status // 100, "") if status else _STATUS_COLOURS[5]
        tail = f"{_REASON_COLOUR if reason else _DIM}{tail}{_RESET}" if tail else ""
        return f"{_DIM}{text[:12]}{_RESET}{text[12:]}{colour}{shown}{_RESET} {_DIM}{ms}ms{_RESET}{tail}\n"

    def _secrets(self, carried: tuple) -> list[str]:
        """The credentials the request carried (secret headers' values, the tenant's), and the admin
        token: never printed."""
        found = [*self._secret_values]
        for value in carried:
            if value:
                found.append(value)
                _, space, token = value.partition(" ")  # `Bearer <token>`: the token alone too
                if space:
                    found.append(token.strip())
        return found

    def _time(self, started: float) -> str:
        """Local wall time `HH:MM:SS.mmm` (the seconds' text kept, as most lines share it)."""
        second = int(started)
        if self._clock[0] != second:
            self._clock = (second, time.strftime("%H:%M:%S", time.localtime(second)))
        return f"{self._clock[1]}.{int((started - second) * 1000):03d}"

    def _utc(self, started: float) -> str:
        """`2026-01-02T03:04:05.678Z` (the seconds' text kept, as most lines share it)."""
        second = int(started)
        if self._utc_clock[0] != second:
            self._utc_clock = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{self._utc_clock[1]}.{int((started - second) * 1000):03d}Z"


_STARTED = "mockserver.accesslog.started"


def _stamp() -> None:
    from flask import request

    request.environ[_STARTED] = time.time()


def _described(location: str, name: str, message: str) -> tuple[str, str]:
    """An issue's (field, reason): `name`, `plan.tasks`, or with its place when not the body
    (`query.limit`); the message without the field name it starts with (the line names the field)."""
    if location != "body":
        field = f"{location}.{name}" if name else location
    else:
        field = name or "body"
    prefix = f"{name}: "
    return field, message[len(prefix):] if name and message.startswith(prefix) else message


def _masked(text: str, secrets: list[str]) -> str:
    """The text with each secret in it masked as the journal masks it (most texts hold none; a short
    secret only where it is the whole text)."""
    for secret in secrets:
        if secret and secret in text and (len(secret) >= MIN_SUBSTRING_SECRET or secret == text):
            return mask_within(text, secrets)
    return text


def _safe(text: str) -> str:
    """Shown as is, but control characters escaped (`\\x1b`), and cut at `TEXT_CAP`."""
    if len(text) > TEXT_CAP:
        text = text[:TEXT_CAP] + "…"
    if text.isprintable():  # the usual case, checked in C
        return text
    return _UNSAFE.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


def fd_writer(fd: int) -> Callable[[bytes], None]:
    """Writes all of `data` to the file descriptor (straight to it, not through `sys.stdout`'s buffer:
    a thread blocked here on a full pipe holds no lock the interpreter needs at exit). An output a
    parent process left non-blocking is waited for, as a blocking one would be."""

    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                select.select([], [fd], [], 1.0)

    return write
