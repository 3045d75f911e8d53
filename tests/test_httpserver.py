"""The HTTP server core (mockserver/httpserver.py) over real sockets, with small WSGI apps: framing,
keep-alive and pipelining, the answer's head as waitress wrote it, held requests on worker threads
beside answers on the loop, drops, failures, and stopping."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.connection import CLIENT_GONE, DropConnection
from mockserver.httpserver import HttpServer
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


def read_answers(sock: socket.socket, count: int) -> list[bytes]:
    """`count` whole answers (head and Content-Length body) from a connection that stays open."""
    data, answers = b"", []
    while len(answers) < count:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end]
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
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
        head, empty, after = read_answers(sock, 3)
    assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n")
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


# --- the one-pass reading of plain requests agrees with waitress' parser ---------------------------

_TOKEN = st.one_of(st.sampled_from(["Host", "Content-Type", "X-Api-Key", "Prefer", "content-length", "A_B"]),
                   st.text(alphabet="!#$%&'*+-.^`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_",
                           min_size=1, max_size=12))
_VALUE = st.one_of(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=20),
                   st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=20))


def _parsed(request) -> dict:
    return {"command": request.command, "path": request.path, "query": request.query,
            "request_uri": request.request_uri, "version": request.version, "headers": request.headers,
            "connection_close": request.connection_close, "body": request.get_body_stream().read()}


@settings(max_examples=500, deadline=None)
@given(method=st.sampled_from(["GET", "POST", "get", "PATCH", "M-SEARCH"]),
       path=st.one_of(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=30),
                      st.text(alphabet=st.characters(min_codepoint=0x00, max_codepoint=0xff), max_size=30)),
       version=st.sampled_from(["1.1", "1.1", "1.0", "1.2", "2.0"]),
       fields=st.lists(st.tuples(_TOKEN, _VALUE), max_size=4),
       connection=st.sampled_from([None, "close", "keep-alive", "Keep-Alive", "upgrade"]),
       body=st.binary(max_size=40), length=st.sampled_from(["exact", "exact", "none", "short", "junk"]))
def test_a_plain_request_is_read_as_waitress_reads_it(method, path, version, fields, connection, body, length):
    from waitress.adjustments import Adjustments

    from mockserver.httpserver import _Parser, _quick

    head = [f"{method} /{path} HTTP/{version}"] + [f"{name}: {value}" for name, value in fields]
    if connection:
        head.append(f"Connection: {connection}")
    if length != "none":
        head.append("Content-Length: " + {"exact": str(len(body)), "short": str(len(body) + 5), "junk": "1x"}[length])
    data = "\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + (body if length != "none" else b"")
    quick = _quick(data, 1 << 20, 262144)
    if quick is None:
        return
    adj = Adjustments(max_request_body_size=1 << 20)
    parser, rest = _Parser(adj), data
    while rest and not parser.completed:
        rest = rest[parser.received(rest):]
    assert parser.completed and parser.error is None
    assert quick[1] == len(data) - len(rest)
    assert _parsed(quick[0]) == _parsed(parser)


def test_the_usual_request_takes_the_one_pass_reading():
    from mockserver.httpserver import _quick

    data = (b"POST /v1/projects?a=%20b HTTP/1.1\r\nHost: x\r\nX-Api-Key: k\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\n\r\n{}GET /next HTTP/1.1\r\n\r\n")
    request, consumed = _quick(data, 1 << 20, 262144)
    assert (request.command, request.path, request.query, request.body) == ("POST", "/v1/projects", "a=%20b", b"{}")
    assert data[consumed:] == b"GET /next HTTP/1.1\r\n\r\n"
    for odd in (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", b"GET //x HTTP/1.1\r\n\r\n",
                b"GET /x HTTP/1.1\r\napi_key: k\r\n\r\n", b"GET /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
                b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", b"GET /x#f HTTP/1.1\r\n\r\n"):
        assert _quick(odd, 1 << 20, 262144) is None, odd


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
