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


# --- bounded by bytes, kept as bytes, read in pages --------------------------------------------------

EMPTY_OBJECTS = b"[" + b"{}," * 300_000 + b"{}]"  # ~900 KB; parsed, ~21 MB of Python objects


def send_raw(client, body: bytes, content_type: str = "text/plain"):
    """A create whose body is refused for its type (415) before it is parsed: only the journal keeps it."""
    return client.post("/api/v1/projects", data=body, headers={**AP, "Content-Type": content_type})


def test_the_journal_is_bounded_by_bytes_and_says_what_it_dropped_and_cut():
    import gc
    import tracemalloc

    budget = 2 * 1024 * 1024
    app = create_app(Settings(journal_bytes=budget))
    client, kept = app.test_client(), app.extensions["mockserver"].journal
    send_raw(client, b"{}")  # warm up what a first request builds
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(12):
            assert send_raw(client, EMPTY_OBJECTS).status_code == 415
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept.bytes <= budget
    assert grown < 2 * budget, grown  # the old journal kept ~21 MB per entry
    body = journal(client)
    assert body["bytes"] == kept.bytes and body["byteCapacity"] == budget
    assert body["dropped"] >= 12 - budget // (budget // 8) and body["dropped"] + len(body["requests"]) == 13
    entry = body["requests"][-1]
    assert entry["truncated"] == ["body"] and isinstance(entry["body"], str)
    assert len(entry["body"].encode()) <= budget // 8  # cut to an eighth of the budget


def test_parsed_bodies_that_fail_validation_keep_the_journal_within_its_budget():
    """A JSON body is parsed and refused: the journal keeps its bytes, never its parsed value (~23
    times as big for `[{},{},...]`) through the request's issues or answer, and counts all it holds
    (entries not built yet included) against its budget: what Python really allocated stays within."""
    import gc
    import tracemalloc

    budget = 1024 * 1024
    app = create_app(Settings(journal_bytes=budget))
    client, kept = app.test_client(), app.extensions["mockserver"].journal
    body = b"[" + b"{}," * 100_000 + b"{}]"  # ~300 KB; parsed, ~7 MB
    # Ampersand's 422: its issue holds the whole array as its value, and the answer echoes it.
    path, status, sent = "/v1/projects", 422, {**AMP, "Content-Type": "application/json"}
    assert client.post(path, data=b"[{}]", headers=sent).status_code == status  # warm up
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            assert client.post(path, data=body, headers=sent).status_code == status
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before  # measured before any read builds entries
    finally:
        tracemalloc.stop()
    assert grown < budget + 256 * 1024, grown
    assert kept.bytes <= budget
    newest = journal(client)["requests"][-1]
    assert newest["status"] == status and newest["truncated"][0] == "body"  # cut to an eighth of the budget


def test_what_the_journal_counts_is_what_small_entries_really_take():
    """Small requests: the bytes counted against the budget are at least what Python allocated for
    the entries (their dicts and texts, not only their characters), and not wildly more."""
    import gc
    import tracemalloc

    app = create_app(Settings())
    client, kept = app.test_client(), app.extensions["mockserver"].journal
    for index in range(20):  # warm up
        client.get(f"/v1/projects?i={index}", headers=AMP)
    client.delete("/__mock/requests")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(300):
            client.get(f"/v1/projects?i={index}", headers=AMP)
        assert len(kept) == 300  # read: every entry built
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown <= kept.bytes <= 2 * grown, (grown, kept.bytes)


def test_a_body_is_kept_as_its_bytes_whatever_its_characters():
    """One emoji makes Python keep a string at 4 bytes a character; bytes stay bytes."""
    app = create_app(Settings())
    client, kept = app.test_client(), app.extensions["mockserver"].journal
    body = ('"\U0001f600' + "a" * 500_000 + '"').encode()
    send_raw(client, body)
    assert len(body) < kept.bytes < len(body) + 8 * 1024


def test_a_body_longer_than_the_parse_limit_is_given_as_text_and_marked():
    client = create_app(Settings()).test_client()
    big = b'{"displayName": "' + b"x" * 300_000 + b'"}'
    send_raw(client, big, "application/json")
    entry = journal(client)["requests"][-1]
    assert isinstance(entry["body"], str) and entry["body"].startswith('{"displayName": "xxx')
    assert entry["truncated"] == ["body", "responseBody"]  # the create answered the long name back
    send_raw(client, b'{"displayName": "small"}', "application/json")
    entry = journal(client)["requests"][-1]
    assert entry["body"] == {"displayName": "small"} and entry["truncated"] == []


@pytest.fixture
def many(client):
    for index in range(250):
        client.get(f"/v1/projects?i={index}", headers=AMP)
    return client


def test_a_read_without_a_cursor_gives_the_newest_hundred(many):
    body = journal(many)
    assert [e["id"] for e in body["requests"]] == list(range(151, 251))
    assert body["total"] == 250 and body["next"] is None


def test_paging_with_after_and_next_reads_everything_once(many):
    seen, after, pages = [], 0, 0
    while after is not None:
        body = journal(many, after=after, limit=100)
        seen.extend(e["id"] for e in body["requests"])
        after, pages = body["next"], pages + 1
    assert seen == list(range(1, 251)) and pages == 3


def test_a_page_stops_at_its_byte_budget_and_says_where_to_go_on(client):
    for _ in range(30):
        send_raw(client, b"x" * 200_000)
    body = journal(client, after=0, limit=100)
    assert 1 <= len(body["requests"]) <= 21 and body["next"] == body["requests"][-1]["id"]
    assert len(client.get("/__mock/requests").data) < 5 * 1024 * 1024


def test_the_helpers_read_every_page(many):
    from mockserver.server import Control

    assert len(Control(many.application).requests()) == 250


def test_clearing_the_journal_forgets_its_bytes_and_drops():
    app = create_app(Settings(journal_size=2))
    client = app.test_client()
    for _ in range(3):
        client.get("/v1/projects", headers=AMP)
    assert journal(client)["dropped"] == 1
    client.delete("/__mock/requests")
    body = journal(client)
    assert body["dropped"] == 0 and body["bytes"] == 0


@pytest.mark.parametrize("value", ["64M", "64MiB", "1G", "65536", "16k"])
def test_journal_bytes_flag_takes_sizes(value):
    from mockserver.cli import parser, settings_from

    settings = settings_from(parser().parse_args(["serve", "--journal-bytes", value]))
    assert settings.journal_bytes == {"64M": 64 << 20, "64MIB": 64 << 20, "1G": 1 << 30, "65536": 65536,
                                      "16K": 16 << 10}[value.upper()]


@pytest.mark.parametrize("value", ["lots", "1T", "-5", "²"])
def test_journal_bytes_flag_refuses_what_is_no_size(value, capsys):
    from mockserver.cli import parser

    with pytest.raises(SystemExit):
        parser().parse_args(["serve", "--journal-bytes", value])
    assert "--journal-bytes" in capsys.readouterr().err


# --- credentials masked by value, wherever they appear ----------------------------------------------

def test_a_credential_is_masked_by_value_in_every_header_the_query_and_both_bodies(client):
    key = "sk-secret-0123456789"
    client.post(f"/api/v1/projects?apiKey={key}&note=x{key}y", json={"displayName": f"named {key}", "externalId": key},
                headers={"Authorization": f"Bearer {key}", "X-Auth-Token": key, "X-Trace": f"t={key}"})
    entry = only(client)
    assert key not in str(entry)
    assert entry["headers"]["X-Auth-Token"] == "sk-s…" and entry["headers"]["X-Trace"] == "t=sk-s…"
    assert entry["query"] == {"apiKey": ["sk-s…"], "note": ["xsk-s…y"]}
    assert entry["body"] == {"displayName": "named sk-s…", "externalId": "sk-s…"}
    assert entry["responseBody"]["externalId"] == "sk-s…"


def test_a_refused_credential_and_the_admin_token_are_masked_too():
    client = create_app(Settings(admin_token="admin-t0ken-xyz")).test_client()
    client.get("/v1/projects", headers={"X-Api-Key": "amp-refused-key", "X-Other": "amp-refused-key",
                                        "X-Debug": "admin-t0ken-xyz"})
    text = client.get("/__mock/requests", headers={"X-Mock-Admin-Token": "admin-t0ken-xyz"}).get_data(as_text=True)
    assert "amp-refused-key" not in text and "admin-t0ken-xyz" not in text


def test_an_issue_message_that_quotes_a_credential_is_masked(client):
    key = "sk-secret-0123456789"
    client.post("/api/v1/projects", json={"displayName": {"k": key}}, headers={"Authorization": f"Bearer {key}"})
    entry = only(client)
    assert entry["issues"] and key not in str(entry)


@pytest.mark.parametrize("seed", range(8))
def test_entries_built_when_read_are_those_recorded_one_by_one(seed):
    """The journal builds an entry when it is read (`_settle`), not per request: whatever the reads
    and clears in between, the kept entries, bytes, drops and what each clear removed are those of
    building each one at once."""
    import random

    from mockserver.errors import Issue
    from mockserver.exchange import Exchange
    from mockserver.journal import Journal, _Raw
    from mockserver.store import Tenant

    rng = random.Random(seed)
    capacity, budget = rng.choice([(5, 64 * 1024), (50, 8 * 1024), (1000, 4 * 1024), (1000, 64 * 1024 * 1024)])
    lazy, eager = Journal(capacity, byte_capacity=budget), Journal(capacity, byte_capacity=budget)
    for n in range(300):
        body = b'{"name":"' + b"x" * rng.choice([0, 10, 200, 900, 3000, 9000]) + b'"}'
        vendor, key = rng.choice(["shop", "bank"]), rng.choice(["ab", "secret-key-1", "other-key-22"])
        texts = rng.choice([[], ["w" * rng.choice([1, 2100])]])
        sent = rng.choice([b'{"id":%d,"key":"%s"}' % (n, key.encode()), b""])
        answered = rng.choice([None, {"id": n}])
        for kept in (lazy, eager):
            exchange = Exchange(vendor, "POST", f"/things/{n}/{key}", {"q": [str(n)], "key": [key]},
                                {"X-Api-Key": key, "Authorization": f"Bearer {key}"}, body,
                                started=1_700_000_000 + n, operation_id="create", status=201,
                                tenant=Tenant(vendor, key), response_bytes=sent, response_body=answered,
                                warnings=list(texts),
                                issues=[Issue("body", ("name",), "type", "name: " + texts[0])] if texts else [],
                                error=texts[0] if texts else None)
            kept.record(exchange)
        raw = _Raw.of(exchange, 0.0)
        assert raw.size >= eager._build(raw).size
        len(eager)  # a read: settles what is pending
        if rng.random() < 0.05:
            len(lazy)
        if rng.random() < 0.03:
            scope = rng.choice([(None, None), ("shop", None), ("bank", "ab"), ("shop", "secret-key-1")])
            assert lazy.clear(*scope) == eager.clear(*scope)
    assert len(lazy) == len(eager) and lazy.bytes == eager.bytes

    def comparable(journal):
        page = journal.page(limit=capacity)
        for entry in page["requests"]:
            entry.pop("durationMs")
        return page

    assert comparable(lazy) == comparable(eager)
