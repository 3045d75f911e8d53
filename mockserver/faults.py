"""Fault injection: rules set through the control API, and `Prefer` headers on one request.

Both act in the pipeline's interceptor step (after authentication and validation, before the
handler): wait, answer an error status the operation documents (rendered by the vendor, from
`InjectedFault`), or drop the connection without any response. Dropping needs the WSGI server's
help, so `drop_connections` wraps the app: over HTTP the connection is closed unanswered.

Vocabulary (Prism's, so users can migrate): `Prefer: code=503`; our additions `Prefer: delay=250`
and `Prefer: fault=drop`. Several preferences go in one header, comma-separated.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mockserver.connection import CLIENT_GONE, INLINE, DropConnection
from mockserver.errors import InjectedFault, Refusal
from mockserver.records import dataclass
from mockserver.spec import Operation
from mockserver.vendors.base import Reply

if TYPE_CHECKING:
    from mockserver.exchange import Exchange, Mount

MAX_DELAY_MS = 600_000
_DIGITS = re.compile(r"[0-9]{1,9}")  # ASCII digits only (`²` is a digit to str.isdigit), never huge
POLL_S = 0.02  # how often a delay looks whether its client gave up
DROP = "mockserver.drop"  # WSGI environ key: close this connection without a response


class FaultError(ValueError):
    """A rule the mock refuses: it names the problem (a 400 from the control API)."""


class PreferenceRefused(Refusal):
    """A `Prefer` header the mock cannot honour: a plain 400 of the mock's own."""

    def __init__(self, message: str, exchange: Exchange) -> None:
        super().__init__(400, message, exchange)


class DelaysExhausted(Refusal):
    """More delays at once than `--max-delays`: the request is refused at once, by the mock itself,
    rather than held. A held delay keeps a worker thread; the server has `--max-delays` threads
    beyond `--threads` for them, so health, reset, the control API and other tenants are always
    served, however many delayed requests arrive."""

    def __init__(self, limit: int, exchange: Exchange) -> None:
        super().__init__(503, f"the mock already holds {limit} delayed requests, its limit (--max-delays {limit}): "
                         "this one is refused rather than delayed, so that every other request stays served; "
                         "delay fewer requests at once, or start the mock with a larger --max-delays", exchange)


class ConnectionDropped(DropConnection, ConnectionError):
    """The server closes the connection unanswered; where there is none (Flask's test client), the
    caller gets this exception."""


@dataclass
class Rule:
    id: int
    vendor: str | None
    operation_id: str | None
    credential: str | None
    status: int | None
    delay_ms: int
    drop: bool
    times: int | None  # None: permanent
    remaining: int | None
    hits: int = 0

    def matches(self, exchange: Exchange) -> bool:
        return ((self.vendor is None or self.vendor == exchange.vendor)
                and (self.operation_id is None or self.operation_id == exchange.operation_id)
                and (self.credential is None
                     or (exchange.tenant is not None and exchange.tenant.credential == self.credential)))

    @property
    def decides(self) -> bool:
        """Whether it chooses the answer (a status or a drop), not only adds a delay."""
        return self.status is not None or self.drop

    def to_json(self) -> dict:
        return {"id": self.id, "vendor": self.vendor, "operationId": self.operation_id,
                "credential": self.credential, "status": self.status, "delayMs": self.delay_ms,
                "drop": self.drop, "times": self.times, "remaining": self.remaining, "hits": self.hits}


@dataclass
class Outcome:
    sources: list[str]
    status: int | None = None
    delay_ms: int = 0
    drop: bool = False

    @property
    def decided(self) -> bool:
        return self.status is not None or self.drop


class Faults:
    """The fault rules of one server, oldest first. Thread-safe."""

    def __init__(self, max_delays: int = 16) -> None:
        self.max_delays = max_delays  # delays held at once; the server adds as many worker threads
        self._slots = threading.BoundedSemaphore(max_delays) if max_delays else None
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._next_id = 1
        self._wake = threading.Event()
        self._settled = threading.Condition()
        self._held: dict[int, Callable[[], bool] | None] = {}  # delayed requests: id(environ) -> client gone?

    # --- rules -----------------------------------------------------------------------------------

    def add(self, wanted: dict, mounts: dict[str, Mount]) -> dict:
        """Add a rule (shaped like admin.yaml's FaultRequest); `FaultError` names what is wrong."""
        vendor, operation_id = wanted.get("vendor"), wanted.get("operationId")
        status, delay_ms, drop = wanted.get("status"), wanted.get("delayMs", 0), wanted.get("drop", False)
        if status is None and not drop and not delay_ms:
            raise FaultError("the rule does nothing: give status, delayMs or drop")
        if status is not None and drop:
            raise FaultError("a rule answers a status or drops the connection, not both")
        operations = _candidates(mounts, vendor, operation_id)
        if status is not None:
            for operation in operations:
                if not operation.documents_error(status):
                    raise FaultError(f"status {status} is not an error {_name(operation)} documents "
                                     f"(it documents {_statuses(operation)})")
        with self._lock:
            rule = Rule(self._next_id, vendor, operation_id, wanted.get("credential"), status, delay_ms, drop,
                        wanted.get("times"), wanted.get("times"))
            self._next_id += 1
            self._rules.append(rule)
            return rule.to_json()

    def rules(self) -> list[dict]:
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    def delete(self, rule_id: int) -> bool:
        with self._lock:
            kept = [rule for rule in self._rules if rule.id != rule_id]
            found, self._rules = len(kept) != len(self._rules), kept
            return found

    def clear(self, vendor: str | None = None, credential: str | None = None) -> int:
        """Remove every rule, or those scoped to one vendor (or one tenant); cut pending delays short."""
        with self._lock:
            kept = [rule for rule in self._rules
                    if vendor is not None and (rule.vendor != vendor
                                               or (credential is not None and rule.credential != credential))]
            removed, self._rules = len(self._rules) - len(kept), kept
            self.wake()
            return removed

    def wake(self) -> None:
        """End every delay in progress now (on reset and on shutdown)."""
        woken, self._wake = self._wake, threading.Event()
        woken.set()

    # --- the interceptor -------------------------------------------------------------------------

    def intercept(self, exchange: Exchange, operation: Operation, mount: Mount) -> Reply | None:
        """Apply `Prefer` and the matching rules to one validated request."""
        current = exchange.request
        if not self._rules and "Prefer" not in current.headers:
            return None  # the common case, without the lock (reading the list reference is atomic)
        outcome = preferred(current.headers.getlist("Prefer"), operation, exchange)
        with self._lock:
            for rule in self._rules:
                if not rule.matches(exchange) or (rule.decides and outcome.decided):
                    continue
                if rule.decides:
                    outcome.status, outcome.drop = rule.status, rule.drop
                outcome.delay_ms += rule.delay_ms
                outcome.sources.append(f"rule {rule.id}")
                rule.hits += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
            self._rules = [rule for rule in self._rules if rule.remaining != 0]
            wake = self._wake
        if not outcome.sources:
            return None
        if outcome.delay_ms and current.environ.get(INLINE):
            # a rule added while this request was already being answered on the server's loop, which
            # must not wait: the delay applies from the next request on
            exchange.warnings.append(f"the {outcome.delay_ms} ms delay was not applied: its rule came while "
                                     "this request was being answered")
            outcome.delay_ms = 0
        if exchange.fault is None:
            exchange.fault = {"source": ", ".join(outcome.sources), "status": outcome.status,
                              "delayMs": outcome.delay_ms, "drop": outcome.drop}
        if outcome.delay_ms:
            if self._slots is None or not self._slots.acquire(blocking=False):
                raise DelaysExhausted(self.max_delays, exchange)
            try:
                ended, waited_ms = self._hold(outcome.delay_ms, wake, current.environ)
            finally:
                self._slots.release()
            if ended == "reset":  # the test that asked for it is over: no answer, no journal entry
                exchange.abandoned = True
                current.environ[DROP] = True
                raise InjectedFault(_placeholder(operation))
            if ended == "client gone":
                exchange.warnings.append(f"the client gave up after {waited_ms} ms of the {outcome.delay_ms} ms "
                                         "delay and got no answer")
        if outcome.drop:
            current.environ[DROP] = True
            raise InjectedFault(_placeholder(operation))  # rendered, then discarded by drop_connections
        if outcome.status is not None:
            raise InjectedFault(outcome.status)
        return None

    def may_hold(self, environ: dict) -> bool:
        """Whether a request may be held by a delay (so the server runs it on a worker thread): any
        rule exists, or it carries `Prefer`. Conservative and cheap; the common case is neither."""
        return bool(self._rules) or "HTTP_PREFER" in environ

    def _hold(self, delay_ms: int, wake: threading.Event, environ: dict) -> tuple[str, int]:
        """Wait `delay_ms`, less if a reset wakes us or (over HTTP) the client disconnects."""
        gone = environ.get(CLIENT_GONE)
        with self._settled:
            self._held[id(environ)] = gone
            self._settled.notify_all()
        start = time.monotonic()
        deadline = start + delay_ms / 1000
        while (left := deadline - time.monotonic()) > 0:
            if wake.wait(min(left, POLL_S) if gone else left):
                return "reset", int((time.monotonic() - start) * 1000)
            if client_gone(gone):
                return "client gone", int((time.monotonic() - start) * 1000)
        return "done", delay_ms

    def _release(self, environ: dict) -> None:
        with self._settled:
            if self._held.pop(id(environ), False) is not False:
                self._settled.notify_all()

    def wait_holding(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least `count` requests are held by a delay (for tests: no sleep-polling)."""
        with self._settled:
            return self._settled.wait_for(lambda: len(self._held) >= count, timeout)

    def holding(self) -> int:
        """How many requests a delay is holding now."""
        with self._settled:
            return len(self._held)

    def settle(self, timeout: float = 2.0) -> bool:
        """Wait until every delayed request whose client gave up has been answered (and journaled),
        so that a test reading the journal right after a client timeout sees it."""
        deadline = time.monotonic() + timeout
        with self._settled:
            while any(client_gone(gone) for gone in self._held.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._settled.wait(min(left, POLL_S))
        return True

    def wrap(self, wsgi_app: Callable) -> Callable:
        """The WSGI app with faults' connection-level effects: drops, and the end of held requests."""
        dropping = drop_connections(wsgi_app)

        def app(environ: dict, start_response: Callable) -> Any:
            try:
                return dropping(environ, start_response)
            finally:
                self._release(environ)

        return app


def client_gone(check: Callable[[], bool] | None) -> bool:
    """Whether the client of a held request closed its connection (the server's loop keeps reading
    while a request is held, so it sees the end of file)."""
    return check is not None and check()


def preferred(headers: Iterable[str], operation: Operation, exchange: Exchange) -> Outcome:
    """What the request's `Prefer` headers ask for (RFC 7240; unknown preferences are ignored).
    One the mock cannot honour raises `PreferenceRefused`."""
    outcome = Outcome([])
    for header in headers:
        for item in header.split(","):
            name, _, value = item.split(";", 1)[0].strip().partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name == "code":
                if not _DIGITS.fullmatch(value) or not operation.documents_error(int(value)):
                    raise PreferenceRefused(f"Prefer: code={_shown(value)}: {_name(operation)} documents no such error "
                                            f"status (it documents {_statuses(operation)})", exchange)
                outcome.status = int(value)
            elif name == "delay":
                if not _DIGITS.fullmatch(value) or int(value) > MAX_DELAY_MS:
                    raise PreferenceRefused(f"Prefer: delay={_shown(value)}: give milliseconds, 0 to {MAX_DELAY_MS}",
                                            exchange)
                outcome.delay_ms += int(value)
            elif name == "fault":
                if value != "drop":
                    raise PreferenceRefused(f"Prefer: fault={_shown(value)}: the only fault is drop", exchange)
                outcome.drop = True
            else:
                continue
            if "Prefer" not in outcome.sources:
                outcome.sources.append("Prefer")
    if outcome.status is not None and outcome.drop:
        raise PreferenceRefused("Prefer: code= and fault=drop exclude each other", exchange)
    return outcome


def drop_connections(wsgi_app: Callable) -> Callable:
    """Wrap a WSGI app so that a request marked `DROP` gets no response at all: `ConnectionDropped`
    tells the HTTP server to close the connection before a byte is written (and reaches the caller
    of Flask's test client)."""

    def app(environ: dict, start_response: Callable) -> Any:
        def start(status: str, headers: list, exc_info: Any = None) -> Callable:
            if environ.get(DROP):
                return lambda data: None
            return start_response(status, headers, exc_info)

        body = wsgi_app(environ, start)
        if not environ.get(DROP):
            return body
        if hasattr(body, "close"):
            body.close()
        raise ConnectionDropped(f"mockserver dropped the connection of {environ.get('PATH_INFO')}")

    return app


def _candidates(mounts: dict[str, Mount], vendor: str | None, operation_id: str | None) -> list[Operation]:
    if vendor is not None and vendor not in mounts:
        raise FaultError(f"vendor {vendor!r} is not served here (served: {', '.join(mounts)})")
    names = [vendor] if vendor is not None else list(mounts)
    operations = [operation for name in names for operation in mounts[name].spec.operations.values()
                  if operation_id is None or operation.operation_id == operation_id]
    if not operations:
        known = sorted({op for name in names for op in mounts[name].spec.operations})
        where = vendor or "any vendor"
        raise FaultError(f"no operation {operation_id!r} in {where} (operations: {', '.join(known)})")
    return operations


def _placeholder(operation: Operation) -> int:
    """A documented error status for the response a drop throws away (so it passes the spec check)."""
    statuses = operation.error_statuses()
    return 503 if 503 in statuses or not statuses else statuses[-1]


def _shown(value: str) -> str:
    return value if len(value) <= 24 else value[:20] + "…"


def _name(operation: Operation) -> str:
    return f"{operation.vendor} {operation.operation_id}"


def _statuses(operation: Operation) -> str:
    ranges = [code for code in operation.responses if code == "default" or code.endswith("XX")]
    return ", ".join([*map(str, operation.error_statuses()), *ranges]) or "none"
