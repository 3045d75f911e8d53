"""The request journal: what each vendor request was and got, credentials masked, filters, bounds."""

from __future__ import annotations

import pytest

from mockserver import Settings, create_app
from mockserver.journal import mask, mask_header
from tests.helpers import AMP, AP, ORG

LONG_KEY = {"Authorization": "Bearer sk-0123456789abcdef"}


def journal(client, **query):
    response = client.get("/__mock/requests", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def only(client, **query):
    entries = journal(client, **query)["requests"]
    assert len(entries) == 1, entries
    return entries[0]


def test_an_entry_holds_the_request_and_the_answer(client):
    response = client.post("/api/v1/projects?trace=1", headers=LONG_KEY, json={"displayName": "Acme", "color": "red"})
    entry = only(client)
    assert entry["id"] == 1 and entry["time"].endswith("Z") and entry["durationMs"] >= 0
    assert (entry["vendor"], entry["operationId"], entry["method"], entry["path"]) == (
        "activepieces", "createProject", "POST", "/api/v1/projects")
    assert entry["query"] == {"trace": ["1"]}
    assert entry["body"] == {"displayName": "Acme", "color": "red"}  # as sent, before dropping
    assert entry["status"] == 201 and entry["responseBody"] == response.get_json()
    assert entry["warnings"] == ["unknown field 'color' dropped"]
    assert entry["rejected"] is None and entry["issues"] == [] and entry["error"] is None and entry["fault"] is None


def test_credentials_are_masked_in_headers_and_tenant(client):
    client.post("/api/v1/projects", headers=LONG_KEY, json={"displayName": "Acme"})
    client.get("/v1/projects", headers={"X-Api-Key": "amp-key-0123456789"})
    ap, amp = journal(client)["requests"]
    assert ap["headers"]["Authorization"] == "Bearer sk-0…"
    assert ap["credential"] == "sk-0…"
    assert amp["headers"]["X-Api-Key"] == "amp-…"
    assert "0123456789" not in str(journal(client))


@pytest.mark.parametrize("name, value, shown", [
    ("Authorization", "Bearer sk-0123456789abcdef", "Bearer sk-0…"),
    ("Authorization", "Basic dXNlcjpwYXNz", "Basic dXNl…"),
    ("Authorization", "sk-0123456789", "sk-0…"),
    ("X-Api-Key", "ab", "***"),
    ("X-Api-Key", "abcdef", "ab…"),
])
def test_masking_shows_a_prefix_of_a_long_secret_and_nothing_of_a_short_one(name, value, shown):
    assert mask_header(name, value) == shown
    assert mask("") == "***"


def test_unmatched_requests_are_journaled_with_no_operation(client):
    client.get("/api/v1/projectz", headers=AP)
    client.post("/nowhere", data=b"hello", content_type="text/plain")
    ap, unknown = journal(client)["requests"]
    assert (ap["vendor"], ap["operationId"], ap["status"], ap["rejected"]) == ("activepieces", None, 404, "unmatched")
    assert ap["headers"]["Authorization"] == "Bearer sk…"
    assert (unknown["vendor"], unknown["operationId"], unknown["body"]) == (None, None, "hello")
    assert unknown["error"] == "no route for POST /nowhere"


def test_a_wrong_method_is_unmatched_too(client):
    client.delete("/v1/projects", headers=AMP)
    entry = only(client)
    assert entry["status"] == 405 and entry["operationId"] is None and entry["rejected"] == "unmatched"


def test_an_invalid_request_carries_its_issues(client):
    client.post("/v1/projects", headers=AMP, json={"appName": "MailMonkey", "name": "-bad-", "orgId": ORG})
    entry = only(client)
    assert entry["status"] == 422 and entry["rejected"] == "invalid"
    assert entry["issues"][0]["in"] == "body" and entry["issues"][0]["name"] == "name"
    assert entry["issues"][0]["keyword"] == "pattern"


def test_a_refused_credential_is_journaled_with_the_body_it_carried(client):
    client.post("/api/v1/projects", headers={"Authorization": "Bearer nope"}, json={"displayName": "Acme"})
    entry = only(client)
    assert entry["status"] == 401 and entry["credential"] is None and entry["rejected"] is None
    assert entry["body"] == {"displayName": "Acme"}
    assert "refused" in entry["error"]


def test_a_body_that_is_not_json_is_kept_as_text(client):
    client.post("/api/v1/projects", headers=AP, data=b'{"displayName": ', content_type="application/json")
    entry = only(client)
    assert entry["body"] == '{"displayName": ' and entry["rejected"] == "invalid"


def test_a_body_nested_too_deep_to_serve_is_kept_as_text(client):
    deep = b"[" * 5000 + b"]" * 5000
    client.post("/api/v1/projects", headers=AP, data=deep, content_type="application/json")
    assert only(client)["body"] == deep.decode()


@pytest.fixture
def busy(client):
    """Requests of two vendors, two tenants and several statuses."""
    client.post("/api/v1/projects", headers=AP, json={"displayName": "Acme"})  # 1: 201
    client.post("/api/v1/projects", headers={"Authorization": "Bearer sk-other"}, json={})  # 2: 400
    client.get("/v1/projects", headers=AMP)  # 3: 200
    client.get("/v1/projects/nope", headers=AMP)  # 4: 404
    client.get("/api/v1/nothing", headers=AP)  # 5: 404 unmatched
    return client


@pytest.mark.parametrize("query, ids", [
    ({}, [1, 2, 3, 4, 5]),
    ({"vendor": "ampersand"}, [3, 4]),
    ({"operationId": "createProject"}, [1, 2]),
    ({"vendor": "activepieces", "credential": "sk-test"}, [1]),  # 5 matched no operation: no tenant
    ({"credential": "sk-other"}, [2]),
    ({"status": "404"}, [4, 5]),
    ({"status": "2XX"}, [1, 3]),
    ({"status": "4xx"}, [2, 4, 5]),
    ({"after": 3}, [4, 5]),
    ({"rejected": "true"}, [2, 5]),
    ({"rejected": "false"}, [1, 3, 4]),
    ({"limit": 2}, [4, 5]),
    ({"vendor": "activepieces", "status": "4XX", "limit": 1}, [5]),
])
def test_filters(busy, query, ids):
    assert [entry["id"] for entry in journal(busy, **query)["requests"]] == ids


def test_limit_keeps_the_total_of_matches(busy):
    body = journal(busy, limit=1)
    assert body["total"] == 5 and body["capacity"] == 1000 and len(body["requests"]) == 1


def test_since_is_a_time(busy):
    entries = journal(busy)["requests"]
    assert [e["id"] for e in journal(busy, since=entries[2]["time"])["requests"]] == [3, 4, 5]
    assert journal(busy, since="2999-01-01T00:00:00Z")["requests"] == []


@pytest.mark.parametrize("query, needle", [
    ({"status": "41"}, "status"), ({"since": "yesterday"}, "since"), ({"after": "x"}, "after"),
    ({"limit": 0}, "limit"), ({"rejected": "maybe"}, "rejected"),
])
def test_bad_filters_are_400_naming_the_parameter(busy, query, needle):
    response = busy.get("/__mock/requests", query_string=query)
    assert response.status_code == 400
    assert response.get_json()["issues"][0]["name"] == needle


def test_delete_clears_and_ids_keep_increasing(busy):
    assert busy.delete("/__mock/requests").get_json() == {"removed": 5}
    assert journal(busy)["requests"] == []
    busy.get("/v1/projects", headers=AMP)
    assert only(busy)["id"] == 6


def test_the_journal_is_bounded_newest_last():
    client = create_app(Settings(journal_size=3)).test_client()
    for _ in range(5):
        client.get("/v1/projects", headers=AMP)
    body = journal(client)
    assert [e["id"] for e in body["requests"]] == [3, 4, 5] and body["capacity"] == 3


def test_a_journal_of_size_zero_keeps_nothing():
    client = create_app(Settings(journal_size=0)).test_client()
    client.get("/v1/projects", headers=AMP)
    assert journal(client)["requests"] == []
