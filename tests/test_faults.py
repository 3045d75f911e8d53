"""Fault injection: rules through /__mock/faults and `Prefer` per request. Injected errors come in
the vendor's own shape with a status the operation documents; drops close the socket unanswered
(tested on the real HTTP server); delays end early when the client gives up or a reset comes."""

from __future__ import annotations

import socket
import threading

import pytest
import requests

import mockserver
from mockserver.faults import ConnectionDropped
from tests.helpers import AMP, AP, ORG

AP_PROJECT = {"displayName": "Acme"}
AMP_PROJECT = {"appName": "MailMonkey", "name": "mm-staging", "orgId": ORG}


def ap_create(client, headers=AP, **extra):
    return client.post("/api/v1/projects", headers={**headers, **extra}, json=AP_PROJECT)


def amp_create(client, name="mm-staging", **extra):
    return client.post("/v1/projects", headers={**AMP, **extra}, json={**AMP_PROJECT, "name": name})


def add(client, **rule):
    response = client.post("/__mock/faults", json=rule)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def refused(client, **rule) -> str:
    response = client.post("/__mock/faults", json=rule)
    assert response.status_code == 400, response.get_json()
    return response.get_json()["message"]


def entries(client):
    return client.get("/__mock/requests").get_json()["requests"]


# --- rules -----------------------------------------------------------------------------------------

def test_the_next_two_creates_answer_503_in_ampersands_shape_then_it_works(client):
    rule = add(client, vendor="ampersand", operationId="createProject", status=503, times=2)
    assert rule == {"id": 1, "vendor": "ampersand", "operationId": "createProject", "credential": None,
                    "status": 503, "delayMs": 0, "drop": False, "times": 2, "remaining": 2, "hits": 0}
    for _ in range(2):
        response = amp_create(client)
        assert response.status_code == 503 and response.mimetype == "application/problem+json"
        body = response.get_json()
        assert body["status"] == 503 and body["title"] == "Service Unavailable" and body["retryable"] is True
    assert amp_create(client).status_code == 201
    assert client.get("/__mock/faults").get_json() == {"faults": []}  # spent rules disappear
    assert [(e["status"], e["fault"] and e["fault"]["source"], e["rejected"]) for e in entries(client)] == [
        (503, "rule 1", None), (503, "rule 1", None), (201, None, None)]


def test_an_injected_503_in_activepieces_shape(client):
    add(client, vendor="activepieces", status=503)
    response = ap_create(client)
    assert response.status_code == 503
    assert response.get_json()["statusCode"] == 503 and response.get_json()["error"] == "Service Unavailable"


def test_injected_documented_errors_use_the_vendors_own_bodies(client):
    add(client, vendor="activepieces", operationId="getProject", status=404, times=1)
    add(client, vendor="activepieces", operationId="listProjects", status=401, times=1)
    assert client.get("/api/v1/projects/abc", headers=AP).get_json()["code"] == "ENTITY_NOT_FOUND"
    assert client.get("/api/v1/projects", headers=AP).get_json()["code"] == "INVALID_BEARER_TOKEN"


def test_a_permanent_rule_stays_and_counts_its_hits(client):
    rule = add(client, vendor="ampersand", operationId="listProjects", status=503)
    for _ in range(3):
        assert client.get("/v1/projects", headers=AMP).status_code == 503
    assert client.get("/__mock/faults").get_json()["faults"][0] | {"hits": 0} == rule
    assert client.get("/__mock/faults").get_json()["faults"][0]["hits"] == 3


def test_rules_are_deleted_one_by_one_or_all(client):
    first = add(client, vendor="ampersand", status=503)
    add(client, vendor="activepieces", status=503)
    add(client, delayMs=5)
    assert client.delete(f"/__mock/faults/{first['id']}").get_json() == {"removed": 1}
    assert client.delete(f"/__mock/faults/{first['id']}").status_code == 404
    assert amp_create(client).status_code == 201
    assert client.delete("/__mock/faults").get_json() == {"removed": 2}
    assert ap_create(client).status_code == 201


def test_a_rule_matches_its_tenant_only(client):
    add(client, vendor="activepieces", credential="sk-test", status=503)
    assert ap_create(client).status_code == 503
    assert ap_create(client, {"Authorization": "Bearer sk-other"}).status_code == 201
    assert amp_create(client).status_code == 201


def test_a_rule_matches_its_operation_only(client):
    add(client, vendor="ampersand", operationId="listProjects", status=503)
    assert amp_create(client).status_code == 201
    assert client.get("/v1/projects", headers=AMP).status_code == 503


def test_rules_act_after_authentication_and_validation(client):
    add(client, vendor="activepieces", status=503, times=1)
    assert ap_create(client, {"Authorization": "Bearer nope"}).status_code == 401
    assert client.post("/api/v1/projects", headers=AP, json={}).status_code == 400
    assert client.get("/__mock/faults").get_json()["faults"][0]["remaining"] == 1  # not spent by those


def test_every_matching_rule_applies_and_the_oldest_deciding_one_wins(client):
    add(client, delayMs=1)
    add(client, vendor="ampersand", status=503, times=1)
    add(client, vendor="ampersand", status=401, times=1)
    assert amp_create(client).status_code == 503
    fault = entries(client)[-1]["fault"]
    assert fault == {"source": "rule 1, rule 2", "status": 503, "delayMs": 1, "drop": False}
    assert amp_create(client).status_code == 401  # rule 3 was not spent by the first request


@pytest.mark.parametrize("rule, needle", [
    ({"vendor": "activepieces", "operationId": "createProject", "status": 404},
     "status 404 is not an error activepieces createProject documents (it documents 400, 401, 409, 413, 415, 503)"),
    ({"vendor": "activepieces", "status": 409}, "status 409 is not an error activepieces listProjects documents"),
    ({"status": 422}, "is not an error activepieces"),
    ({"vendor": "stripe", "status": 503}, "vendor 'stripe' is not served here"),
    ({"vendor": "ampersand", "operationId": "deleteProject", "status": 503},
     "no operation 'deleteProject' in ampersand"),
    ({"vendor": "ampersand"}, "the rule does nothing"),
    ({"status": 503, "drop": True}, "not both"),
])
def test_a_rule_the_mock_cannot_honour_is_refused_naming_why(client, rule, needle):
    assert needle in refused(client, **rule)
    assert client.get("/__mock/faults").get_json() == {"faults": []}


@pytest.mark.parametrize("rule, field", [
    ({"status": 200}, "status"), ({"status": 503, "times": 0}, "times"), ({"delayMs": -1}, "delayMs"),
    ({"status": 503, "operation": "createProject"}, "body"),
])
def test_a_rule_that_breaks_admin_yaml_is_400_naming_the_field(client, rule, field):
    response = client.post("/__mock/faults", json=rule)
    assert response.status_code == 400
    assert response.get_json()["issues"][0]["name"] == field


# --- Prefer ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("create, status_field", [(ap_create, "statusCode"), (amp_create, "status")])
def test_prefer_code_answers_a_documented_error_in_the_vendors_shape(client, create, status_field):
    response = create(client, Prefer="code=503")
    assert response.status_code == 503 and response.get_json()[status_field] == 503
    assert entries(client)[-1]["fault"] == {"source": "Prefer", "status": 503, "delayMs": 0, "drop": False}
    assert client.get("/__mock/state").get_json() == {"tenants": []}  # nothing was created


def test_prefer_code_beats_a_rule_without_spending_it(client):
    add(client, vendor="ampersand", status=503, times=1)
    assert amp_create(client, Prefer="code=409").status_code == 409
    assert amp_create(client).status_code == 503


@pytest.mark.parametrize("prefer, needle", [
    ("code=418", "Prefer: code=418: activepieces createProject documents no such error status "
                 "(it documents 400, 401, 409, 413, 415, 503)"),
    ("code=201", "no such error status"),
    ("delay=soon", "Prefer: delay=soon: give milliseconds"),
    ("fault=reset", "the only fault is drop"),
    ("code=503, fault=drop", "exclude each other"),
])
def test_a_prefer_the_mock_cannot_honour_is_a_plain_400_from_the_mock(client, prefer, needle):
    response = ap_create(client, Prefer=prefer)
    assert response.status_code == 400
    body = response.get_json()
    assert set(body) == {"error", "message", "status"} and needle in body["message"]
    entry = entries(client)[-1]
    assert (entry["operationId"], entry["status"], entry["rejected"]) == ("createProject", 400, "invalid")
    assert client.get("/__mock/state").get_json() == {"tenants": []}


def test_other_preferences_are_ignored(client):
    assert ap_create(client, Prefer="return=minimal; x=1, respond-async").status_code == 201


def test_prefer_delay_waits_at_least_that_long(client):
    assert ap_create(client, Prefer="delay=60").status_code == 201
    entry = entries(client)[-1]
    assert entry["durationMs"] >= 60 and entry["fault"]["delayMs"] == 60


def test_prefer_several_at_once(client):
    assert amp_create(client, Prefer="delay=1, code=503").status_code == 503
    assert entries(client)[-1]["fault"] == {"source": "Prefer", "status": 503, "delayMs": 1, "drop": False}


def test_a_drop_in_process_raises_connection_dropped(client):
    with pytest.raises(ConnectionDropped):
        ap_create(client, Prefer="fault=drop")
    entry = entries(client)[-1]
    assert entry["status"] is None and entry["responseBody"] is None and entry["fault"]["drop"] is True
    assert client.get("/__mock/state").get_json() == {"tenants": []}  # not processed


# --- on the real HTTP server -------------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    with mockserver.run() as running:
        yield running


@pytest.fixture
def live(server):
    server.reset()
    return server


def raw_exchange(server, request: bytes) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_drop_closes_the_socket_without_a_byte(live):
    live.fault("createProject", vendor="ampersand", drop=True, times=1)
    body = b'{"appName":"MailMonkey","name":"mm-staging","orgId":"o"}'
    request = (b"POST /v1/projects HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: key-1\r\n"
               b"Content-Type: application/json\r\nConnection: close\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    assert raw_exchange(live, request) == b""
    assert raw_exchange(live, request).startswith(b"HTTP/1.1 201 ")  # the rule is spent
    dropped, created = live.requests()
    assert dropped["status"] is None and dropped["fault"]["drop"] is True
    assert created["status"] == 201 and len(live.state()[0]["projects"]) == 1


def test_a_drop_is_a_connection_error_for_requests(live):
    with pytest.raises(requests.ConnectionError):
        requests.post(live.activepieces_url + "/v1/projects", headers={**AP, "Prefer": "fault=drop"}, json=AP_PROJECT,
                      timeout=5)
    assert requests.get(live.activepieces_url + "/v1/projects", headers=AP, timeout=5).json()["data"] == []


def test_a_client_timeout_during_a_delay_is_journaled_at_once(live):
    live.fault("createProject", vendor="activepieces", delay_ms=30_000, times=1)
    with pytest.raises(requests.Timeout):
        requests.post(live.activepieces_url + "/v1/projects", headers=AP, json=AP_PROJECT, timeout=0.2)
    (entry,) = live.requests()  # the mock noticed the client leave, and finished the request
    assert entry["status"] == 201
    assert entry["warnings"][0].startswith("the client gave up after ")
    assert live.runtime.faults.holding() == 0


def test_a_reset_ends_a_held_request_which_leaves_no_trace(live):
    live.fault(delay_ms=30_000)
    outcome = {}

    def call():
        try:
            outcome["status"] = requests.post(live.activepieces_url + "/v1/projects", headers=AP, json=AP_PROJECT,
                                              timeout=10).status_code
        except requests.ConnectionError as error:
            outcome["error"] = error

    caller = threading.Thread(target=call)
    caller.start()
    assert live.runtime.faults.wait_holding(1)
    live.reset()
    caller.join(timeout=5)
    assert "error" in outcome, outcome  # dropped: the test that asked for the delay is over
    assert live.requests() == [] and live.state() == []


# --- delays never freeze the server -----------------------------------------------------------------

HELD = {"Prefer": "delay=600000"}


class HeldCalls:
    """`count` creates, each on its own thread and connection, asking for a ten-minute delay."""

    def __init__(self, server, count: int) -> None:
        self.outcomes: list = []
        self.done = threading.Condition()
        self.threads = [threading.Thread(target=self.call, args=(server,), daemon=True) for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def call(self, server) -> None:
        try:
            outcome = requests.post(server.activepieces_url + "/v1/projects", headers={**AP, **HELD},
                                    json=AP_PROJECT, timeout=60).status_code
        except requests.ConnectionError:
            outcome = "dropped"
        with self.done:
            self.outcomes.append(outcome)
            self.done.notify_all()

    def wait(self, count: int, timeout: float = 10.0) -> bool:
        with self.done:
            return self.done.wait_for(lambda: len(self.outcomes) >= count, timeout)


def test_delays_past_the_limit_are_refused_and_everything_else_stays_served():
    """With every worker but the reserved ones asleep in a delay, health, the control API, other
    tenants and reset are served at once; a reset releases every held request."""
    with mockserver.run(threads=2, max_delays=3) as server:
        calls = HeldCalls(server, 3)
        assert server.runtime.faults.wait_holding(3)
        over = requests.post(server.activepieces_url + "/v1/projects", headers={**AP, **HELD}, json=AP_PROJECT,
                             timeout=10)
        assert over.status_code == 503 and "--max-delays 3" in over.json()["message"]
        other = {"Authorization": "Bearer sk-other"}
        for _ in range(5):  # more requests than workers: none waits for a held one
            assert requests.get(f"{server.url}/__mock/health", timeout=10).status_code == 200
            assert requests.post(server.activepieces_url + "/v1/projects", headers=other, json=AP_PROJECT,
                                 timeout=10).status_code == 201
        assert requests.get(f"{server.url}/__mock/requests", timeout=10).status_code == 200
        assert requests.post(f"{server.url}/__mock/reset", json={}, timeout=10).status_code == 200
        assert calls.wait(3)
        assert calls.outcomes == ["dropped"] * 3  # released by the reset, unanswered
        assert server.runtime.faults.holding() == 0


def test_many_more_delayed_requests_than_threads_never_block_health():
    with mockserver.run(threads=2, max_delays=2) as server:
        calls = HeldCalls(server, 12)
        assert server.runtime.faults.wait_holding(2)
        assert requests.get(f"{server.url}/__mock/health", timeout=10).status_code == 200
        assert calls.wait(10)  # the ten beyond the limit are refused without waiting
        assert calls.outcomes == [503] * 10
        server.reset()
        assert calls.wait(12) and calls.outcomes[10:] == ["dropped"] * 2


def test_a_refused_delay_is_journaled_with_why(client):
    from mockserver import Settings, create_app

    client = create_app(Settings(max_delays=0)).test_client()
    response = ap_create(client, Prefer="delay=10")
    assert response.status_code == 503 and "--max-delays 0" in response.get_json()["message"]
    (entry,) = entries(client)
    assert entry["status"] == 503 and "--max-delays" in entry["error"]


def test_max_delays_is_a_flag():
    from mockserver.cli import parser, settings_from

    assert settings_from(parser().parse_args(["serve", "--max-delays", "4"])).max_delays == 4


def test_a_delay_ruled_while_a_request_is_answered_on_the_loop_is_not_applied_to_it(client):
    """The server answers a request on its event loop when no fault could hold it; a delay rule added
    in the meantime (by a test's thread) applies from the next request on, never stalling the loop."""
    add(client, vendor="activepieces", operationId="createProject", delayMs=60_000)
    done = []
    answering = threading.Thread(target=lambda: done.append(
        client.post("/api/v1/projects", headers=AP, json=AP_PROJECT, environ_base={"mockserver.inline": True})),
        daemon=True)
    answering.start()
    answering.join(timeout=10)
    assert not answering.is_alive() and done[0].status_code == 201
    entry = entries(client)[-1]
    assert entry["fault"]["delayMs"] == 0 and "delay was not applied" in " ".join(entry["warnings"])
