"""A web page the developer happens to visit while the mock runs must not change or read it: no
cross-site form or `no-cors` fetch reaches the control API, no cross-origin preflight is answered,
and a DNS-rebinding page (any Host but this machine's names) is refused on every route."""

from __future__ import annotations

import pytest
import requests

import mockserver
from mockserver import Settings, create_app
from mockserver.cli import parser, settings_from
from mockserver.guard import host_allowed, is_loopback_bind
from tests.helpers import AP

EVIL = "http://evil.example"


def ap_count(client) -> int:
    return len(client.get("/api/v1/projects", headers=AP).get_json()["data"])


@pytest.fixture
def seeded(client):
    assert client.post("/api/v1/projects", headers=AP, json={"displayName": "Acme"}).status_code == 201
    return client


# --- what a form or a no-cors fetch can send, without a preflight ---------------------------------

@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain",
                                          "multipart/form-data; boundary=x"])
@pytest.mark.parametrize("body", [b"", b"vendor=activepieces"])
def test_a_form_post_cannot_reset(seeded, content_type, body):
    response = seeded.post("/__mock/reset", data=body, headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert "application/json" in response.get_json()["message"]
    assert ap_count(seeded) == 1


@pytest.mark.parametrize("path", ["/__mock/reset", "/__mock/faults"])
def test_a_request_from_another_origin_is_refused_even_without_a_body(seeded, path):
    """`fetch(url, {method: "POST", mode: "no-cors"})` sends no body and no type, but an Origin."""
    response = seeded.post(path, headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert "another site" in response.get_json()["message"]
    assert ap_count(seeded) == 1
    assert seeded.get("/__mock/faults").get_json() == {"faults": []}


def test_a_cross_site_request_without_origin_that_changes_something_is_refused(seeded):
    response = seeded.post("/__mock/reset", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert ap_count(seeded) == 1


@pytest.mark.parametrize("path", ["/__mock/reset", "/__mock/state", "/__mock/requests", "/__mock/",
                                  "/__mock/faults/1"])
def test_no_cross_origin_preflight_is_answered(client, path):
    response = client.options(path, headers={"Origin": EVIL, "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 403
    assert not [name for name in response.headers.keys() if name.lower().startswith("access-control-")]


def test_no_control_answer_carries_a_cors_header(client):
    for method, path in [("GET", "/__mock/health"), ("GET", "/__mock/state"), ("POST", "/__mock/reset")]:
        response = client.open(path, method=method, headers={"Origin": EVIL})
        assert not [name for name in response.headers.keys() if name.lower().startswith("access-control-")]


def test_the_page_and_its_own_script_still_work(seeded):
    """Same origin (the page's own fetch), a link followed from elsewhere, curl and test code."""
    assert seeded.get("/__mock/", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200
    assert seeded.get("/__mock/state", headers={"Origin": "http://localhost"}).status_code == 200
    assert seeded.post("/__mock/reset", json={}, headers={"Origin": "http://localhost",
                                                         "Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert ap_count(seeded) == 0
    assert seeded.post("/__mock/reset").status_code == 200  # curl -X POST: no body, no type


# --- the Host check (DNS rebinding) ---------------------------------------------------------------

@pytest.mark.parametrize("host", ["localhost", "localhost:4010", "127.0.0.1:1", "127.1.2.3", "[::1]:4010", "[::1]",
                                  "app.localhost:3000", "LOCALHOST."])
def test_this_machines_names_are_accepted(host):
    assert host_allowed(host)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:4010", "127.0.0.1.evil.example", "10.0.0.5",
                                  "[::2]", "localhost.evil.example", "192.168.1.20:4010"])
def test_other_names_are_refused(host):
    assert not host_allowed(host)


def test_allow_host_names_exactly_or_a_domain_with_a_leading_dot():
    assert host_allowed("mock:4010", ["mock"])
    assert not host_allowed("mock.evil", ["mock"])
    assert host_allowed("a.dev.test", [".dev.test"]) and host_allowed("dev.test", [".dev.test"])
    assert not host_allowed("devxtest", [".dev.test"])


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                                ("0.0.0.0", False), ("::", False), ("192.168.1.2", False)])
def test_which_binds_are_loopback(host, loopback):
    assert is_loopback_bind(host) is loopback


@pytest.mark.parametrize("path", ["/__mock/state", "/api/v1/projects", "/__mock/", "/nowhere"])
def test_a_rebinding_page_is_refused_on_every_route_naming_the_flag(path):
    client = create_app(Settings()).test_client()
    response = client.get(path, headers={**AP, "Host": "evil.example:4010"})
    assert response.status_code == 403
    message = response.get_json()["message"]
    assert "--allow-host evil.example" in message and "DNS rebinding" in message
    assert client.get("/__mock/requests").get_json()["requests"] == []  # not even journaled


def test_allow_host_and_another_bind_let_other_names_in():
    allowed = create_app(Settings(allow_hosts=("mock",))).test_client()
    assert allowed.get("/__mock/health", headers={"Host": "mock:4010"}).status_code == 200
    assert allowed.get("/__mock/health", headers={"Host": "other:4010"}).status_code == 403
    exposed = create_app(Settings(host="0.0.0.0")).test_client()
    assert exposed.get("/__mock/health", headers={"Host": "mock:4010"}).status_code == 200


def test_the_host_check_over_a_real_socket():
    with mockserver.run() as server:
        url = f"{server.url}/__mock/state"
        assert requests.get(url, timeout=10).status_code == 200
        refused = requests.get(url, headers={"Host": "evil.example"}, timeout=10)
        assert refused.status_code == 403 and "--allow-host" in refused.json()["message"]


def test_allow_host_is_a_repeatable_flag():
    args = parser().parse_args(["serve", "--allow-host", "mock", "--allow-host", ".dev.test"])
    assert settings_from(args).allow_hosts == ("mock", ".dev.test")
