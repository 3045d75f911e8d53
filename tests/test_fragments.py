"""Operations sharing a URL and method, written as `path#fragment` keys (tests/specs/fragments.yaml):
the request picks one (the one whose pinned values it names; else, of those it is valid for, the one whose
requirements it names most), whose role, checks, answer schema and journal name apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver import Settings, create_app
from mockserver.inference import InferenceError, infer
from mockserver.spec import load_spec

FRAGMENTS = Path(__file__).parent / "specs" / "fragments.yaml"
SPEC = load_spec(FRAGMENTS, "fragments")
AUTH = {"Authorization": "Bearer tok-1"}
LINK = {"url": "https://example.com/s/abc", "access": "open"}


@pytest.fixture
def client():
    app = create_app(Settings(specs=(("fragments", FRAGMENTS),)))
    yield app.test_client()
    app.extensions["mockserver"].store.close()


def send(client, method: str, url: str, operation_id: str, status: int = 200, headers: dict | None = None,
         **kwargs) -> dict:
    """The answer: the journal names `operation_id`, and its schema for `status` accepts the body."""
    response = client.open(url, method=method, headers={**AUTH, **(headers or {})}, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    entry = client.get("/__mock/requests").get_json()["requests"][-1]
    assert (entry["method"], entry["operationId"]) == (method, operation_id)
    body = response.get_json()
    errors = [error.message for error in SPEC.operations[operation_id].response(status).validator.iter_errors(body)]
    assert not errors, (operation_id, errors, body)
    return body


def test_fragment_paths_share_their_url_plain_path_first():
    assert [op.operation_id for op in SPEC.routes["/things/{id}"]["PUT"]] == ["updateThing", "addLink", "removeLink"]
    assert SPEC.routes["/things/{id}"]["GET"][0].operation_id == "getThing"
    roles = infer(SPEC)
    assert {name: (roles[name].kind, roles[name].collection.name) for name in ("addLink", "removeLink")} == {
        "addLink": ("merge", "things"), "removeLink": ("merge", "things")}  # their bodies hold no whole item


def test_each_request_picks_its_operation_and_the_changes_are_kept(client):
    thing = send(client, "POST", "/v1/things", "createThing", 201, json={"name": "a"})
    url = f"/v1/things/{thing['id']}"
    assert send(client, "PUT", url, "updateThing", json={"name": "b"})["name"] == "b"

    linked = send(client, "PUT", f"{url}?fields=link", "addLink", json={"link": LINK})
    assert linked["link"] == LINK and linked["name"] == "b"
    assert send(client, "GET", url, "getThing")["link"] == LINK

    unlinked = send(client, "PUT", f"{url}?fields=link", "removeLink", json={"link": None})
    assert unlinked["link"] is None and unlinked["name"] == "b"
    assert send(client, "GET", url, "getThing")["link"] is None


def test_a_request_that_is_not_a_fragment_operation_s_goes_to_the_plain_one(client):
    url = f"/v1/things/{send(client, 'POST', '/v1/things', 'createThing', 201, json={'name': 'a'})['id']}"
    # without the required `fields`, or with a value out of its enum: not addLink's request
    assert send(client, "PUT", url, "updateThing", json={"link": LINK})["link"] == LINK
    assert send(client, "PUT", f"{url}?fields=other", "updateThing", json={"link": None})["link"] is None
    # addLink's requirements, and properties only updateThing declares: updateThing's request
    both = send(client, "PUT", f"{url}?fields=link", "updateThing", json={"link": LINK, "name": "c", "note": "n"})
    assert (both["name"], both["note"], both["link"]) == ("c", "n", LINK)


def test_a_request_valid_for_none_is_refused_by_the_plain_operation(client):
    url = f"/v1/things/{send(client, 'POST', '/v1/things', 'createThing', 201, json={'name': 'a'})['id']}"
    refused = send(client, "PUT", f"{url}?fields=link", "updateThing", 422, json={"link": 5})
    assert "link" in refused["message"]
    # valid for addLink, which ignores `name`; but `name` is updateThing's, whose request this is, invalid
    refused = send(client, "PUT", f"{url}?fields=link", "updateThing", 422, json={"link": LINK, "name": ""})
    assert "name" in refused["message"]
    assert send(client, "PUT", "/v1/things/999?fields=link", "addLink", 404, json={"link": LINK})


def test_health_and_the_page_list_the_fragment_operations(client):
    assert "fragments" in [vendor["name"] for vendor in client.get("/__mock/health").get_json()["vendors"]]
    page = client.get("/__mock/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "addLink" in page and "removeLink" in page


def test_a_url_of_fragment_paths_alone_is_served_and_told_apart_by_media_type(client):
    assert send(client, "POST", "/v1/things/1/tags", "addTags", json=["a"]).keys() == {"added"}
    edited = send(client, "POST", "/v1/things/1/tags", "editTags", data='[{"op": "replace"}]',
                  content_type="application/json-patch+json")
    assert edited.keys() == {"edited"}
    refused = client.post("/v1/things/1/tags", headers=AUTH, data="[]", content_type="text/plain")
    assert refused.status_code == 415  # neither takes it: the first one's refusal
    assert client.get("/__mock/requests").get_json()["requests"][-1]["operationId"] == "addTags"


def test_a_request_naming_the_values_one_operation_pins_is_its_own_even_when_invalid(client):
    # `key: classification` is pinned by createClassification alone (`scope: enterprise` both allow)
    made = send(client, "POST", "/v1/templates", "createClassification",
                json={"key": "classification", "scope": "enterprise", "fields": ["secret"]})
    assert made.keys() == {"classification"}
    refused = send(client, "POST", "/v1/templates", "createClassification", 422,
                   json={"key": "classification", "scope": "enterprise", "fields": []})
    assert "fields" in refused["message"]  # valid for createTemplate, but createClassification's, and invalid
    refused = send(client, "POST", "/v1/templates", "createClassification", 422, json={"scope": "enterprise"})
    assert "key" in refused["message"]  # one value only it pins, none it pins otherwise: its request, invalid
    assert send(client, "POST", "/v1/templates", "createTemplate", 201,
                json={"key": "other", "scope": "enterprise", "fields": []}).keys() == {"template"}
    # invalid for both, and naming no pinned value: the plain operation's refusal
    assert "key" in send(client, "POST", "/v1/templates", "createTemplate", 422, json={"key": 5})["message"]
    # no body, which both take (their bodies are optional) and answer differently: only a body could say
    refused = send(client, "POST", "/v1/templates", "createTemplate", 422)  # the status it documents
    assert "createTemplate, createClassification" in refused["message"]


def test_finds_are_inferred_from_what_their_parameters_name():
    roles = infer(SPEC)
    assert {name: (roles[name].kind, roles[name].collection.name, roles[name].find_by) for name in (
        "findSharedThing", "findSharedNote", "findThingByName")} == {
        "findSharedThing": ("find", "things", (("header", "linkapi", None),)),  # its example's `link=` field
        "findSharedNote": ("find", "notes", (("header", "linkapi", None),)),
        "findThingByName": ("find", "things", (("query", "name", "name"),))}


def test_a_find_answers_the_item_holding_what_the_request_names(client):
    thing = send(client, "POST", "/v1/things", "createThing", 201, json={"name": "shared"})
    send(client, "POST", "/v1/things", "createThing", 201, json={"name": "other"})
    send(client, "PUT", f"/v1/things/{thing['id']}?fields=link", "addLink", json={"link": LINK})
    found = send(client, "GET", "/v1/shared_items", "findSharedThing", headers={"linkapi": f"link={LINK['url']}"})
    assert found == {**thing, "link": LINK}
    assert send(client, "GET", "/v1/things/by_name?name=shared", "findThingByName")["id"] == thing["id"]
    assert "nobody" in send(client, "GET", "/v1/things/by_name?name=nobody", "findThingByName", 404)["message"]


def test_finds_tied_on_a_request_answer_from_the_collection_holding_the_item(client):
    note_link = {"url": "https://example.com/s/note"}
    note = send(client, "POST", "/v1/notes", "createNote", 201, json={"text": "hi", "link": note_link})
    found = send(client, "GET", "/v1/shared_items", "findSharedNote",
                 headers={"linkapi": f"link={note_link['url']}&link_password=pw"})
    assert found == note
    # a link nothing holds: the plain operation's 404 (its `default`), whichever it could have been
    missing = send(client, "GET", "/v1/shared_items", "findSharedThing", 404,
                   headers={"linkapi": "link=https://example.com/s/none"})
    assert "https://example.com/s/none" in missing["message"]
    assert send(client, "GET", "/v1/shared_items", "findSharedThing", 404, headers={"linkapi": "junk"})


def test_x_mock_role_find_is_said_where_the_answer_does_not_show_it(tmp_path):
    text = FRAGMENTS.read_text().replace(
        '''      operationId: findThingByName
''', '''      operationId: findThingByName
      x-mock-role: find
''').replace('''          description: the thing of that name
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}''', '''          description: the thing of that name
          content:
            application/json:
              schema: {type: object}''')
    path = tmp_path / "fragments.yaml"
    path.write_text(text)
    role = infer(load_spec(path, "fragments"))["findThingByName"]
    assert (role.kind, role.collection.name, role.find_by) == ("find", "things", (("query", "name", "name"),))
    path.write_text(text.replace("{name: name, in: query, required: true", "{name: label, in: query, required: true"))
    with pytest.raises(InferenceError, match="find needs a required query or header parameter naming a property"):
        infer(load_spec(path, "fragments"))
    assert infer(load_spec(FRAGMENTS, "fragments"))["findThingByName"].kind == "find"  # inferred, unsaid


def test_a_request_with_no_body_tied_between_operations_answering_alike_is_the_first_s(client):
    assert send(client, "PUT", "/v1/notes/n1/pin", "pinNote").keys() >= {"id", "text"}
    assert send(client, "PUT", "/v1/notes/n1/pin", "unpinNote", json={"pinned": False}).keys() >= {"id", "text"}
