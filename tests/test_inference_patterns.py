"""Patterns of public APIs the engine infers with no `x-mock-*` (tests/specs/patterns.yaml writes each
as its API does): wrapped items and allOf envelopes with page links (DigitalOcean), item ids as
cursors (OpenAI), markers (Box), page tokens (Google), item paths with a suffix and form bodies in
another case style (Twilio). Each is walked create -> get -> list (paging to the end by what the
answers say) -> update -> delete, every answer checked against the document."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from mockserver import Settings, create_app
from mockserver.inference import infer
from mockserver.spec import load_spec
from tests.helpers import cli_server

PATTERNS = Path(__file__).parent / "specs" / "patterns.yaml"
SPEC = load_spec(PATTERNS, "patterns")
AUTH = {"Authorization": "Bearer tok-1"}
ACCOUNT = "AC" + "0a" * 16
QUEUES = f"/2010-04-01/Accounts/{ACCOUNT}/Queues"


@pytest.fixture
def client():
    app = create_app(Settings(specs=(("patterns", PATTERNS),)))
    yield app.test_client()
    app.extensions["mockserver"].store.close()


def send(client, operation_id: str, url: str, status: int, **kwargs):
    """The operation's answer: the expected status, and a body its documented schema accepts."""
    operation = SPEC.operations[operation_id]
    response = client.open(url, method=operation.method, headers=AUTH, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    documented = operation.response(status)
    if documented is None or documented.validator is None:
        assert not response.get_data()
        return None
    body = response.get_json()
    errors = [error.message for error in documented.validator.iter_errors(body)]
    assert not errors, (operation_id, errors, body)
    return body


def local(url: str) -> str:
    """A link the mock gave, as the test client takes it (its path and query)."""
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "localhost", url
    return f"{parts.path}?{parts.query}"


def test_roles_wrappers_and_cursors_are_inferred_from_the_document():
    roles = infer(SPEC)
    assert (roles["createKey"].body_wrapper, roles["createKey"].answer_wrapper) == ("ssh_key", "ssh_key")
    assert roles["getKey"].collection.key_property == "id"
    assert roles["renameKey"].kind == "merge"  # its body cannot hold a whole key: it renames
    assert roles["updateWebhook"].kind == "merge"  # every field optional: what is sent changes
    paging = roles["listAssistants"].paging
    assert (paging.cursor, paging.before, paging.order, paging.descending) == ("after", "before", "order", True)
    assert roles["listWebhooks"].paging.cursor == "marker"
    queues = roles["fetchQueue"].collection
    kinds = (roles["fetchQueue"].kind, roles["deleteQueue"].kind, roles["updateQueue"].kind)
    assert kinds == ("read", "delete", "merge")
    assert (queues.name, queues.path, queues.key_param, queues.key_property) == (
        "Queues", f"{QUEUES.replace(ACCOUNT, '{AccountSid}')}.json", "Sid", "sid")


def test_wrapped_items_in_an_all_of_envelope_page_by_links(client):
    created = [send(client, "createKey", "/v2/account/keys", 201,
                    json={"ssh_key": {"name": f"key {n}", "public_key": f"ssh-rsa K{n}"}}) for n in range(5)]
    assert set(created[0]) == {"ssh_key"}  # nothing of the request pasted beside the wrapper
    keys = [body["ssh_key"] for body in created]
    assert [key["id"] for key in keys] == [1, 2, 3, 4, 5] and keys[2]["name"] == "key 2"
    assert send(client, "getKey", "/v2/account/keys/3", 200) == {"ssh_key": keys[2]}

    seen, url, pages = [], "/v2/account/keys?per_page=2", 0
    while url:
        page = send(client, "listKeys", url, 200)
        pages += 1
        assert pages <= 3, "the links never end"
        assert page["meta"] == {"total": 5}
        links = page["links"]["pages"]
        assert ("prev" in links) == (pages > 1) and local(links["last"]).endswith("page=3")
        seen += page["ssh_keys"]
        url = local(links["next"]) if "next" in links else None
    assert pages == 3 and seen == keys  # every key once, oldest first, then no next page

    renamed = send(client, "renameKey", "/v2/account/keys/3", 200, json={"ssh_key": {"name": "renamed"}})
    assert renamed == {"ssh_key": {**keys[2], "name": "renamed"}}  # the rest of the key stays
    send(client, "deleteKey", "/v2/account/keys/3", 204)
    send(client, "getKey", "/v2/account/keys/3", 404)
    after = send(client, "listKeys", "/v2/account/keys", 200)
    assert after["meta"]["total"] == 4 and 3 not in [key["id"] for key in after["ssh_keys"]]


def test_item_ids_are_cursors_with_first_and_last_ids_newest_first_by_default(client):
    empty = send(client, "listAssistants", "/v1/assistants", 200)
    assert (empty["data"], empty["first_id"], empty["last_id"], empty["has_more"]) == ([], "", "", False)
    ids = [send(client, "createAssistant", "/v1/assistants", 200, json={"model": "m", "name": f"a{n}"})["id"]
           for n in range(5)]
    assert send(client, "getAssistant", f"/v1/assistants/{ids[1]}", 200)["name"] == "a1"

    seen, url = [], "/v1/assistants?limit=2"
    while url:
        page = send(client, "listAssistants", url, 200)
        got = [item["id"] for item in page["data"]]
        assert (page["first_id"], page["last_id"]) == (got[0], got[-1])
        seen += got
        assert len(seen) <= 5, "has_more never turns false"
        url = f"/v1/assistants?limit=2&after={page['last_id']}" if page["has_more"] else None
    assert seen == ids[::-1]  # `order` defaults to desc: newest first, each once, then has_more false

    oldest = send(client, "listAssistants", "/v1/assistants?limit=2&order=asc", 200)
    assert [item["id"] for item in oldest["data"]] == ids[:2] and oldest["has_more"]
    following = send(client, "listAssistants", f"/v1/assistants?limit=2&order=asc&after={ids[1]}", 200)
    assert [item["id"] for item in following["data"]] == ids[2:4]
    before = send(client, "listAssistants", f"/v1/assistants?limit=2&order=asc&before={ids[4]}", 200)
    assert [item["id"] for item in before["data"]] == ids[2:4]

    assert send(client, "modifyAssistant", f"/v1/assistants/{ids[0]}", 200, json={"name": "z"})["name"] == "z"
    assert send(client, "deleteAssistant", f"/v1/assistants/{ids[0]}", 200)["id"] == ids[0]
    send(client, "getAssistant", f"/v1/assistants/{ids[0]}", 404)
    rest = send(client, "listAssistants", "/v1/assistants?limit=10", 200)
    assert [item["id"] for item in rest["data"]] == ids[:0:-1]


def test_markers_page_an_all_of_envelope_beside_another_array(client):
    made = [send(client, "createWebhook", "/2.0/webhooks", 201,
                 json={"address": f"https://example.com/{n}", "triggers": ["FILE.UPLOADED"]}) for n in range(5)]
    seen, url, pages = [], "/2.0/webhooks?limit=2", []
    while url:
        page = send(client, "listWebhooks", url, 200)
        assert page["limit"] == 2
        pages.append(page)
        assert len(pages) <= 3, "the markers never end"
        seen += page["entries"]
        url = f"/2.0/webhooks?limit=2&marker={page['next_marker']}" if page["next_marker"] else None
    assert seen == made and len(pages) == 3 and pages[0]["prev_marker"] is None
    back = send(client, "listWebhooks", f"/2.0/webhooks?limit=2&marker={pages[1]['prev_marker']}", 200)
    assert back["entries"] == made[:2]

    url = f"/2.0/webhooks/{made[0]['id']}"
    changed = send(client, "updateWebhook", url, 200, json={"address": "https://example.com/moved"})
    assert changed == {**made[0], "address": "https://example.com/moved"}  # triggers kept
    send(client, "deleteWebhook", url, 204)
    send(client, "getWebhook", url, 404)


def test_page_tokens_are_left_out_on_the_last_page(client):
    made = [send(client, "createTopic", "/v1/projects/p1/topics", 200, json={"labels": {"n": str(n)}})
            for n in range(3)]
    send(client, "createTopic", "/v1/projects/p2/topics", 200, json={})
    seen, url = [], "/v1/projects/p1/topics?pageSize=2"
    while url:
        page = send(client, "listTopics", url, 200)
        seen += page["topics"]
        assert len(seen) <= 3, "the page tokens never end"
        url = f"/v1/projects/p1/topics?pageSize=2&pageToken={page['nextPageToken']}" if "nextPageToken" in page \
            else None
    assert seen == made
    url = f"/v1/projects/p1/topics/{made[1]['topicId']}"
    assert send(client, "patchTopic", url, 200, json={"retention": "7d"}) == {**made[1], "retention": "7d"}
    send(client, "deleteTopic", url, 200)
    send(client, "getTopic", url, 404)


def test_item_paths_with_a_suffix_and_form_fields_in_another_case(client):
    made = [send(client, "createQueue", f"{QUEUES}.json", 201, data={"FriendlyName": f"q{n}", "MaxSize": "7"})
            for n in range(5)]
    queue = made[0]
    assert (queue["friendly_name"], queue["max_size"], queue["account_sid"]) == ("q0", 7, ACCOUNT)
    assert "FriendlyName" not in queue and queue["sid"].startswith("QU")
    assert send(client, "fetchQueue", f"{QUEUES}/{queue['sid']}.json", 200) == queue

    seen, url, numbers = [], f"{QUEUES}.json?PageSize=2", []
    while url:
        page = send(client, "listQueues", url, 200)
        numbers.append(page["page"])
        assert len(numbers) <= 3, "the next page links never end"
        assert page["page_size"] == 2 and local(page["first_page_uri"]).endswith("Page=0")
        seen += page["queues"]
        url = local(page["next_page_uri"]) if page["next_page_uri"] else None
    assert seen == made and numbers == [0, 1, 2]
    named = send(client, "listQueues", f"{QUEUES}.json?FriendlyName=q3", 200)  # the filter of `friendly_name`
    assert named["queues"] == [made[3]]

    url = f"{QUEUES}/{queue['sid']}.json"
    assert send(client, "updateQueue", url, 200, data={"FriendlyName": "renamed"}) == {
        **queue, "friendly_name": "renamed"}
    send(client, "deleteQueue", url, 204)
    send(client, "fetchQueue", url, 404)
    send(client, "deleteQueue", url, 404)
    rest = send(client, "listQueues", f"{QUEUES}.json", 200)
    assert [item["sid"] for item in rest["queues"]] == [item["sid"] for item in made[1:]]


def test_page_links_name_the_server_a_client_reached():
    with cli_server("--spec", str(PATTERNS)) as (_, url):
        session = requests.Session()
        session.headers.update(AUTH)
        for n in range(3):
            assert session.post(f"{url}/v2/account/keys", json={"ssh_key": {"name": f"k{n}", "public_key": "x"}},
                                timeout=10).status_code == 201
        seen, link = [], f"{url}/v2/account/keys?per_page=2"
        while link:
            page = session.get(link, timeout=10)
            assert page.status_code == 200
            seen += [key["id"] for key in page.json()["ssh_keys"]]
            assert len(seen) <= 3, "the links never end"
            link = page.json()["links"]["pages"].get("next")
            assert link is None or link.startswith(f"{url}/v2/account/keys?")
        assert seen == [1, 2, 3]
