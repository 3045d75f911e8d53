"""`mockserver.run()`: the real HTTP server on a thread, its URLs, its helpers, and a clean stop."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import requests

import mockserver
from mockserver.server import ControlError

AP = {"Authorization": "Bearer sk-test"}


@pytest.fixture(scope="module")
def server():
    with mockserver.run(seed=3) as running:
        yield running


@pytest.fixture
def live(server):
    server.reset(seed=3)
    return server


def create(server, name="Acme", **extra):
    return requests.post(f"{server.activepieces_url}/v1/projects", headers=AP, json={"displayName": name, **extra},
                         timeout=5)


def test_urls_point_at_a_free_port_of_localhost(live):
    assert live.host == "127.0.0.1" and live.port > 0
    assert live.url == f"http://127.0.0.1:{live.port}"
    assert live.activepieces_url == live.url + "/api" and live.ampersand_url == live.url
    assert live.base_url("ampersand") == live.url
    health = requests.get(f"{live.url}/__mock/health", timeout=5).json()
    assert health["seed"] == 3 and health["vendors"][0]["baseUrl"] == live.activepieces_url


def test_helpers_seed_read_and_reset_state(live):
    seeded = live.seed_state(vendor="activepieces", credential="sk-test", projects=[{"displayName": "Seeded"}])
    assert [p["displayName"] for p in seeded] == ["Seeded"]
    assert create(live).status_code == 201
    assert [p["displayName"] for p in live.state(vendor="activepieces")[0]["projects"]] == ["Seeded", "Acme"]
    live.reset(vendor="activepieces", credential="sk-test")
    assert live.state() == []


def test_helpers_load_a_fixtures_file(live, tmp_path):
    path = tmp_path / "fixtures.json"
    path.write_text(json.dumps({"tenants": [{"vendor": "ampersand", "credential": "k",
                                             "projects": [{"appName": "A", "name": "aa", "orgId": "o"}]}]}))
    assert [p["name"] for p in live.load(path)] == ["aa"]
    assert requests.get(f"{live.ampersand_url}/v1/projects/aa", headers={"X-Api-Key": "k"}, timeout=5).ok


def test_a_bad_fixtures_file_names_itself(live, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("tenants: [{vendor: ampersand, credential: k, projects: [{name: aa}]}]\n")
    with pytest.raises(ControlError, match=r"bad.yaml: tenants\[0\].projects\[0\].appName"):
        live.load(path)


def test_helpers_add_list_and_clear_faults(live):
    rule = live.fault("createProject", vendor="activepieces", status=503, times=1)
    assert live.faults() == [rule]
    assert create(live).status_code == 503
    assert create(live).status_code == 201
    live.fault(delay_ms=1)
    live.clear_faults()
    assert live.faults() == []


def test_a_refused_helper_call_raises_with_the_servers_reason(live):
    with pytest.raises(ControlError, match="status 404 is not an error activepieces createProject documents"):
        live.fault("createProject", vendor="activepieces", status=404)
    with pytest.raises(ControlError, match=r"tenants\[0\].projects\[0\].displayName"):
        live.seed_state(vendor="activepieces", credential="sk-test", projects=[{"displayName": 1}])


def test_requests_and_assert_called(live):
    create(live, "Acme", externalId="a-1")
    requests.get(f"{live.activepieces_url}/v1/nothing", headers=AP, timeout=5)
    assert [e["operationId"] for e in live.requests()] == ["createProject", None]
    assert live.requests(status="4XX")[0]["rejected"] == "unmatched"
    calls = live.assert_called("createProject", times=1, json={"displayName": "Acme", "externalId": "a-1"})
    assert calls[0]["status"] == 201
    live.assert_called("createProject", vendor="activepieces", credential="sk-test")
    live.assert_not_called("deleteProject")
    assert live.rejected() == [f"#{live.requests()[1]['id']} GET /api/v1/nothing -> 404 activepieces (no operation): "
                               "no route for GET /api/v1/nothing"]


def test_assert_called_failure_lists_the_near_misses(live):
    create(live, "Acme Corp")
    requests.get(f"{live.ampersand_url}/v1/projects", headers={"X-Api-Key": "k"}, timeout=5)
    with pytest.raises(AssertionError) as caught:
        live.assert_called("createProject", times=1, json={"displayName": "Acme"})
    message = str(caught.value)
    first_id = live.requests()[0]["id"]
    assert message.splitlines()[:5] == [
        'expected createProject with json {"displayName":"Acme"} to be called 1 time, it was called 0 times',
        "near misses (closest first):",
        f"  #{first_id} POST /api/v1/projects -> 201 activepieces createProject",
        '      json {"displayName":"Acme Corp"}',
        '      differs: displayName: sent "Acme Corp", expected "Acme"',
    ]
    assert f"#{first_id + 1} GET /v1/projects -> 200 ampersand listProjects" in message


def test_assert_called_with_an_empty_journal_says_so(live):
    with pytest.raises(AssertionError, match="the journal is empty"):
        live.assert_called("createProject")


def test_a_seed_gives_other_ids_and_the_same_seed_the_same(live):
    first = create(live).json()["id"]
    live.reset(seed=4)
    assert create(live).json()["id"] != first
    live.reset(seed=3)
    assert create(live).json()["id"] == first


def test_settings_are_checked():
    with pytest.raises(ValueError, match="clock"):
        mockserver.run(clock="sometimes")
    with pytest.raises(TypeError):
        mockserver.run(colour="blue")


def test_stop_closes_the_port_even_with_open_connections_and_held_requests():
    server = mockserver.run(admin_token="t0ken")
    session = requests.Session()
    assert session.post(f"{server.activepieces_url}/v1/projects", headers=AP, json={"displayName": "A"}).ok
    server.fault(delay_ms=60_000)  # helpers send the admin token themselves
    held = threading.Thread(target=lambda: _ignore(session.get, f"{server.activepieces_url}/v1/projects", headers=AP))
    held.start()
    assert server.runtime.faults.wait_holding(1, timeout=5)
    started = time.monotonic()
    server.stop()
    held.join(timeout=5)
    assert not held.is_alive() and time.monotonic() - started < 5
    with pytest.raises(OSError), socket.create_connection((server.host, server.port), timeout=1):
        pass
    server.stop()  # twice is fine
    session.close()


def _ignore(call, *args, **kwargs):
    try:
        call(*args, timeout=10, **kwargs)
    except requests.RequestException:
        pass


def test_run_takes_fixtures_paths(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("tenants: [{vendor: activepieces, credential: sk-test, projects: [{displayName: Fixture}]}]\n")
    with mockserver.run(fixtures=[str(path)]) as server:
        assert [p["displayName"] for p in server.state()[0]["projects"]] == ["Fixture"]
