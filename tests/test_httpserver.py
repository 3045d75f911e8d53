"""The HTTP server core (mockserver/httpserver.py) over real sockets, with small WSGI apps: framing,
keep-alive and pipelining, the answer's head as waitress wrote it, held requests on worker threads
beside answers on the loop, drops, failures, and stopping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time

import pytest

from mockserver.connection import CLIENT_GONE, DropConnection
from mockserver.httpserver import HttpServer, _Connection
from tests.helpers import raw_exchange, statuses


@contextlib.contextmanager
def serving(app, may_wait=lambda environ: False, idle_s=120.0):
    server = HttpServer(app, host="127.0.0.1", port=0, workers=2, may_wait=may_wait, max_body_bytes=1 << 20,
                        idle_s=idle_s)
    failures = []

    def serve():
        try:
            server.serve_forever()
        except BaseException as error:  # noqa: BLE001 (the test reports it)
            failures.append(error)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.close()
        thread.join(timeout=5)
        assert not thread.is_alive() and failures == []


def echo(environ, start_response):
    """Answers the method, path and body it got; `/empty` answers 204, `/plain` sets no Content-Length."""
    body = environ["wsgi.input"].read()
    if environ["PATH_INFO"] == "/empty":
        start_response("204 No Content", [])
        return []
    text = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {body.decode()}\r\n".encode()
    headers = [("content-type", "text/plain"), ("x-request-id", "r1")]
    if environ["PATH_INFO"] != "/plain":
        headers.append(("Content-Length", str(len(text))))
    start_response("200 OK", headers)
    return [text]


def address(server):
    return server.socket.getsockname()[:2]


def read_answers(sock: socket.socket, count: int, heads: tuple = ()) -> list[bytes]:
    """`count` whole answers (head and Content-Length body) from a connection that stays open; those
    at the indexes `heads` answer a HEAD (a Content-Length, no body)."""
    data, answers = b"", []
    while len(answers) < count:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end]
            lengths = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")]
            length = 0 if len(answers) in heads or not lengths else lengths[0]
            if len(data) >= head_end + 4 + length:
                answers.append(data[:head_end + 4 + length])
                data = data[head_end + 4 + length:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"closed after {len(answers)} answers"
        data += chunk
    return answers


def test_pipelined_requests_are_answered_in_order_and_close_ends_the_connection():
    with serving(echo) as server:
        raw = raw_exchange(*address(server), b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                           b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                           b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                           b"GET /never HTTP/1.1\r\nHost: x\r\n\r\n")
    assert statuses(raw) == [200, 200, 200]
    assert raw.index(b"GET /a ") < raw.index(b"POST /b abc") < raw.index(b"GET /c ")
    assert b"/never" not in raw and raw.count(b"Connection: close") == 1


def test_the_head_is_written_as_waitress_wrote_it():
    with serving(echo) as server:
        raw = raw_exchange(*address(server), b"GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    names = [line.split(":")[0] for line in lines[1:]]
    assert names == sorted(names) and {"Content-Type", "X-Request-Id", "Server", "Date", "Content-Length"} <= set(names)
    assert "Server: mockserver" in lines and f"Content-Length: {len(body)}" in lines and body == b"GET /plain \r\n"


def test_http_1_0_closes_unless_asked_to_keep_alive():
    with serving(echo) as server:
        raw = raw_exchange(*address(server), b"GET /one HTTP/1.0\r\n\r\nGET /two HTTP/1.0\r\n\r\n")
        assert statuses(raw) == [200] and b"Connection: close" in raw
        with socket.create_connection(address(server), timeout=5) as sock:
            sock.sendall(b"GET /one HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            assert b"Connection: Keep-Alive" in read_answers(sock, 1)[0]
            sock.sendall(b"GET /two HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            assert read_answers(sock, 1)[0].endswith(b"GET /two \r\n")


def test_expect_100_continue_is_answered_before_the_body_is_sent():
    with serving(echo) as server, socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(b"PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        assert read_answers(sock, 1)[0].endswith(b"PUT /x hello\r\n")


def test_a_chunked_body_reaches_the_app_whole():
    with serving(echo) as server:
        raw = raw_exchange(*address(server), b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                           b"Connection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert statuses(raw) == [200] and raw.endswith(b"POST /x abcde\r\n")


def test_head_and_204_carry_no_body_and_the_connection_goes_on():
    with serving(echo) as server, socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(b"HEAD /x HTTP/1.1\r\nHost: x\r\n\r\nDELETE /empty HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        head, empty, after = read_answers(sock, 3, heads=(0,))
    assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n")
    assert b"Content-Length: 10\r\n" in head  # what the GET would send (`GET /x \r\n`), as waitress did
    assert empty.startswith(b"HTTP/1.1 204") and b"Content-Length" not in empty and empty.endswith(b"\r\n\r\n")
    assert after.endswith(b"GET /after \r\n")


def test_a_malformed_request_is_a_400_that_closes():
    with serving(echo) as server:
        raw = raw_exchange(*address(server), b"GET /x HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\nGET /y HTTP/1.1\r\n\r\n")
    assert statuses(raw) == [400] and b"Connection: close" in raw and b"/y" not in raw


def test_an_app_that_fails_is_a_500_the_server_logs_and_serves_on(caplog):
    def failing(environ, start_response):
        if environ["PATH_INFO"] == "/boom":
            raise RuntimeError("kaput")
        return echo(environ, start_response)

    with serving(failing) as server:
        raw = raw_exchange(*address(server), b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
        assert statuses(raw) == [500] and b"kaput" not in raw
        assert raw_exchange(*address(server), b"GET /ok HTTP/1.0\r\n\r\n").endswith(b"GET /ok \r\n")
    assert any("kaput" in str(record.exc_info[1]) for record in caplog.records if record.exc_info)


def test_a_dropped_request_closes_its_connection_without_a_byte():
    def dropping(environ, start_response):
        raise DropConnection

    with serving(dropping) as server:
        assert raw_exchange(*address(server), b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n") == b""


def until_gone(gone, timeout: float = 5.0) -> None:
    """Ask as a fault's delay does until the client's end of file has come through the kernel (it may
    still be on its way when the test that closed the socket releases the request)."""
    deadline = time.monotonic() + timeout
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_held_request_waits_on_a_worker_while_the_loop_answers_others():
    release, held, saw_gone = threading.Event(), threading.Event(), []

    def app(environ, start_response):
        if environ["PATH_INFO"].startswith("/hold"):
            held.set()
            release.wait(5)
            if environ["PATH_INFO"] == "/hold-gone":
                until_gone(environ[CLIENT_GONE])
            saw_gone.append(environ[CLIENT_GONE]())
        return echo(environ, start_response)

    with serving(app, may_wait=lambda environ: environ["PATH_INFO"].startswith("/hold")) as server:
        with socket.create_connection(address(server), timeout=5) as slow:
            slow.sendall(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\nGET /behind HTTP/1.1\r\nHost: x\r\n\r\n")
            assert held.wait(5)
            # the loop answers another connection while the held one waits
            assert raw_exchange(*address(server), b"GET /free HTTP/1.0\r\n\r\n").endswith(b"GET /free \r\n")
            release.set()
            first, second = read_answers(slow, 2)  # the one behind it waited its turn
        assert first.endswith(b"GET /hold \r\n") and second.endswith(b"GET /behind \r\n") and saw_gone == [False]

        release.clear()
        held.clear()
        with socket.create_connection(address(server), timeout=5) as gone:
            gone.sendall(b"GET /hold-gone HTTP/1.1\r\nHost: x\r\n\r\n")
            assert held.wait(5)
        release.set()  # its client has left: the app sees it, and nothing is written
        assert raw_exchange(*address(server), b"GET /next HTTP/1.0\r\n\r\n").endswith(b"GET /next \r\n")
    assert saw_gone == [False, True]


def test_an_idle_connection_is_closed_and_a_busy_one_is_not():
    with serving(echo, idle_s=0.2) as server, socket.create_connection(address(server), timeout=5) as idle:
        idle.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        read_answers(idle, 1)
        assert idle.recv(100) == b""  # closed by the server (a TimeoutError here fails the test)


def test_requests_behind_a_held_one_are_not_run_when_its_client_leaves():
    release, held, ran = threading.Event(), threading.Event(), []

    def app(environ, start_response):
        ran.append(environ["PATH_INFO"])
        if environ["PATH_INFO"] == "/hold":
            held.set()
            release.wait(5)
            until_gone(environ[CLIENT_GONE])
        return echo(environ, start_response)

    with serving(app, may_wait=lambda environ: environ["PATH_INFO"] == "/hold") as server:
        with socket.create_connection(address(server), timeout=5) as gone:
            gone.sendall(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\nPOST /behind HTTP/1.1\r\nHost: x\r\n\r\n")
            assert held.wait(5)
        release.set()
        assert raw_exchange(*address(server), b"GET /next HTTP/1.0\r\n\r\n").endswith(b"GET /next \r\n")
    assert ran == ["/hold", "/next"]


def test_stopping_at_once_after_starting_is_clean():
    with serving(echo):
        pass  # `serving` asserts the thread ended without an exception


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_it_binds_the_host_it_is_given(host):
    with serving(echo) as server:
        assert address(server)[0] == "127.0.0.1"
    server = HttpServer(echo, host=host, port=0, workers=1, may_wait=lambda e: False, max_body_bytes=1024)
    try:
        assert server.socket.getsockname()[0] in ("127.0.0.1", "::1")
    finally:
        server.close()


def test_nothing_is_logged_for_a_normal_exchange(caplog):
    caplog.set_level(logging.DEBUG, logger="mockserver.http")
    with serving(echo) as server:
        raw_exchange(*address(server), b"GET /x HTTP/1.0\r\n\r\n")
    assert [record for record in caplog.records if record.name == "mockserver.http"] == []


def test_it_starts_and_stops_from_inside_a_running_event_loop():
    """An async test (its own loop running on this thread) can start the mock and call it."""
    import asyncio

    import requests

    import mockserver

    async def main() -> int:
        with mockserver.run() as server:
            return requests.get(f"{server.url}/__mock/health", timeout=5).status_code

    assert asyncio.run(main()) == 200


@pytest.mark.parametrize("line", [b"GET /v HTTP/2.0", b"GET /v HTTP/1.2", b"GET /v"])
def test_another_http_version_is_answered_as_1_0_and_closed(line):
    with serving(echo) as server:
        raw = raw_exchange(*address(server), line + b"\r\nHost: x\r\n\r\nGET /never HTTP/1.1\r\n\r\n")
    assert raw.startswith(b"HTTP/1.0 200 OK\r\n") and b"Connection: close" in raw and b"/never" not in raw


# --- the protocol in memory (a fake transport, as uvicorn's tests do) ------------------------------

class FakeTransport(asyncio.Transport):
    """What the connection writes, whether it closed, whether it reads."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False
        self.reading = True

    def write(self, data) -> None:
        if not self.closed:
            self.written += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 50000) if name == "peername" else default


class Recorder:
    """A WSGI app that notes each request (method, path, body, environ) and echoes it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes, dict]] = []

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read()
        self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], body, environ))
        text = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {len(body)}\r\n".encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(text)))])
        return [text]


@contextlib.contextmanager
def in_memory(app, **options):
    """A server whose loop is driven by the test, and a function making connections to it."""
    options = {"workers": 1, "may_wait": lambda environ: False, "max_body_bytes": 1 << 24, **options}
    server = HttpServer(app, host="127.0.0.1", port=0, **options)
    asyncio.set_event_loop(server.loop)

    def connect():
        connection, transport = _Connection(server), FakeTransport()
        connection.connection_made(transport)
        return connection, transport

    try:
        yield server, connect
    finally:
        asyncio.set_event_loop(None)
        server.close()


def turn(server) -> None:
    """One turn of the loop: what was scheduled with call_soon runs."""
    server.loop.run_until_complete(asyncio.sleep(0))


def run_out(server, connection, limit: int = 100_000) -> int:
    """Turns until the connection has nothing scheduled; how many it took."""
    turns = 0
    while connection.scheduled and turns < limit:
        turn(server)
        turns += 1
    return turns


GET = b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("name", [b"Content_Length", b"content_length", b"Transfer_Encoding", b"Keep_Alive"])
def test_an_underscored_name_never_frames_the_message(name):
    app = Recorder()
    with in_memory(app) as (server, connect):
        connection, transport = connect()
        value = b"chunked" if b"Transfer" in name else b"5"
        connection.data_received(b"GET /a HTTP/1.1\r\nHost: x\r\n%s: %s\r\n\r\nGET /b HTTP/1.1\r\n\r\n" % (name, value))
        run_out(server, connection)
    assert [(method, path, body) for method, path, body, _ in app.seen] == [("GET", "/a", b""), ("GET", "/b", b"")]
    environ = app.seen[0][3]
    assert not {"CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING", "HTTP_KEEP_ALIVE", "HTTP_CONTENT_LENGTH"} & set(environ)


def test_the_smuggling_probe_runs_no_hidden_request():
    """`Content_Length: 96` and a body that is a request: the body is no body, and what follows it is
    read as the next request, which here is malformed: a 400, and nothing hidden runs."""
    hidden = b"POST /v1/projects HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    app = Recorder()
    with in_memory(app) as (server, connect):
        connection, transport = connect()
        connection.data_received(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\nContent_Length: %d\r\n\r\nX%s"
                                 % (len(hidden) + 1, hidden))
        run_out(server, connection)
    assert [path for _, path, _, _ in app.seen] == ["/__mock/health"]
    assert statuses(bytes(transport.written)) == [200, 400] and transport.closed


def test_underscored_names_are_kept_as_dashed_unless_the_dashed_one_is_sent():
    app = Recorder()
    with in_memory(app) as (server, connect):
        connection, _ = connect()
        connection.data_received(b"GET /a HTTP/1.1\r\napi_key: k1\r\nX_Other: o\r\n\r\n"
                                 b"GET /b HTTP/1.1\r\napi_key: fake\r\nApi-Key: real\r\n\r\n")
        run_out(server, connection)
    first, second = (environ for *_, environ in app.seen)
    assert (first["HTTP_API_KEY"], first["HTTP_X_OTHER"], second["HTTP_API_KEY"]) == ("k1", "o", "real")


@pytest.mark.parametrize("framing", [b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
                                     b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"])
def test_content_length_and_transfer_encoding_together_are_a_400_that_closes(framing):
    app = Recorder()
    with in_memory(app) as (server, connect):
        connection, transport = connect()
        connection.data_received(b"POST /a HTTP/1.1\r\n" + framing + b"\r\n3\r\nabc\r\n0\r\n\r\n" + GET)
        run_out(server, connection)
    assert app.seen == [] and statuses(bytes(transport.written)) == [400] and transport.closed


def test_a_body_of_one_byte_chunks_is_read_in_slices_the_loop_turns_between():
    chunks = 200_000
    app = Recorder()
    with in_memory(app) as (server, connect):
        connection, transport = connect()
        connection.data_received(b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1\r\nx\r\n" * chunks
                                 + b"0\r\n\r\n")
        assert app.seen == [] and connection.scheduled  # one slice read; the rest on later turns
        assert len(connection.buffer) > 1_200_000 - 65_536
        run_out(server, connection)
    assert [(path, body) for _, path, body, _ in app.seen] == [("/c", b"x" * chunks)]


def test_pipelined_requests_are_answered_a_few_per_turn_in_order():
    app = Recorder()
    with in_memory(app) as (server, connect):
        connection, transport = connect()
        connection.data_received(b"".join(b"GET /%d HTTP/1.1\r\n\r\n" % index for index in range(2000)))
        assert 0 < len(app.seen) < 2000 and connection.scheduled
        run_out(server, connection)
    assert [path for _, path, _, _ in app.seen] == [f"/{index}" for index in range(2000)]
    assert statuses(bytes(transport.written)) == [200] * 2000


def test_pipelined_requests_stop_when_the_client_resets():
    app = Recorder()
    with in_memory(app) as (server, connect):
        connection, transport = connect()
        connection.data_received(GET * 2000)
        answered = len(app.seen)
        connection.connection_lost(ConnectionResetError())
        run_out(server, connection)
    assert 0 < answered == len(app.seen) < 2000


def test_a_stop_ends_a_flood_of_pipelined_requests_at_the_next_one():
    app = Recorder()
    with in_memory(app) as (server, connect):
        connection, transport = connect()
        connection.data_received(GET * 2000)
        answered = len(app.seen)
        server.stop()  # (as a signal handler does: the loop hears of it later)
        run_out(server, connection)
        assert len(app.seen) == answered < 2000 and transport.closed


def test_a_half_closed_client_gets_every_answer_then_the_connection_closes():
    app = Recorder()
    with in_memory(app) as (server, connect):
        connection, transport = connect()
        connection.data_received(GET * 40 + b"GET /half-sent HTTP/1.1\r\n")
        assert connection.eof_received() is True  # the transport stays open for the answers
        assert not transport.closed
        run_out(server, connection)
    assert statuses(bytes(transport.written)) == [200] * 40 and transport.closed
    assert connection.gone is False  # half-closed is not gone


def test_answers_pause_while_the_client_does_not_read_and_reading_pauses_too():
    app = Recorder()
    with in_memory(app) as (server, connect):
        connection, transport = connect()
        connection.pause_writing()  # (the transport's buffer is over its high-water mark)
        connection.data_received(GET * 10_000)  # 400 KB of requests
        assert app.seen == [] and not transport.reading  # nothing answered, nothing more read
        connection.resume_writing()
        run_out(server, connection)
        assert len(app.seen) == 10_000 and transport.reading


def test_beyond_the_connection_cap_a_connection_is_closed_at_once(caplog):
    with in_memory(Recorder(), max_connections=2) as (server, connect):
        kept = [connect() for _ in range(2)]
        for _ in range(5):
            _, refused = connect()
            assert refused.closed
        assert all(not transport.closed for _, transport in kept) and len(server.connections) == 2
    assert len([record for record in caplog.records if "connections open" in record.getMessage()]) == 1


def test_running_out_of_descriptors_is_said_once_not_at_every_try(caplog):
    import errno

    with in_memory(Recorder()) as (server, _):
        for _ in range(100):
            server.loop.call_exception_handler({"message": "socket.accept() out of system resource",
                                                "exception": OSError(errno.EMFILE, "Too many open files")})
    assert len([record for record in caplog.records if "cannot accept" in record.getMessage()]) == 1


def test_a_head_answer_has_the_content_length_of_the_get():
    def app(environ, start_response):  # the GET's body for a HEAD too; a Content-Length only on /told
        told = [("Content-Length", "12")] if environ["PATH_INFO"] == "/told" else []
        start_response("200 OK", [("Content-Type", "text/plain"), *told])
        return [] if told and environ["REQUEST_METHOD"] == "HEAD" else [b"GET /abc 0\r\n"]

    with in_memory(app) as (server, connect):
        connection, transport = connect()
        connection.data_received(b"GET /abc HTTP/1.1\r\n\r\nHEAD /abc HTTP/1.1\r\n\r\nHEAD /told HTTP/1.1\r\n\r\n")
        run_out(server, connection)
    get, head, told = bytes(transport.written).split(b"HTTP/1.1 ")[1:]
    assert b"Content-Length: 12\r\n" in get and get.endswith(b"GET /abc 0\r\n")
    for answer in (head, told):
        assert b"Content-Length: 12\r\n" in answer and answer.endswith(b"\r\n\r\n")


def head_of(size: int) -> bytes:
    """A request whose head (request line to the empty line, included) is `size` bytes."""
    start = b"GET /h HTTP/1.1\r\nX-Pad: "
    return start + b"p" * (size - len(start) - 4) + b"\r\n\r\n"


@pytest.mark.parametrize("piece", [None, 1000, 7])
@pytest.mark.parametrize(("size", "expected"), [(262_144, [200]), (262_145, [431])])
def test_a_head_of_the_limit_is_read_and_one_byte_more_is_a_431_however_it_comes(size, expected, piece):
    from mockserver.httpserver import MAX_HEAD

    assert MAX_HEAD == 262_144
    data = head_of(size)
    assert len(data) == size
    app = Recorder()
    with in_memory(app) as (server, connect):
        connection, transport = connect()
        for start in range(0, len(data), piece or len(data)):
            connection.data_received(data[start:start + (piece or len(data))])
            if transport.closed:
                break
        run_out(server, connection)
    assert statuses(bytes(transport.written)) == expected
    assert transport.closed == (expected == [431])


@pytest.mark.parametrize("header", [("X-Bad", "a\r\nSet-Cookie: x=1"), ("X Bad", "v"), ("X-Bad", "a\nb"),
                                    ("X-Bad:", "v"), ("X-Bad", "\u20ac")])
def test_an_answer_with_a_bad_header_is_a_500_never_a_split_header(header, caplog):
    def app(environ, start_response):
        start_response("200 OK", [header, ("Content-Length", "2")])
        return [b"ok"]

    with in_memory(app) as (server, connect):
        connection, transport = connect()
        connection.data_received(GET)
        run_out(server, connection)
    assert statuses(bytes(transport.written)) == [500] and b"Set-Cookie" not in transport.written
    assert transport.closed and any("cannot be sent" in record.getMessage() for record in caplog.records)


def test_a_health_check_is_answered_while_another_client_abuses_the_server():
    """Two connections on one loop: each abuse spans turns, and the second connection's health
    check is answered before the abusive one is through."""
    abuses = {
        "one-byte chunks": b"POST /abuse HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1\r\nx\r\n" * 200_000
                           + b"0\r\n\r\n",
        "pipelining": b"GET /abuse HTTP/1.1\r\n\r\n" * 8_000,
        "a huge head": b"GET /abuse HTTP/1.1\r\n" + b"X-A: b\r\n" * 40_000,
        "a big body": b"POST /abuse HTTP/1.1\r\nContent-Length: 4000000\r\n\r\n" + b"x" * 4_000_000,
        "pipelining without reading": b"GET /abuse HTTP/1.1\r\n\r\n" * 8_000,
    }
    for name, data in abuses.items():
        app = Recorder()
        with in_memory(app) as (server, connect):
            abuser, _ = connect()
            checker, checked = connect()
            if name.endswith("without reading"):
                abuser.pause_writing()  # (its transport's buffer is full: it does not read)
            abuser.data_received(data)
            checker.data_received(GET)
            turn(server)
            assert statuses(bytes(checked.written)) == [200], name
            assert abuser.scheduled or abuser.closing or abuser.paused, name  # still at it (or refused: the head)
            assert len([path for _, path, _, _ in app.seen if path == "/abuse"]) < 8_000, name
            abuser.resume_writing()
            run_out(server, abuser)


# --- over real sockets: half-close, and stopping with answers in flight ---------------------------

def test_a_half_closed_client_gets_the_answer_of_a_held_request():
    release = threading.Event()

    def app(environ, start_response):
        release.wait(5)
        return echo(environ, start_response)

    with serving(app, may_wait=lambda environ: True) as server, \
            socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(b"GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        raw = b""
        while b"100 Continue\r\n\r\n" not in raw:  # whether the client left or half-closed, asked by a write
            raw += sock.recv(65536)
        release.set()
        while chunk := sock.recv(65536):
            raw += chunk
    assert statuses(raw) == [100, 200] and raw.endswith(b"GET /held \r\n")


def test_stopping_lets_a_held_answer_finish_then_closes(caplog):
    held, release = threading.Event(), threading.Event()

    def app(environ, start_response):
        held.set()
        release.wait(5)
        return echo(environ, start_response)

    with serving(app, may_wait=lambda environ: environ["PATH_INFO"] == "/held") as server, \
            socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(b"GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
        assert held.wait(5)
        server.stop()
        with pytest.raises(OSError):  # no longer accepting (once the loop has seen the stop)
            for _ in range(500):
                socket.create_connection(address(server), timeout=1).close()
                time.sleep(0.01)
        release.set()
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    assert statuses(raw) == [200] and b"Connection: close" in raw and raw.endswith(b"GET /held \r\n")
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.mark.parametrize("abuse", ["pipelining", "one-byte chunks"])
def test_over_sockets_a_health_check_is_answered_while_another_client_abuses(abuse):
    """The abuser's first request sends the health check of a second connection (so it is in the
    kernel from then on); the health check is answered before the abuser's last request runs."""
    events: list[str] = []
    checker: socket.socket

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        events.append(path)
        if path == "/first":
            checker.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        return echo(environ, start_response)

    if abuse == "pipelining":
        data = b"GET /first HTTP/1.1\r\n\r\n" + b"GET /abuse HTTP/1.1\r\n\r\n" * 8_000
    else:
        data = (b"GET /first HTTP/1.1\r\n\r\nPOST /abuse HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"1\r\nx\r\n" * 200_000 + b"0\r\n\r\n")
    with serving(app) as server:
        checker = socket.create_connection(address(server), timeout=10)
        with checker, socket.create_connection(address(server), timeout=10) as abuser:
            checker.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
            read_answers(checker, 1)  # (the checker's connection is accepted)

            def send() -> None:
                with contextlib.suppress(OSError):  # (closed by the test once it has seen the answer)
                    abuser.sendall(data)

            sender = threading.Thread(target=send)
            sender.start()
            assert read_answers(checker, 1)[0].endswith(b"GET /health \r\n")
            at_health = events[:events.index("/health")].count("/abuse")
            assert at_health < (8_000 if abuse == "pipelining" else 1)  # the abuse was still going on
            abuser.shutdown(socket.SHUT_RDWR)
        sender.join(10)
