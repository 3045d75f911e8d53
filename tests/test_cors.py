"""CORS: browser apps on another origin can use both vendors, as the real services let them
(Activepieces registers `cors({origin: '*'})`; Ampersand's React library calls its API from the
browser). Preflights on vendor paths are answered; every vendor answer, errors included, is readable
cross-origin; the control API and the page stay same-origin; `--no-cors` turns it off."""

from __future__ import annotations

import contextlib
import http.server
import threading

import pytest
import requests

from mockserver import Settings, create_app
from mockserver.cli import parser, settings_from
from tests.helpers import AMP, AP, ORG, cli_server
from tests.test_ui_browser import browser_page, browser_ready  # noqa: F401 (a fixture)

ORIGIN = "http://127.0.0.1:8123"
READABLE = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "*"}


def preflight(client, path, method, headers="content-type, authorization"):
    asked = {"Origin": ORIGIN, "Access-Control-Request-Method": method}
    if headers:
        asked["Access-Control-Request-Headers"] = headers
    return client.options(path, headers=asked)


@pytest.fixture
def journaled(app):
    seen = []
    app.extensions["mockserver"].observers.append(seen.append)
    return seen


@pytest.mark.parametrize(("path", "methods"), [
    ("/api/v1/projects", "GET, HEAD, POST"),
    ("/api/v1/projects/", "GET, HEAD, POST"),
    ("/api/v1/projects/abc", "DELETE, GET, HEAD, POST"),
    ("/v1/projects", "GET, HEAD, POST"),
    ("/v1/projects/abc/", "GET, HEAD, PATCH"),
])
def test_a_preflight_on_a_vendor_route_is_a_204_naming_the_paths_methods(client, journaled, path, methods):
    response = preflight(client, path, "POST", "content-type, x-api-key, x-amp-client")
    assert response.status_code == 204 and response.get_data() == b""
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == methods
    assert response.headers["Access-Control-Allow-Headers"] == "content-type, x-api-key, x-amp-client"
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert journaled == []  # the browser's question, not the client's request


def test_a_preflight_needs_no_credential_and_asks_for_no_headers(client):
    response = preflight(client, "/v1/projects", "GET", headers=None)
    assert response.status_code == 204 and "Access-Control-Allow-Headers" not in response.headers


@pytest.mark.parametrize("headers", [{}, {"Origin": ORIGIN}, {"Access-Control-Request-Method": "GET"}])
def test_an_options_that_is_no_preflight_keeps_the_vendors_405(client, headers):
    for path, allow in (("/api/v1/projects", "GET, POST"), ("/v1/projects/ab", "GET, PATCH")):
        response = client.options(path, headers={**AP, **AMP, **headers})
        assert response.status_code == 405 and response.headers["Allow"] == allow
        assert response.headers["Access-Control-Allow-Origin"] == "*"  # an answer like any other


def test_every_vendor_answer_errors_included_is_readable_cross_origin(client, journaled):
    origin = {"Origin": ORIGIN}
    made = client.post("/api/v1/projects", json={"displayName": "Acme"}, headers={**AP, **origin})
    answers = [
        made,
        client.get(f"/api/v1/projects/{made.get_json()['id']}", headers={**AP, **origin}),
        client.delete(f"/api/v1/projects/{made.get_json()['id']}", headers={**AP, **origin}),
        client.post("/api/v1/projects", json={"displayName": {}}, headers={**AP, **origin}),
        client.get("/api/v1/projects", headers=origin),
        client.get("/api/v1/projects/nope", headers={**AP, **origin}),
        client.get("/api/v1/nowhere", headers=origin),
        client.put("/api/v1/projects", headers={**AP, **origin}),
        client.post("/api/v1/projects", data="x", content_type="text/plain", headers={**AP, **origin}),
        client.post("/v1/projects", json={"appName": "A", "name": "ab", "orgId": ORG}, headers={**AMP, **origin}),
        client.post("/v1/projects", json={"appName": "A", "name": "-", "orgId": ORG}, headers={**AMP, **origin}),
        client.get("/v1/projects", headers=origin),
        client.get("/v1/nowhere", headers=origin),
        client.get("/v1/projects", headers={**AMP, **origin, "Prefer": "code=503"}),
        client.get("/v1/projects", headers={**AMP, **origin, "Prefer": "code=999"}),  # the mock's own 400
        client.get("/v1/projects", headers=AMP),  # no Origin: the same headers (they never vary)
    ]
    statuses = [answer.status_code for answer in answers]
    assert statuses == [201, 200, 204, 400, 401, 404, 404, 405, 415, 201, 422, 401, 404, 503, 400, 200]
    for answer in answers:
        assert {name: answer.headers.get(name) for name in READABLE} == READABLE, answer.status


def test_the_control_api_and_the_page_stay_same_origin(client):
    for path in ("/__mock/health", "/__mock/requests", "/__mock/state", "/__mock/", "/__mock/openapi/ampersand.yaml"):
        response = client.get(path)
        assert response.status_code == 200
        assert not [name for name in response.headers.keys() if name.lower().startswith("access-control-")], path
        asked = preflight(client, path, "GET")
        assert asked.status_code != 204
        assert not [name for name in asked.headers.keys() if name.lower().startswith("access-control-")], path
    assert "Access-Control-Allow-Origin" not in client.get("/nowhere").headers


def test_without_cors_nothing_is_added_and_options_is_a_405():
    client = create_app(Settings(cors=False)).test_client()
    response = preflight(client, "/v1/projects", "POST")
    assert response.status_code == 405 and response.headers["Allow"] == "GET, POST"
    for answer in (response, client.get("/v1/projects", headers=AMP), client.get("/api/v1/projects"),
                   client.get("/api/v1/nowhere")):
        assert not [name for name in answer.headers.keys() if name.lower().startswith("access-control-")]


def test_no_cors_on_the_command_line():
    assert settings_from(parser().parse_args(["serve"])).cors is True
    assert settings_from(parser().parse_args(["serve", "--no-cors"])).cors is False


# --- in a real browser: a page of another origin (a second loopback port) calls both vendors ---------

PAGE = b"<!doctype html><title>another origin</title><p>a page that is not the mock</p>"
CALLS = """async (base) => {
    const call = async (path, init) => {
        try {
            const response = await fetch(base + path, init);
            return {status: response.status, type: response.headers.get("content-type"), body: await response.text()};
        } catch (error) {
            return {blocked: String(error)};
        }
    };
    return [
        await call("/api/v1/projects", {method: "POST", headers: {"Authorization": "Bearer sk-from-a-page",
            "Content-Type": "application/json"}, body: JSON.stringify({displayName: "From a page"})}),
        await call("/v1/projects", {method: "POST", headers: {"X-Api-Key": "key-page",
            "Content-Type": "application/json"}, body: JSON.stringify({appName: "A", name: "-bad-", orgId: "o"})}),
        await call("/v1/projects", {method: "GET"}),
    ];
}"""


@contextlib.contextmanager
def another_origin():
    """A page served from a second loopback port: another origin than the mock's."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_page_of_another_origin_reads_a_201_and_4xx_bodies_in_a_real_browser(browser_ready, tmp_path):  # noqa: F811
    with another_origin() as origin, browser_page(tmp_path / "profile") as (page, seen), \
            cli_server() as (_, base), cli_server("--no-cors") as (_, closed):
        page.goto(origin + "/")
        assert page.evaluate("location.origin") == origin and origin != base

        created, invalid, refused = page.evaluate(CALLS, base)
        assert created["status"] == 201, created
        assert created["type"] == "application/json"
        assert '"displayName":"From a page"' in created["body"]
        assert (invalid["status"], invalid["type"]) == (422, "application/problem+json"), invalid
        assert "does not match pattern" in invalid["body"]
        assert (refused["status"], refused["type"]) == (401, "application/problem+json"), refused
        # the requests reached the mock as the browser sent them: preflights unjournaled
        journal = requests.get(base + "/__mock/requests", timeout=5).json()["requests"]
        assert [(entry["method"], entry["status"]) for entry in journal] == [("POST", 201), ("POST", 422), ("GET", 401)]
        assert journal[0]["headers"].get("Origin") == origin

        # with --no-cors the browser keeps every answer from the page
        assert all("blocked" in outcome for outcome in page.evaluate(CALLS, closed))
        assert seen.dialogs == []
