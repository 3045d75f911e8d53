"""HTTP at the edge, over raw sockets against the real server: ambiguous framing is refused
and the connection closed, absurd headers are a 400 without a traceback, slow clients do not slow
anyone else, and raw paths cannot climb out of the served specs."""

from __future__ import annotations

import logging
import socket

import pytest
import requests

import mockserver
from tests.helpers import raw_exchange, statuses

AP_BODY = b'{"displayName":"Acme"}'


@pytest.fixture(scope="module")
def server():
    with mockserver.run() as running:
        yield running


def exchange(server, data: bytes, timeout: float = 5.0) -> bytes:
    return raw_exchange(server.host, server.port, data, timeout)


SMUGGLED = (b"GET /__mock/health HTTP/1.1\r\nHost: localhost\r\n\r\n")


@pytest.mark.parametrize("framing", [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 30\r\n",
])
def test_content_length_with_transfer_encoding_is_a_400_and_the_connection_closes(server, framing, caplog):
    server.reset()
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(AP_BODY), AP_BODY)
    request = (b"POST /api/v1/projects HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer sk-test\r\n"
               b"Content-Type: application/json\r\n" + framing + b"\r\n" + body + SMUGGLED)
    raw = exchange(server, request)  # returns only because the server closed the connection
    assert statuses(raw) == [400], raw[:300]
    assert server.state() == []  # nothing created, and the smuggled request was never answered
    assert server.requests() == []


def test_a_content_length_of_5000_digits_is_a_400_without_a_traceback(server, caplog):
    caplog.set_level(logging.DEBUG)
    request = (b"POST /api/v1/projects HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer sk-test\r\n"
               b"Content-Type: application/json\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n" + AP_BODY)
    raw = exchange(server, request)
    assert statuses(raw) == [400], raw[:300]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text[:2000]
    assert requests.get(f"{server.url}/__mock/health", timeout=5).status_code == 200


def test_chunked_alone_and_content_length_alone_still_work(server):
    server.reset()
    head = (b"POST /api/v1/projects HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer sk-test\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n")
    chunked = head + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(AP_BODY), AP_BODY)
    assert statuses(exchange(server, chunked)) == [201]
    plain = head + b"Content-Length: %d\r\n\r\n%s" % (len(AP_BODY), AP_BODY)
    assert statuses(exchange(server, plain)) == [201]


@pytest.mark.parametrize("path", [b"/__mock/openapi/../../pyproject.toml", b"/__mock/openapi/..%2F..%2Fpyproject.toml",
                                  b"/__mock/openapi/%2e%2e/%2e%2e/mockserver/cli.py", b"/__mock/../pyproject.toml",
                                  b"/__mock/openapi/activepieces.yaml/../../../etc/passwd"])
def test_path_traversal_over_the_wire_reaches_no_file(server, path):
    raw = exchange(server, b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    assert statuses(raw)[0] in (400, 404), raw[:300]
    assert b"[project]" not in raw and b"root:" not in raw and b"import " not in raw


def test_fifty_slowloris_connections_do_not_keep_a_normal_client_waiting(server):
    """Each sends half a request and stays; the server's loop reads them as they come, so nothing
    waits on them, and every normal request is answered while they hang."""
    slow = []
    try:
        for _ in range(50):
            sock = socket.create_connection((server.host, server.port), timeout=5)
            sock.sendall(b"POST /api/v1/projects HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{")
            slow.append(sock)
        with requests.Session() as session:
            for index in range(20):
                response = session.post(f"{server.activepieces_url}/v1/projects", timeout=5,
                                        headers={"Authorization": "Bearer sk-normal"},
                                        json={"displayName": f"p{index}"})
                assert response.status_code == 201
            assert session.get(f"{server.url}/__mock/health", timeout=5).status_code == 200
    finally:
        for sock in slow:
            sock.close()


def test_sigterm_lets_a_delayed_answer_finish_and_exits_without_a_traceback():
    """A request held by a delay when SIGTERM comes is still answered (the drain waits up to 5 s),
    then the process exits 0; nothing of `Event loop is closed` in its log."""
    import signal

    from tests.helpers import cli_server

    with cli_server() as (process, base_url):
        host, port = base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"GET /__mock/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            body = b'{"displayName":"Acme"}'
            sock.sendall(b"POST /api/v1/projects HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer sk-test\r\n"
                         b"Content-Type: application/json\r\nPrefer: delay=1500\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))
            # the delay holds it on a worker thread; SIGTERM while it does (a health check on another
            # connection is answered first: the loop has turned since the request came, so it is read)
            assert statuses(raw_exchange(host, int(port), b"GET /__mock/health HTTP/1.0\r\n\r\n")) == [200]
            process.send_signal(signal.SIGTERM)
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        assert statuses(raw) == [201] and b"Connection: close" in raw
        assert process.wait(timeout=15) == 0
        errors = process.stderr.read()
    assert "Traceback" not in errors and "Event loop is closed" not in errors, errors
