"""The HTTP server: one event loop on one thread reads, parses and answers every connection, and
runs the WSGI app inline. A mock's request is CPU work of ~100 µs that never waits, so handing it
to a worker thread (as waitress does for every request) only adds hand-offs and GIL queueing
(bench/results.md, "Issue 14"). A request that may wait (a fault's delay) runs on a worker thread;
`may_wait(environ)` says which, conservatively.

Parsing is llhttp's (Node's parser, through httptools, as uvicorn uses it), strict. What is ours is
how much it is fed at a time, so that no client holds the loop: every feed ends where a message may
end (the end of a head, of a Content-Length body, or a `\\r\\n\\r\\n` in a chunked body), so one
request completes per feed; at most `_SLICE` bytes and `_TURN_REQUESTS` requests (or `_TURN_S`)
per connection and turn of the loop, then the loop serves the others. A request's head (request
line, header lines and the empty line ending them) may be `MAX_HEAD` bytes, counted exactly; more
is a 431. A client that half-closes still gets its answers; one whose connection is lost is gone.
Past `MAX_CONNECTIONS` a connection is closed at once; while a connection's unsent answers are over
the transport's high-water mark it is neither answered nor read. `stop()` lets answers in flight
finish for `DRAIN_S`.

The answer's head is written as waitress wrote it (header names capitalised and sorted, `Server`
and `Date` added), so the bytes a client sees are the same as before.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import errno
import functools
import io
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

import httptools

from mockserver.connection import CLIENT_GONE, INLINE, RAW_BODY, DropConnection

log = logging.getLogger("mockserver.http")

IDENT = "mockserver"
IDLE_S = 120.0  # a connection idle this long (no request in progress) is closed, as waitress does
MAX_HEAD = 262_144  # bytes in a request's head, its final empty line included (waitress' limit)
MAX_CONNECTIONS = 1000  # beyond it a new connection is closed at once
DRAIN_S = 5.0  # on stop, how long answers in flight may take before their connections are cut
_SLICE = 65_536  # bytes fed to the parser per connection and turn of the loop
_TURN_REQUESTS = 16  # requests answered per connection and turn of the loop, at most
_TURN_S = 0.005  # nor more time than this (and one request) when requests are costly
_READ_AHEAD = 262_144  # unparsed bytes buffered before reading pauses
_PARTIAL_HEAD = 16_384  # an unfinished head is fed in pieces of at least this (httptools joins them)
_PROBE_S = 0.02  # after a half interim answer, when the rest is written (see `_probe`)
_QUIET_S = 60.0  # one log line per this about refused connections or a full descriptor table
_NO_BODY = frozenset((204, 304))
_END = b"\r\n\r\n"
# Names that frame a message or steer its connection: never made from a name written with `_`.
_FRAMING = frozenset((b"content-length", b"transfer-encoding", b"connection", b"te", b"upgrade", b"expect",
                      b"host", b"trailer", b"keep-alive"))
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")
_STATUS = re.compile(r"[1-9][0-9][0-9](?: [\t\x20-\x7e\x80-\xff]*)?")
_REASONS = {400: "Bad Request", 413: "Request Entity Too Large", 431: "Request Header Fields Too Large",
            500: "Internal Server Error"}


class HttpServer:
    """Bound at construction (so the port is known), serving from `serve_forever()` until `stop()`."""

    def __init__(self, app: Callable, *, host: str, port: int, workers: int, may_wait: Callable[[dict], bool],
                 max_body_bytes: int, idle_s: float = IDLE_S, max_connections: int = MAX_CONNECTIONS,
                 drain_s: float = DRAIN_S) -> None:
        self.app = app
        self.idle_s = idle_s
        self.may_wait = may_wait
        self.max_body = max_body_bytes
        self.max_connections = max_connections
        self.drain_s = drain_s
        self.socket = _listen(host, port, 1024)
        self.workers = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="mockserver-held")
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(self._loop_error)
        self.connections: set[_Connection] = set()
        self.held: set[concurrent.futures.Future] = set()  # requests running on worker threads
        self._quiet: dict[str, float] = {}
        bound = self.socket.getsockname()
        self._base = {"SERVER_NAME": str(bound[0]), "SERVER_PORT": str(bound[1]), "SERVER_SOFTWARE": IDENT,
                      "SCRIPT_NAME": "", "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
                      "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
                      "wsgi.input_terminated": True}
        self._stopped = threading.Event()
        self._served = False
        self.thread: int | None = None  # the one serving
        self._done = threading.Event()
        # Nothing runs the loop before `serve_forever`, on its own thread: a caller inside a running
        # event loop of its own (an async test) can construct the server too.
        self._closing: asyncio.Future = self.loop.create_future()

    def serve_forever(self) -> None:
        """Serve on this thread until `stop()` (or a KeyboardInterrupt from a signal handler)."""
        loop = self.loop
        self._served = True
        self.thread = threading.get_ident()
        asyncio.set_event_loop(loop)
        serving = loop.create_task(self._serve())
        try:
            loop.run_until_complete(serving)
        except BaseException:
            serving.cancel()
            try:
                loop.run_until_complete(serving)
            except BaseException:  # noqa: S110 (cancelled, as asked)
                pass
            raise
        finally:
            self.workers.shutdown(wait=False, cancel_futures=True)
            loop.close()
            self._done.set()

    async def _serve(self) -> None:
        listener = await self.loop.create_server(lambda: _Connection(self), sock=self.socket)
        sweeper = self.loop.call_later(self._sweep_s, self._sweep)
        try:
            if not self._stopped.is_set():
                await self._closing
            listener.close()  # no new connection; the answers in flight are written, then each closes
            for connection in list(self.connections):
                connection.drain()
            deadline = self.loop.time() + self.drain_s
            while (self.connections or self.held) and self.loop.time() < deadline:
                await asyncio.sleep(0.01)
        finally:
            sweeper.cancel()
            listener.close()
            for connection in list(self.connections):
                connection.transport.abort()
            await asyncio.sleep(0)  # let the aborted transports report their loss

    def stop(self) -> None:
        """Stop serving (from any thread, or a signal handler); `serve_forever` returns once the
        answers in flight are written (at most `drain_s`) and every connection is closed."""
        self._stopped.set()
        if not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._end)
            except RuntimeError:  # closed in between
                pass

    def _end(self) -> None:
        if not self._closing.done():
            self._closing.set_result(None)

    def close(self, timeout: float = 10.0) -> None:
        """Stop, wait for `serve_forever` to end (where it runs), and release the socket and the loop."""
        self.stop()
        if self._served:
            self._done.wait(timeout)
        elif not self.loop.is_closed():
            self.loop.close()
        self.socket.close()

    @property
    def stopping(self) -> bool:
        return self._stopped.is_set()

    @property
    def _sweep_s(self) -> float:
        return min(10.0, self.idle_s / 2)

    def _sweep(self) -> None:
        cutoff = self.loop.time() - self.idle_s
        for connection in list(self.connections):
            if connection.last < cutoff and not connection.busy:
                connection.transport.close()
        self.loop.call_later(self._sweep_s, self._sweep)

    def say_once(self, topic: str, message: str, *args: Any) -> None:
        """Log a warning about `topic` at most once per `_QUIET_S`: a flood would only fill the log."""
        now = time.monotonic()
        if now >= self._quiet.get(topic, 0.0):
            self._quiet[topic] = now + _QUIET_S
            log.warning(message + " (said at most once a minute)", *args)

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        error = context.get("exception")
        if isinstance(error, OSError) and error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
            # asyncio stops accepting for a second and tries again; say so once, not at every try
            self.say_once("accept", "cannot accept connections: %s", error.strerror)
            return
        loop.default_exception_handler(context)


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = sorted(found, key=lambda item: item[0] != socket.AF_INET)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _Refused(Exception):  # noqa: N818 (an answer, not a failure)
    """The request is answered with this status by the server itself, and the connection closed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class _Request:
    """One request as llhttp reads it: target, header fields in order, body pieces (joined once)."""

    __slots__ = ("target", "headers", "body", "size", "method", "version", "keep_alive", "expect", "done")

    def __init__(self) -> None:
        self.target: list[bytes] = []
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.method = "GET"
        self.version = "1.1"
        self.keep_alive = True
        self.expect = False
        self.done = False  # the head is read


@functools.lru_cache(maxsize=512)
def _environ_key(name: bytes) -> str:
    key = name.decode("latin-1").upper().replace("-", "_")
    return key if key in ("CONTENT_LENGTH", "CONTENT_TYPE") else "HTTP_" + key


@functools.lru_cache(maxsize=512)
def _capitalised(name: str) -> str:
    """Header names as waitress writes them (`content-type` -> `Content-Type`)."""
    return "-".join(part.capitalize() for part in name.split("-"))


_date = [0, ""]


def _http_date() -> str:
    now = int(time.time())
    if _date[0] != now:
        _date[:] = [now, email.utils.formatdate(now, usegmt=True)]
    return _date[1]


class _Connection(asyncio.Protocol):
    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.buffer = bytearray()
        self.parser = httptools.HttpRequestParser(self)
        # Another version than 1.0 and 1.1 is read (and answered as 1.0, then closed: as waitress did)
        self.parser.set_dangerous_leniencies(lenient_version=True)
        self.request: _Request | None = None  # the one being read
        self.head_fed = 0  # bytes of its head fed so far
        self.remaining: int | None = None  # bytes of its Content-Length body still to feed
        self.chunked = False  # its body is chunked
        self.scan = 0  # where to look for the next `\r\n\r\n` in the buffer
        self.refusal: _Refused | None = None  # what a callback found: the server's own answer
        self.held: _Request | None = None  # the request running on a worker
        self.busy = False  # a request runs on a worker thread: later ones wait behind it
        self.scheduled = False  # `_process` runs again on the loop's next turn
        self.paused = False  # the transport's write buffer is full: no more answers until it drains
        self.reading = True
        self.eof = False  # the client sends nothing more (it may still read: a half-close)
        self.gone = False  # the connection is lost: nothing more can be written
        self.closing = False
        self.probe: asyncio.TimerHandle | None = None
        self.probed = False
        self.settled = threading.Event()  # cleared while a probe is on its way (see `_probe`)
        self.settled.set()
        self.last = 0.0
        self.peer: tuple = ("", 0)

    # --- asyncio callbacks -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        server = self.server
        if len(server.connections) >= server.max_connections:
            server.say_once("cap", "%d connections open: closing new ones", server.max_connections)
            self.closing = self.gone = True
            transport.close()
            return
        peer = transport.get_extra_info("peername")
        self.peer = (str(peer[0]), str(peer[1])) if isinstance(peer, tuple) else ("", "")
        self.last = server.loop.time()
        server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self.server.connections.discard(self)
        if self.probe is not None:
            self.probe.cancel()
        self.settled.set()

    def eof_received(self) -> bool:
        """The client sends nothing more; what it sent is still answered (RFC 9112 section 9.6)."""
        self.eof = True
        if self.busy:
            self._probe()
        elif not self.scheduled:
            self._process()
        return True  # keep the transport open for the answers

    def pause_writing(self) -> None:
        self.paused = True  # no more answers, and soon no more reading, until the client reads
        self._pause_reading()

    def resume_writing(self) -> None:
        self.paused = False
        self._process()

    def data_received(self, data: bytes) -> None:
        self.last = self.server.loop.time()
        self.buffer += data
        if len(self.buffer) > _READ_AHEAD:
            self._pause_reading()
        if not (self.busy or self.paused or self.scheduled):
            self._process()

    def drain(self) -> None:
        """The server stops: an answer in flight is still written, then the connection closes."""
        if not (self.busy or self.closing):
            self._close()

    # --- reading ---------------------------------------------------------------------------------

    def _pause_reading(self) -> None:
        if self.reading and not self.closing and not self.eof:
            self.reading = False
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if not self.reading and not (self.closing or self.eof or self.paused) and len(self.buffer) <= _READ_AHEAD:
            self.reading = True
            self.transport.resume_reading()

    def _process(self) -> None:
        """Feed the parser and answer, in order, until a request must wait, the data runs out, or
        this turn's share is spent (then again on the next turn)."""
        self.scheduled = False
        budget, answers, stopped = _SLICE, _TURN_REQUESTS, self.server._stopped
        until = time.perf_counter() + _TURN_S
        while self.buffer and not (self.busy or self.paused or self.closing or self.gone):
            if stopped.is_set():  # (set at once by a signal handler, before the loop hears of it)
                self._close()  # not begun before the stop: not answered
                return
            if budget <= 0 or answers <= 0 or (answers < _TURN_REQUESTS and time.perf_counter() > until):
                self.scheduled = True
                self.server.loop.call_soon(self._process)
                return
            try:
                size = self._next_feed()
                if not size:
                    break
                data = bytes(self.buffer[:size])
                del self.buffer[:size]
                budget -= size
                self._feed(data, size)
            except _Refused as refused:
                self._refuse(refused.status, str(refused))
                return
            request = self.request
            if request is not None and request.done and self.remaining is None and not self.chunked:
                self.request = None
                answers -= 1
                self._dispatch(request)
        self._resume_reading()
        if self.eof and not (self.busy or self.scheduled or self.paused or self.closing or self.gone):
            self._close()  # every whole request is answered; a half-sent one never will be

    def _next_feed(self) -> int:
        """How many buffered bytes to feed now: up to where the message may end, never past it."""
        buffer = self.buffer
        if self.remaining is not None:
            return min(self.remaining, len(buffer), _SLICE)
        if self.request is None and buffer[0] in (13, 10):  # empty lines before a request are ignored
            stripped = len(buffer) - len(buffer.lstrip(b"\r\n"))
            del buffer[:stripped]
            self.scan = 0
            if not buffer:
                return 0
        end = buffer.find(_END, self.scan)
        if self.chunked:
            if end >= 0:
                return min(end + 4, _SLICE)
            self.scan = max(0, len(buffer) - 3)
            return min(max(0, len(buffer) - 3), _SLICE)
        # a head: exactly MAX_HEAD bytes at most
        if end >= 0:
            if self.head_fed + end + 4 > MAX_HEAD:
                raise _Refused(431, f"a request's head may be {MAX_HEAD} bytes")
            return end + 4
        if self.head_fed + len(buffer) >= MAX_HEAD:
            raise _Refused(431, f"a request's head may be {MAX_HEAD} bytes")
        self.scan = max(0, len(buffer) - 3)
        return len(buffer) - 3 if len(buffer) - 3 >= _PARTIAL_HEAD else 0

    def _feed(self, data: bytes, size: int) -> None:
        in_head = self.remaining is None and not self.chunked
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # no protocol switch here: the request is answered as any, and the connection closed
        except httptools.HttpParserError as error:
            raise _Refused(400, str(error) or "the request could not be read") from None
        if self.refusal is not None:
            raise self.refusal
        self.scan = 0
        if in_head and self.request is not None and not self.request.done:
            self.head_fed += size

    # --- llhttp callbacks ------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.request = _Request()
        self.head_fed = 0

    def on_url(self, url: bytes) -> None:
        self.request.target.append(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        request = self.request
        if not request.done:  # (trailers of a chunked body are not headers of the request)
            request.headers.append((name, value))

    def on_headers_complete(self) -> None:
        request, parser = self.request, self.parser
        request.done = True
        request.method = parser.get_method().decode("ascii")
        request.version = parser.get_http_version()
        request.keep_alive = parser.should_keep_alive() and not parser.should_upgrade()
        length, chunked = None, False
        for name, value in request.headers:
            lowered = name.lower()
            if lowered == b"content-length":
                length = int(value)  # llhttp read digits only, and one such header at most
            elif lowered == b"transfer-encoding":
                chunked = True  # llhttp refuses any other final coding of a request
            elif lowered == b"expect" and value.strip().lower() == b"100-continue":
                request.expect = True
        if length is not None and chunked:  # (llhttp refuses it too; said here as well, being the rule)
            self.refusal = _Refused(400, "a request with both Content-Length and Transfer-Encoding is refused")
        elif length is not None and length > self.server.max_body:
            self.refusal = _Refused(413, f"the body may be {self.server.max_body} bytes")
        if self.refusal is not None:
            return  # (the feed ends with the head: nothing of the body is read)
        self.head_fed = 0
        if length:
            self.remaining = length
        self.chunked = chunked
        if request.expect and request.version == "1.1" and (length or chunked) and not self.buffer:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        request = self.request
        request.body.append(body)
        request.size += len(body)
        if self.remaining is not None:
            self.remaining -= len(body)
        elif request.size > self.server.max_body and self.refusal is None:
            self.refusal = _Refused(413, f"the body may be {self.server.max_body} bytes")

    def on_message_complete(self) -> None:
        self.remaining = None
        self.chunked = False

    # --- answering -------------------------------------------------------------------------------

    def _dispatch(self, request: _Request) -> None:
        environ = self._environ(request)
        if environ is None:
            self._refuse(400, "the request target could not be read")
            return
        if self.server.may_wait(environ):
            self.busy = True
            self.held = request
            if self.eof:
                self._probe()
            loop = self.server.loop
            future = self.server.workers.submit(_call, self.server.app, environ)
            self.server.held.add(future)

            def done(future: concurrent.futures.Future) -> None:
                try:
                    loop.call_soon_threadsafe(self._finish, request, future)
                except RuntimeError:  # the loop is closed: the server stopped, nobody to answer
                    pass

            future.add_done_callback(done)
            return
        environ[INLINE] = True
        self._answer(request, _call(self.server.app, environ))

    def _finish(self, request: _Request, future: concurrent.futures.Future) -> None:
        self.server.held.discard(future)
        self.busy = False
        self.held = None
        try:
            answer = future.result()
        except concurrent.futures.CancelledError:
            return
        self._answer(request, answer)
        if self.server.stopping and not self.closing:
            self._close()
        self._process()

    def _answer(self, request: _Request, answer: tuple | None) -> None:
        if answer is None:  # dropped: close unanswered
            self._close()
            return
        status, headers, chunks = answer
        self._send(request, status, headers, chunks)

    def _send(self, request: _Request, status: str, headers: list, chunks: list) -> None:
        """Write the answer's head as waitress would, then its body, in one write."""
        if self.gone or self.transport.is_closing():
            return
        try:
            data, close = _answer_bytes(request, status, headers, chunks, self.server.stopping)
        except ValueError as error:
            log.error("the app's answer to %s %s cannot be sent: %s", request.method,
                      b"".join(request.target).decode("latin-1")[:200], error)
            data, close = _plain(request.version, 500, "The server encountered an unexpected internal server error")
        if self.probe is not None:  # the interim answer begun by `_probe` is ended first
            self.probe.cancel()
            self.probe = None
            self.settled.set()
            data = b"\r\n" + data
        self.transport.write(data)
        if close:
            self._close()

    def _refuse(self, status: int, reason: str) -> None:
        """The server's own answer to a request it does not run; the connection closes after it."""
        version = self.request.version if self.request is not None and self.request.done else "1.1"
        data, _ = _plain(version, status, reason)
        if not (self.gone or self.transport.is_closing()):
            if self.probe is not None:
                self.probe.cancel()
                self.probe = None
                self.settled.set()
                data = b"\r\n" + data
            self.transport.write(data)
        self._close()

    def _close(self) -> None:
        self.closing = True
        self.buffer.clear()
        self.transport.close()  # (after what is written is sent)

    def _probe(self) -> None:
        """The client has closed its sending side while a request runs on a worker: did it only
        half-close (it still reads, and gets its answer) or leave? Only a write tells: a socket its
        client closed answers one with a reset. So an interim `100 Continue` (which an HTTP/1.1
        client must accept before any answer) is written in two parts; the second fails, and the
        connection is lost (`gone`), where the client has left."""
        if self.probed or self.gone or self.closing or self.held is None or self.held.version != "1.1":
            return
        self.probed = True
        self.settled.clear()
        self.transport.write(b"HTTP/1.1 100 Continue\r\n")
        self.probe = self.server.loop.call_later(_PROBE_S, self._probe_end)

    def _probe_end(self) -> None:
        self.probe = None
        if not (self.gone or self.transport.is_closing()):
            self.transport.write(b"\r\n")  # (where it fails, the loss is reported on the next turn)
        self.server.loop.call_soon(self.settled.set)

    def _environ(self, request: _Request) -> dict | None:
        environ = dict(self.server._base)
        target = b"".join(request.target)
        if target.startswith(b"/"):
            path, _, query = target.partition(b"#")[0].partition(b"?")
        else:  # absolute form (or `*`)
            try:
                url = httptools.parse_url(target)
            except httptools.HttpParserInvalidURLError:
                return None
            path, query = url.path or b"/", url.query or b""
        if path.startswith(b"//"):
            path = b"/" + path.lstrip(b"/")
        version = request.version if request.version in ("1.0", "1.1") else "1.0"
        body = b"".join(request.body) if len(request.body) != 1 else request.body[0]
        environ.update({
            "REQUEST_METHOD": request.method, "PATH_INFO": (unquote_to_bytes(path) if b"%" in path else path).decode(
                "latin-1"), "QUERY_STRING": query.decode("latin-1"),
            "REQUEST_URI": target.decode("latin-1"), "SERVER_PROTOCOL": "HTTP/" + version,
            "REMOTE_ADDR": self.peer[0], "REMOTE_HOST": self.peer[0], "REMOTE_PORT": self.peer[1],
            "wsgi.input": io.BytesIO(body), RAW_BODY: body, CLIENT_GONE: self._left,
        })
        headers = request.headers
        sent = None
        for name, value in headers:
            if b"_" in name:
                # A name with an underscore (`api_key`, as documents declare) is kept as if written with
                # dashes, unless the dashed one is sent too (nothing poses as the other), and never as a
                # name that frames the message or steers the connection (no smuggling past llhttp).
                if sent is None:
                    sent = {other.lower() for other, _ in headers if b"_" not in other}
                dashed = name.replace(b"_", b"-").lower()
                if dashed in _FRAMING or dashed in sent:
                    continue
            key = _environ_key(name)
            text = value.strip(b" \t").decode("latin-1")
            environ[key] = environ[key] + ", " + text if key in environ and key.startswith(("HTTP_", "CONTENT_")) \
                else text
        return environ

    def _left(self) -> bool:
        """Asked from a held request's thread: whether the connection is lost (its client left).
        What the kernel already has is seen first: the loop turns twice (reading an end of file
        that came), and a probe it set off is waited for (a few ms), so a client that closed its
        socket just before asking is seen gone."""
        if self.gone or threading.get_ident() == self.server.thread:  # (on the loop: nothing to wait for)
            return self.gone
        loop, turned = self.server.loop, threading.Event()
        try:
            loop.call_soon_threadsafe(loop.call_soon, turned.set)
        except RuntimeError:  # the loop is closed: the server stopped
            return True
        # (bounded short: the asker may hold a lock an inline request on the loop waits for)
        turned.wait(0.25)
        self.settled.wait(0.5)
        return self.gone


def _answer_bytes(request: _Request, status: str, headers: list, chunks: list, draining: bool) -> tuple[bytes, bool]:
    """The answer as waitress wrote it; a ValueError where a name, value or status cannot be sent."""
    if not isinstance(status, str) or not _STATUS.fullmatch(status):
        raise ValueError(f"status {status!r}")
    code = int(status[:3])
    body = b"".join(chunks) if len(chunks) != 1 else chunks[0]
    has_body = code >= 200 and code not in _NO_BODY
    lines, length, date, server, connection = [], None, None, None, None
    for name, value in headers:
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError(f"header name {name!r}")
        if not isinstance(value, str) or _BAD_VALUE.search(value):
            raise ValueError(f"value of header {name}: {value!r}")
        name = _capitalised(name)
        if name == "Content-Length":
            if not has_body:
                continue
            length = value
        elif name == "Date":
            date = value
        elif name == "Server":
            server = value
        elif name == "Connection":
            connection = value.lower()
        lines.append((name, value))
    if length is None and has_body and (body or request.method != "HEAD"):
        lines.append(("Content-Length", str(len(body))))  # (a HEAD's too, where the app made its GET's body)
    version = request.version if request.version in ("1.0", "1.1") else "1.0"  # (as waitress answers)
    close = not request.keep_alive or request.version != version or draining
    if version == "1.0" and not request.keep_alive:
        close = True
    if close or connection == "close":
        close = True
        if connection is None:
            lines.append(("Connection", "close"))
    elif version == "1.0":
        lines.append(("Connection", "Keep-Alive"))
    lines.append(("Via", IDENT) if server else ("Server", IDENT))
    if date is None:
        lines.append(("Date", _http_date()))
    lines.sort(key=_first)
    head = f"HTTP/{version} {status}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in lines) + "\r\n"
    data = head.encode("latin-1")
    if has_body and request.method != "HEAD":
        data += body
    return data, close


def _plain(version: str, status: int, reason: str) -> tuple[bytes, bool]:
    """The server's own plain-text answer (an error), closing the connection."""
    title = _REASONS[status]
    body = f"{title}\r\n\r\n{reason}\r\n\r\n(generated by {IDENT})".encode("latin-1", "replace")
    version = version if version in ("1.0", "1.1") else "1.0"
    head = (f"HTTP/{version} {status} {title}\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\nDate: {_http_date()}\r\nServer: {IDENT}\r\n\r\n")
    return head.encode("latin-1") + body, True


def _first(pair: tuple) -> str:
    return pair[0]


def _call(app: Callable, environ: dict) -> tuple[str, list, list] | None:
    """Run the app to its end: (status, headers, body chunks), or None when it drops the connection."""
    started: list = []

    def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
        if started and not exc_info:
            raise AssertionError("start_response called a second time without exc_info")
        started[:] = [status, headers]
        return written.append

    written: list[bytes] = []
    try:
        result = app(environ, start_response)
        try:
            for chunk in result:
                if chunk:
                    written.append(chunk)
        finally:
            if hasattr(result, "close"):
                result.close()
    except DropConnection:
        return None
    except Exception:
        log.exception("the app failed on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        body = b"Internal Server Error\r\n\r\nThe server encountered an unexpected internal server error" \
               b"\r\n\r\n(generated by " + IDENT.encode() + b")"
        return "500 Internal Server Error", [("Content-Type", "text/plain; charset=utf-8"),
                                             ("Content-Length", str(len(body))), ("Connection", "close")], [body]
    if not started:
        log.error("the app answered without start_response")
        return None
    return started[0], started[1], written
