"""The HTTP server: one event loop on one thread reads, parses and answers every connection, and
runs the WSGI app inline. A mock's request is CPU work of ~100 µs that never waits, so handing it
to a worker thread (as waitress does for every request) only adds hand-offs and GIL queueing
(bench/results.md, "Issue 14"). A request that may wait (a fault's delay) runs on a worker thread;
`may_wait(environ)` says which, conservatively.

A plain request (its head and whole body at hand, nothing unusual in its framing: most requests)
is read in one pass (`_quick`); every other goes to waitress' parser (limits, chunked bodies,
`Expect`, error answers), with the stricter framing rules below. The two agree on what they both
read (tested). The answer's head is written as waitress writes it (header names capitalised and
sorted, `Server` and `Date` added), so the bytes a client sees are the same as before.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
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

from waitress.adjustments import Adjustments
from waitress.parser import HTTPRequestParser, ParsingError, unquote_bytes_to_wsgi
from waitress.rfc7230 import HEADER_FIELD_RE
from waitress.utilities import InternalServerError, build_http_date

from mockserver.connection import CLIENT_GONE, INLINE, RAW_BODY, DropConnection

log = logging.getLogger("mockserver.http")

IDENT = "mockserver"
IDLE_S = 120.0  # a connection idle this long (no request in progress) is closed, as waitress does
_READ_AHEAD = 1 << 20  # bytes buffered behind a request in progress before reading pauses
_NO_BODY = frozenset((204, 304))


class HttpServer:
    """Bound at construction (so the port is known), serving from `serve_forever()` until `stop()`."""

    def __init__(self, app: Callable, *, host: str, port: int, workers: int, may_wait: Callable[[dict], bool],
                 max_body_bytes: int, idle_s: float = IDLE_S) -> None:
        self.app = app
        self.idle_s = idle_s
        self.may_wait = may_wait
        self.adj = Adjustments(ident=IDENT, max_request_body_size=max_body_bytes)
        self.socket = _listen(host, port, self.adj.backlog)
        self.workers = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="mockserver-held")
        self.loop = asyncio.new_event_loop()
        self.connections: set[_Connection] = set()
        bound = self.socket.getsockname()
        self._base = {"SERVER_NAME": str(bound[0]), "SERVER_PORT": str(bound[1]), "SERVER_SOFTWARE": IDENT,
                      "SCRIPT_NAME": "", "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
                      "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
                      "wsgi.input_terminated": True}
        self._stopped = threading.Event()
        self._served = False
        self._done = threading.Event()
        # Nothing runs the loop before `serve_forever`, on its own thread: a caller inside a running
        # event loop of its own (an async test) can construct the server too.
        self._closing: asyncio.Future = self.loop.create_future()

    def serve_forever(self) -> None:
        """Serve on this thread until `stop()` (or a KeyboardInterrupt from a signal handler)."""
        loop = self.loop
        self._served = True
        asyncio.set_event_loop(loop)
        serving = loop.create_task(self._serve())
        try:
            loop.run_until_complete(serving)
        except BaseException:
            serving.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(serving)
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
        finally:
            sweeper.cancel()
            listener.close()
            for connection in list(self.connections):
                connection.transport.abort()
            await asyncio.sleep(0)  # let the aborted transports report their loss

    def stop(self) -> None:
        """Stop serving (from any thread); `serve_forever` returns after closing every connection."""
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
    def _sweep_s(self) -> float:
        return min(10.0, self.idle_s / 2)

    def _sweep(self) -> None:
        cutoff = self.loop.time() - self.idle_s
        for connection in list(self.connections):
            if connection.last < cutoff and not connection.busy:
                connection.transport.close()
        self.loop.call_later(self._sweep_s, self._sweep)


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


class _Parser(HTTPRequestParser):
    """waitress' parser, stricter: a request carrying both Content-Length and Transfer-Encoding (a
    smuggling attempt; RFC 9112 section 6.1 lets a server refuse it and requires it to close the
    connection after) and a Content-Length too long for `int()` are a 400, and the connection closes.
    A header named with an underscore is kept, read as if written with dashes (see `_dashed`)."""

    def parse_header(self, header_plus: bytes) -> None:
        try:
            super().parse_header(_dashed(header_plus))
        except ValueError:  # int() of thousands of digits; a ParsingError is no ValueError
            raise ParsingError("Content-Length is invalid") from None
        if "CONTENT_LENGTH" in self.headers and (self.chunked or "TRANSFER_ENCODING" in self.headers):
            raise ParsingError("a request with both Content-Length and Transfer-Encoding is refused")


_NAME = re.compile(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):", re.M)


def _dashed(header_plus: bytes) -> bytes:
    """A header whose name has an underscore (`api_key`, as documents declare) is kept, as if written
    with dashes: waitress' parser drops it, since `api_key` and `api-key` are one WSGI variable. Where
    both are sent, the underscore one is still dropped, so nothing can pose as the other."""
    if b"_" not in header_plus:
        return header_plus
    names = {found.group(1).lower() for found in _NAME.finditer(header_plus)}

    def dash(found: re.Match) -> bytes:
        name = found.group(1)
        dashed = name.replace(b"_", b"-")
        return found.group(0) if b"_" not in name or dashed.lower() in names else dashed + b":"

    return _NAME.sub(dash, header_plus)


# An origin-form request line of HTTP/1.0 or 1.1: `/` then visible ASCII, no fragment, not `//`.
_SIMPLE_LINE = re.compile(rb"([A-Z]+) (/(?!/)[\x21-\x22\x24-\x7e]*) HTTP/(1\.[01])")


class _Quick:
    """A request read in one pass, when it is the plain kind (most are): its head and whole body in
    the buffer, no Transfer-Encoding, Expect or underscored header, a Content-Length of digits under
    the cap. The same attributes, with the same values, as waitress' parser gives; anything else
    goes to that parser (which then also answers every error)."""

    __slots__ = ("command", "path", "query", "request_uri", "version", "headers", "connection_close", "body")
    empty = False
    error = None

    def get_body_stream(self) -> io.BytesIO:
        return io.BytesIO(self.body)

    def close(self) -> None:
        pass


def _quick(buffer: bytes, max_body: int, max_header: int) -> tuple[_Quick, int] | None:
    end = buffer.find(b"\r\n\r\n", 0, max_header)
    if end <= 0:
        return None
    lines = buffer[:end].split(b"\r\n")
    first = _SIMPLE_LINE.fullmatch(lines[0])
    if first is None:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        field = HEADER_FIELD_RE.match(line)
        if field is None or b"\r" in line or b"\n" in line or b"_" in field.group("name"):
            return None
        key = field.group("name").upper().replace(b"-", b"_").decode("latin-1")
        value = field.group("value").strip(b" \t").decode("latin-1")
        headers[key] = headers[key] + ", " + value if key in headers else value
    if "TRANSFER_ENCODING" in headers or "EXPECT" in headers:
        return None
    length = headers.get("CONTENT_LENGTH", "0")
    if not (length.isdigit() and length.isascii() and len(length) < 16) or int(length) >= max_body:
        return None
    start = end + 4
    stop = start + int(length)
    if len(buffer) < stop:
        return None  # the body is still coming: waitress' parser gathers it
    request = _Quick()
    command, target, version = first.groups()
    request.command, request.request_uri, request.version = command.decode(), target.decode(), version.decode()
    path, _, query = target.partition(b"?")
    request.path = unquote_bytes_to_wsgi(path) if b"%" in path else path.decode()
    request.query, request.headers = query.decode(), headers
    connection = headers.get("CONNECTION", "").lower()
    request.connection_close = connection != "keep-alive" if version == b"1.0" else connection == "close"
    request.body = buffer[start:stop]
    return request, stop


_SPECIAL = {"CONTENT_LENGTH": "CONTENT_LENGTH", "CONTENT_TYPE": "CONTENT_TYPE"}


@functools.lru_cache(maxsize=512)
def _environ_key(name: str) -> str:
    return _SPECIAL.get(name) or "HTTP_" + name


@functools.lru_cache(maxsize=512)
def _capitalised(name: str) -> str:
    """Header names as waitress writes them (`content-type` -> `Content-Type`)."""
    return "-".join(part.capitalize() for part in name.split("-"))


_date = [0, ""]


def _http_date() -> str:
    now = int(time.time())
    if _date[0] != now:
        _date[:] = [now, build_http_date(now)]
    return _date[1]


class _Connection(asyncio.Protocol):
    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.buffer = b""
        self.parser: _Parser | None = None
        self.busy = False  # a request runs on a worker thread: later ones wait behind it
        self.paused = False  # the transport's write buffer is full
        self.gone = False
        self.closing = False
        self.last = 0.0
        self.peer: tuple = ("", 0)

    # --- asyncio callbacks -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = (str(peer[0]), str(peer[1])) if isinstance(peer, tuple) else ("", "")
        self.last = self.server.loop.time()
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self.server.connections.discard(self)
        if self.parser is not None:
            self.parser.close()
            self.parser = None

    def eof_received(self) -> bool:
        self.gone = True  # a held request sees it; anything half-sent is dropped, as waitress does
        return False

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._process()

    def data_received(self, data: bytes) -> None:
        self.last = self.server.loop.time()
        self.buffer = self.buffer + data if self.buffer else data
        if self.busy or self.paused:
            if len(self.buffer) > _READ_AHEAD:
                self.transport.pause_reading()
            return
        self._process()

    # --- requests --------------------------------------------------------------------------------

    def _process(self) -> None:
        """Parse and answer every complete request buffered, in order, until one must wait."""
        adj = self.server.adj
        while self.buffer and not (self.busy or self.paused or self.closing or self.gone):
            parser = self.parser
            if parser is None:
                quick = _quick(self.buffer, adj.max_request_body_size, adj.max_request_header_size)
                if quick is not None:
                    self.buffer = self.buffer[quick[1]:]
                    self._dispatch(quick[0])
                    continue
                parser = self.parser = _Parser(adj)
            consumed = parser.received(self.buffer)
            self.buffer = self.buffer[consumed:]
            if not parser.completed:
                if parser.headers_finished and parser.expect_continue and not getattr(parser, "continued", False):
                    parser.continued = True
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                if consumed == 0:
                    break
                continue
            self.parser = None
            if parser.empty:
                continue
            if parser.error is not None:
                status, headers, body = parser.error.to_response(IDENT)
                self._send(parser, status, headers, [body], close=True)
                return
            self._dispatch(parser)
        if self.buffer and self.busy is False and self.transport.is_reading() is False and not self.closing:
            self.transport.resume_reading()

    def _dispatch(self, parser: _Parser) -> None:
        environ = self._environ(parser)
        if self.server.may_wait(environ):
            self.busy = True
            future = self.server.workers.submit(_call, self.server.app, environ)
            future.add_done_callback(lambda done: self.server.loop.call_soon_threadsafe(self._finish, parser, done))
            return
        environ[INLINE] = True
        self._answer(parser, _call(self.server.app, environ))

    def _finish(self, parser: _Parser, future: concurrent.futures.Future) -> None:
        self.busy = False
        self.gone = self._gone()  # the end of file may wait behind this callback: requests after it must not run
        try:
            answer = future.result()
        except concurrent.futures.CancelledError:
            return
        self._answer(parser, answer)
        if self.transport.is_reading() is False and not self.closing:
            self.transport.resume_reading()
        self._process()

    def _answer(self, parser: _Parser, answer: tuple | None) -> None:
        if answer is None:  # dropped: close unanswered
            parser.close()
            self.closing = True
            self.transport.close()
            return
        status, headers, chunks = answer
        self._send(parser, status, headers, chunks, close=parser.connection_close)

    def _send(self, parser: _Parser, status: str, headers: list, chunks: list, close: bool) -> None:
        """Write the answer's head as waitress would, then its body, in one write."""
        try:
            if self.gone or self.transport.is_closing():
                return
            code = int(status[:3])
            body = b"".join(chunks) if len(chunks) != 1 else chunks[0]
            has_body = getattr(parser, "command", "") != "HEAD" and code >= 200 and code not in _NO_BODY
            lines, length, date, server, connection = [], None, None, None, None
            for name, value in headers:
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
            if length is None and has_body:
                lines.append(("Content-Length", str(len(body))))
            version = _version(parser)
            if version == "1.0" and parser.headers.get("CONNECTION", "").lower() != "keep-alive":
                close = True  # (HTTP/1.0, or another version answered as 1.0, as waitress does)
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
            head = f"HTTP/{version} {status}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in lines)
            data = head.encode("latin-1") + b"\r\n"
            if has_body:
                data += body
            self.transport.write(data)
            if close:
                self.closing = True
                self.transport.close()
        finally:
            parser.close()

    def _environ(self, parser: _Parser) -> dict:
        environ = dict(self.server._base)
        path = parser.path
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        environ.update({
            "REQUEST_METHOD": parser.command.upper(), "PATH_INFO": path, "QUERY_STRING": parser.query,
            "REQUEST_URI": parser.request_uri, "SERVER_PROTOCOL": "HTTP/" + _version(parser),
            "REMOTE_ADDR": self.peer[0], "REMOTE_HOST": self.peer[0], "REMOTE_PORT": self.peer[1],
            "wsgi.input": parser.get_body_stream(), CLIENT_GONE: self._gone,
        })
        if type(parser) is _Quick:
            environ[RAW_BODY] = parser.body
        for name, value in parser.headers.items():
            environ.setdefault(_environ_key(name), value)
        return environ

    def _gone(self) -> bool:
        """Asked from a held request's thread: the loop's flag, or else a look at the socket (an end
        of file waiting there the loop has not read yet), so a test that saw its client give up
        finds the request ended right after."""
        if self.gone:
            return True
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return False
        try:
            peek = socket.socket(sock.family, sock.type, sock.proto, fileno=sock.fileno())
        except (OSError, ValueError):  # closed in between
            return True
        try:
            return peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            peek.detach()


def _version(parser: _Parser | _Quick) -> str:
    """The version an answer speaks: the request's 1.0 or 1.1, else 1.0 (as waitress answers)."""
    return parser.version if parser.version in ("1.0", "1.1") else "1.0"


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
        status, headers, body = InternalServerError(
            "The server encountered an unexpected internal server error").to_response(IDENT)
        return status, [*headers, ("Connection", "close")], [body]
    if not started:
        log.error("the app answered without start_response")
        return None
    return started[0], started[1], written
