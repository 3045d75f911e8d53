"""What the tests share: credentials of one tenant per vendor, a vendor's API through the Flask test
client, the real CLI (`python -m mockserver serve`) on a free port for end-to-end tests, and raw
bytes over a socket."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

AP = {"Authorization": "Bearer sk-test"}  # one Activepieces platform
AMP = {"X-Api-Key": "key-1"}  # one Ampersand tenant
ORG = "9f7c3e2a-61b8-4f5c-8d1a-eb24f3b05d79"


@contextlib.contextmanager
def cli_server(*args: str, timeout: float = 20.0):
    """Yield (process, base_url); stop with SIGTERM and wait for a clean exit."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = _first_line(process, timeout)
        assert line.startswith("mockserver listening on http://"), line
        yield process, line.rsplit(" ", 1)[-1]
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()
        process.stderr.close()


def _first_line(process: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.1):
                return process.stdout.readline().strip()
            if process.poll() is not None:
                raise AssertionError(f"server exited {process.returncode}: {process.stderr.read()}")
    raise AssertionError("server did not print its address in time")


class VendorApi:
    """One vendor's API through the Flask test client; a subclass sets `base` and `headers`."""

    base = ""
    headers: dict = {}

    def __init__(self, client):
        self.client = client

    def send(self, method, path="", body=None, headers=None, **kwargs):
        if body is not None:
            kwargs["json"] = body
        headers = self.headers if headers is None else headers
        response = self.client.open(self.base + path, method=method, headers=headers, **kwargs)
        assert response.status_code < 500, response.get_data(as_text=True)
        return response


def raw_exchange(host: str, port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes, read until the server closes the connection (a TimeoutError fails the test)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def statuses(raw: bytes) -> list[int]:
    """The status of every answer in raw bytes read from a connection."""
    return [int(line.split(b" ")[1]) for line in raw.split(b"\r\n") if line.startswith(b"HTTP/1.")]

