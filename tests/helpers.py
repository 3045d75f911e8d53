"""What the tests share: credentials of one tenant per vendor, a vendor's API through the Flask test
client, the real CLI (`python -m mockserver serve`) on a free port for end-to-end tests, and raw
bytes over a socket."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

AP = {"Authorization": "Bearer sk-test"}  # one Activepieces platform
AMP = {"X-Api-Key": "key-1"}  # one Ampersand tenant
ORG = "9f7c3e2a-61b8-4f5c-8d1a-eb24f3b05d79"


class Printed:
    """What a server printed on stdout after its ready line, read as it comes (so the pipe never
    fills): `lines`, and `wait_for(test)` for the first line that passes."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._ended = False
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        with contextlib.suppress(ValueError, OSError):
            for line in stream:
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_for(self, test, timeout: float = 10.0) -> str:
        def first() -> str | None:
            return next((line for line in self.lines if test(line)), None)

        with self._changed:
            self._changed.wait_for(lambda: first() is not None or self._ended, timeout)
            line = first()
        assert line is not None, f"no such line printed: {self.lines}"
        return line

    def ended(self, timeout: float = 10.0) -> list[str]:
        """Every line, once the output has ended (the server stopped)."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the server's output did not end"
        return self.lines


@contextlib.contextmanager
def cli_server(*args: str, timeout: float = 20.0, runner: tuple[str, ...] = ("-m", "mockserver")):
    """Yield (process, base_url); stop with SIGTERM and wait for a clean exit. What the server prints
    after its ready line (`--log-format json`: a JSON object with the `url`) is `process.printed`.
    `runner`: how Python runs the CLI (a `-c` script that calls `mockserver.cli.main` may watch it)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, *runner, "serve", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = _first_line(process, timeout)
        if line.startswith("{"):
            url = json.loads(line)["url"]
        else:
            assert line.startswith("mockserver listening on http://"), line
            url = line.rsplit(" ", 1)[-1]
        process.ready_line = line
        process.printed = Printed(process.stdout)
        yield process, url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if getattr(process, "printed", None) is not None:
            process.printed.ended(timeout)
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

