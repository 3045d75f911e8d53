"""What `mockserver serve` prints: the banner, a line per request (text or JSON), `--quiet`, colour
only on a terminal; and the log's queue, which drops (and says so) rather than hold a request."""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from mockserver.accesslog import AccessLog
from mockserver.app import create_app
from tests.helpers import AMP, AP, ORG, cli_server

TIMEOUT = 10
ESC = "\x1b"
# `HH:MM:SS.mmm api method path operationId status Nms[  reason]`
LINE = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) +(\S+) +(\S+) +(\S+) (\S+) (\S+) ([\d.]+)ms(?:  (.*))?$")
REQUEST_KEYS = {"event", "time", "api", "method", "path", "operationId", "status", "ms", "field", "reason", "issues",
                "warnings", "dropped", "control"}


def fields(line: str) -> dict:
    found = LINE.match(line)
    assert found, line
    names = ("time", "api", "method", "path", "operationId", "status", "ms", "tail")
    return dict(zip(names, found.groups(), strict=True))


def test_banner_lists_every_api_with_its_url_and_profile_and_the_page(tmp_path):
    spec = tmp_path / "shop.yaml"
    spec.write_text(SHOP)
    with cli_server("--spec", f"shop={spec}", "--profile", "activepieces=latest") as (process, url):
        assert process.ready_line == f"mockserver listening on {url}"  # what scripts wait for, unchanged
        page = process.printed.wait_for(lambda line: line.strip().startswith("page"))
        shown = process.printed.lines[:process.printed.lines.index(page) + 1]
        vendors = requests.get(f"{url}/__mock/health", timeout=TIMEOUT).json()["vendors"]
        health = {vendor["name"]: vendor for vendor in vendors}
    rows = {line.split()[0]: line for line in shown}
    assert {name: line.split()[1] for name, line in rows.items()} == \
           {"activepieces": f"{url}/api", "ampersand": url, "shop": f"{url}/shop", "page": f"{url}/__mock/"}
    assert rows["activepieces"].endswith("(profile latest, 5 operations)")
    assert rows["ampersand"].endswith(f"(profile {health['ampersand']['profile']}, 4 operations)")  # its default
    assert rows["shop"].endswith("(spec 3.2.1, 1 operation)")  # a document with no profiles: its version
    assert ESC not in "".join(shown)


def test_one_line_per_request_with_its_fields_and_a_rejection_says_field_and_reason():
    with cli_server() as (process, url):
        created = requests.post(f"{url}/v1/projects", headers=AMP, timeout=TIMEOUT,
                                json={"appName": "App", "name": "good-name", "orgId": ORG})
        rejected = requests.post(f"{url}/v1/projects", headers=AMP, timeout=TIMEOUT,
                                 json={"appName": "App", "name": "bad name!", "orgId": ORG})
        refused = requests.post(f"{url}/api/v1/projects", headers={"Authorization": "Bearer nope"},
                                json={"displayName": "A"}, timeout=TIMEOUT)
        unrouted = requests.get(f"{url}/nowhere", timeout=TIMEOUT)
        assert (created.status_code, rejected.status_code, refused.status_code, unrouted.status_code) == \
               (201, 422, 401, 404)
        process.printed.wait_for(lambda line: "/nowhere" in line)
        lines = [fields(line) for line in process.printed.lines if LINE.match(line)]
    assert [(f["api"], f["method"], f["path"], f["operationId"], f["status"]) for f in lines] == [
        ("ampersand", "POST", "/v1/projects", "createProject", "201"),
        ("ampersand", "POST", "/v1/projects", "createProject", "422"),
        ("activepieces", "POST", "/api/v1/projects", "createProject", "401"),
        ("-", "GET", "/nowhere", "-", "404"),
    ]
    assert lines[0]["tail"] is None and float(lines[0]["ms"]) >= 0
    assert lines[1]["tail"] == "name: 'bad name!' does not match '^[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]$'"
    assert "credential" in lines[2]["tail"] and lines[3]["tail"] == "no route for GET /nowhere"


def test_warnings_faults_and_control_changes_are_shown_as_such():
    with cli_server() as (process, url):
        requests.post(f"{url}/api/v1/projects", headers=AP, json={"displayName": "A", "colour": "red"},
                      timeout=TIMEOUT)
        with contextlib.suppress(requests.ConnectionError):
            requests.get(f"{url}/v1/projects", headers={**AMP, "Prefer": "fault=drop"}, timeout=TIMEOUT)
        requests.get(f"{url}/v1/projects/", headers={**AMP, "Prefer": "code=503"}, timeout=TIMEOUT)
        assert requests.get(f"{url}/__mock/health", timeout=TIMEOUT).status_code == 200
        assert requests.get(f"{url}/__mock/requests", timeout=TIMEOUT).status_code == 200
        assert requests.post(f"{url}/__mock/reset", json={}, timeout=TIMEOUT).status_code < 300
        reset = fields(process.printed.wait_for(lambda line: "/__mock/reset" in line))
        printed = process.printed.lines
    by_path = {f["path"]: f for f in map(fields, filter(LINE.match, printed))}
    created, dropped, injected = by_path["/api/v1/projects"], by_path["/v1/projects"], by_path["/v1/projects/"]
    assert created["status"] == "201" and created["tail"] == "warning: unknown field 'colour' dropped"
    assert (dropped["operationId"], dropped["status"]) == ("listProjects", "drop")
    assert (injected["status"], injected["tail"]) == ("503", "injected 503")
    assert (reset["api"], reset["method"]) == ("mock", "POST")
    assert not [line for line in printed if "/__mock/health" in line or "/__mock/requests" in line]  # reads: not logged


def test_credentials_are_masked_and_control_characters_escaped():
    secret = "key-very-secret-7"
    with cli_server() as (process, url):
        requests.get(f"{url}/v1/projects/{secret}", headers={"X-Api-Key": secret}, timeout=TIMEOUT)
        requests.get(f"{url}/v1/projects/%1b[2Jgone%c2%9b", headers=AMP, timeout=TIMEOUT)
        line = process.printed.wait_for(lambda text: "gone" in text)
        printed = "\n".join(process.printed.lines)
    assert secret not in printed and "/v1/projects/key-" in printed
    assert ESC not in printed and "\x9b" not in printed and "\\x1b[2Jgone\\x9b" in line


def test_the_last_lines_are_written_when_the_server_stops():
    with cli_server() as (process, url):
        for number in range(20):
            requests.get(f"{url}/v1/projects/p{number}", headers=AMP, timeout=TIMEOUT)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0
        printed = process.printed.ended()
    assert [line for line in printed if "/v1/projects/p" in line][-1].split()[3] == "/v1/projects/p19"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_quiet_prints_the_ready_line_only(log_format):
    with cli_server("--quiet", "--log-format", log_format) as (process, url):
        assert requests.post(f"{url}/v1/projects", headers=AMP, json={"name": "x"}, timeout=TIMEOUT).status_code == 422
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0
        assert process.printed.ended() == []
    if log_format == "text":
        assert process.ready_line == f"mockserver listening on {url}"
    else:
        assert json.loads(process.ready_line)["event"] == "listening"


def test_json_log_is_one_object_per_line_with_stable_keys():
    with cli_server("--log-format", "json") as (process, url):
        start = json.loads(process.ready_line)
        requests.post(f"{url}/v1/projects", headers=AMP, json={"appName": "App", "name": "x", "orgId": ORG},
                      timeout=TIMEOUT)
        requests.post(f"{url}/api/v1/projects", headers=AP, json={"displayName": "A"}, timeout=TIMEOUT)
        requests.delete(f"{url}/__mock/faults", timeout=TIMEOUT)
        health = requests.get(f"{url}/__mock/health", timeout=TIMEOUT).json()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0
        objects = [json.loads(line) for line in process.printed.ended()]  # every line parses
    assert start["event"] == "listening" and start["url"] == url and start["page"] == f"{url}/__mock/"
    assert [(api["name"], api["url"]) for api in start["apis"]] == [("activepieces", f"{url}/api"), ("ampersand", url)]
    assert {api["name"]: api["profile"] for api in start["apis"]} == {
        vendor["name"]: vendor["profile"] for vendor in health["vendors"]}
    assert [set(o) for o in objects] == [REQUEST_KEYS] * 3
    rejected, created, control = objects
    assert (rejected["api"], rejected["operationId"], rejected["status"], rejected["field"]) == \
           ("ampersand", "createProject", 422, "name")
    assert rejected["reason"] == "'x' is too short" and len(rejected["issues"]) == 2
    assert (created["api"], created["status"], created["reason"], created["control"]) == \
           ("activepieces", 201, None, False)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created["time"]) and created["ms"] >= 0
    assert (control["path"], control["control"], control["api"]) == ("/__mock/faults", True, None)


# --- colour: on a terminal only ------------------------------------------------------------------

def _on_a_terminal(env: dict) -> str:
    """Start the CLI with a pseudo-terminal as stdout, make a request, return what it printed."""
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", "0"], stdout=follower,
                               stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1", **env})
    os.close(follower)
    text, requested = "", False
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "/v1/projects" not in text:
            if select.select([leader], [], [], 0.1)[0]:
                text += os.read(leader, 65536).decode(errors="replace")
            found = re.search(r"listening on (http://\S+)", text)
            if found and "page" in text and not requested:
                requests.post(f"{found.group(1)}/v1/projects", headers=AMP, json={"name": "x"}, timeout=TIMEOUT)
                requested = True
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=TIMEOUT)
        os.close(leader)
    assert "/v1/projects" in text, text
    return text


def test_colour_on_a_terminal_and_none_with_no_color():
    coloured = _on_a_terminal({"NO_COLOR": "", "TERM": "xterm"})
    assert "\x1b[33m422\x1b[0m" in coloured  # a 4xx in yellow
    plain = _on_a_terminal({"NO_COLOR": "1", "TERM": "xterm"})
    assert ESC not in plain and " 422 " in plain


# --- the queue: never holds a request, drops and says so -------------------------------------------

def _exchanges(count: int) -> list:
    app = create_app()
    seen = []
    app.extensions["mockserver"].observers.append(seen.append)
    client = app.test_client()
    for number in range(count):
        client.get(f"/v1/projects/p{number}", headers=AMP)
    return app, seen


def test_a_blocked_output_drops_lines_and_counts_them():
    app, seen = _exchanges(5)
    release, written = threading.Event(), []

    def slow(data: bytes) -> None:  # a terminal that stops reading
        release.wait(TIMEOUT)
        written.append(data.decode())

    log = AccessLog(slow, app.extensions["mockserver"].mounts, capacity=3, interval=0.01)
    log.start()
    log.observe(seen[0])
    deadline = time.monotonic() + TIMEOUT
    while log._queue and time.monotonic() < deadline:  # the writer took the first line, and blocks
        time.sleep(0.01)
    for exchange in seen[1:]:
        log.observe(exchange)  # returns at once: the queue takes 3, the 4th is dropped
    assert log.dropped == 1
    release.set()
    log.close(timeout=TIMEOUT)
    text = "".join(written)
    assert [line.split()[3] for line in text.splitlines() if LINE.match(line)] == \
           ["/v1/projects/p0", "/v1/projects/p1", "/v1/projects/p2", "/v1/projects/p3"]
    assert "mockserver: 1 request line dropped: the output did not keep up" in text


def test_a_closed_output_stops_the_log_not_the_server():
    app, seen = _exchanges(2)

    def gone(data: bytes) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    log = AccessLog(gone, app.extensions["mockserver"].mounts, interval=0.01)
    log.start()
    log.observe(seen[0])
    log._thread.join(TIMEOUT)
    assert not log._thread.is_alive()  # the writer ended quietly
    log.observe(seen[1])  # and what comes after is counted, not queued
    assert not log._queue and log.dropped == 1
    log.close()


SHOP = """\
openapi: 3.1.0
info: {title: Shop, version: 3.2.1}
servers: [{url: /shop}]
paths:
  /things:
    get:
      operationId: listThings
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {type: array, items: {type: object}}
"""


def test_the_readme_shows_what_the_terminal_shows():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("### Terminal output"):]
    shown = section[section.index("```text\n") + 8:section.index("```", section.index("```text\n") + 8)]
    with cli_server() as (process, url):
        requests.post(f"{url}/api/v1/projects/", headers=AP, json={"displayName": "Acme", "externalId": "acme-1"},
                      timeout=TIMEOUT)
        requests.post(f"{url}/v1/projects", headers=AMP, timeout=TIMEOUT,
                      json={"appName": "MailMonkey", "name": "-staging", "orgId": ORG})
        requests.get(f"{url}/api/v1/projects", headers={"Authorization": "Bearer wrong"}, timeout=TIMEOUT)
        requests.post(f"{url}/__mock/reset", timeout=TIMEOUT)
        process.printed.wait_for(lambda line: "/__mock/reset" in line)
        printed = [process.ready_line, *process.printed.lines]

    def same(text: str) -> str:
        text = re.sub(r"^\d\d:\d\d:\d\d\.\d{3} ", "T ", text.replace(url, "http://127.0.0.1:4010"), flags=re.M)
        return re.sub(r" [\d.]+ms", " Nms", text)

    assert same("\n".join(printed)) == same(shown.rstrip("\n"))


def test_a_waiting_line_holds_no_body_and_no_long_text():
    app = create_app()
    seen = []
    app.extensions["mockserver"].observers.append(seen.append)
    big = "b" * 200_000
    app.test_client().post("/v1/projects", headers=AMP, json={"appName": big, "name": "x", "orgId": ORG})
    log = AccessLog(lambda data: None, app.extensions["mockserver"].mounts)
    log.observe(seen[0])

    def parts(value):
        if isinstance(value, (tuple, list)):
            for item in value:
                yield from parts(item)
        else:
            yield value

    held = list(parts(log._queue[0]))
    assert not [value for value in held if not isinstance(value, (str, int, float, bool, type(None)))]
    assert sum(len(value) for value in held if isinstance(value, str)) < 10_000  # the 200 KB value is not kept
