"""A discriminator without `mapping` whose branches pin the property to other values than their
schema names (`type: {enum: [custom]}` in `CustomCall`): requests take either, answers carry only
values a strict reader (the mapping's keys, else the schema names) knows, avoiding the others."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mockserver import Settings, create_app

SPEC = Path(__file__).parent / "specs" / "unnamed_discriminator.yaml"
DOCUMENT = yaml.safe_load(SPEC.read_text())


def strictly_unknown(schema: dict, value, at: str = "") -> list[str]:
    """Where the value holds a discriminator value a strict reader refuses: without `mapping`, a
    value is the name of a `$ref`'d branch; with one, a mapping key."""
    while "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    found = []
    disc = schema.get("discriminator")
    if disc and isinstance(value, dict):
        mapping = disc.get("mapping") or {b["$ref"].rsplit("/", 1)[-1]: b["$ref"] for b in schema["oneOf"]}
        named = value.get(disc["propertyName"])
        if named not in mapping:
            return [f"{at}/{disc['propertyName']}={named!r}"]
        return strictly_unknown({"$ref": mapping[named]}, value, at)
    if isinstance(value, dict):
        for name, item in value.items():
            if name in schema.get("properties", {}):
                found += strictly_unknown(schema["properties"][name], item, f"{at}/{name}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += strictly_unknown(schema["items"], item, f"{at}/{index}")
    return found


@pytest.fixture
def client():
    app = create_app(Settings(specs=(("d", SPEC),)))
    yield app.test_client()
    app.extensions["mockserver"].store.close()


CHAT = {"$ref": "#/components/schemas/Chat"}


def test_generated_answers_carry_only_values_a_strict_reader_knows(client):
    for number in range(6):
        created = client.post("/chats", json={"topic": f"t{number}"})
        digest = client.get("/digest")
        for response in (created, digest, client.get(f"/chats/{created.get_json()['id']}")):
            assert response.status_code in (200, 201), response.get_json()  # the self-check would say a 500
            chat = response.get_json()
            assert strictly_unknown(CHAT, chat) == [], chat
            # no branch of `calls` or `call` can be named: the required array is empty, the optional one left out
            assert chat["calls"] == [] and "call" not in chat, chat
            # a branch pinned to its own name, and a mapping, are still answered
            assert chat["named"]["type"] == "NamedCall", chat
            assert chat["mapped"]["type"] in ("function", "custom"), chat


def test_requests_stay_lenient(client):
    body = {"calls": [{"id": "a", "type": "custom", "input": "x"}, {"id": "b", "type": "function", "name": "f"}]}
    assert client.post("/chats", json=body).status_code == 201
    named = {"calls": [{"id": "a", "type": "CustomCall", "input": "x"}]}  # the name, which the branch refuses
    assert client.post("/chats", json=named).status_code == 422


def test_an_example_with_an_unknown_discriminator_value_is_generated_instead(client):
    response = client.get("/summary")
    assert response.status_code == 200
    summary = response.get_json()
    assert "call" not in summary and summary["title"] != "weekly", summary
    entry = client.get("/__mock/requests").get_json()["requests"][-1]
    assert any("/call/type ('custom') names no schema" in warning for warning in entry["warnings"]), entry


def test_where_the_value_cannot_be_avoided_the_pinned_one_is_answered(client):
    for _ in range(3):
        response = client.get("/busy")
        assert response.status_code == 200, response.get_json()  # valid for the document
        assert [call["type"] for call in response.get_json()["calls"]] in (["custom"], ["function"])


def test_the_fault_is_said_once_at_start_up(client):
    health = client.get("/__mock/health").get_json()
    faults = next(vendor for vendor in health["vendors"] if vendor["name"] == "d")["specFaults"]
    said = [fault for fault in faults if "pin the property to other values than their names" in fault]
    assert len(said) == 1 and said[0].endswith("(and 3 more places)"), faults


def test_the_served_document_gives_the_mapping_the_mock_reads(client):
    served = yaml.safe_load(client.get("/__mock/openapi/d.yaml").get_data(as_text=True))
    schemas = served["components"]["schemas"]
    call = schemas["Chat"]["properties"]["call"]["discriminator"]
    # the names and the pinned values both name their branch, so the busy answer's `custom` is known
    ref = "#/components/schemas/"
    assert call["mapping"] == {"FunctionCall": ref + "FunctionCall", "function": ref + "FunctionCall",
                               "CustomCall": ref + "CustomCall", "custom": ref + "CustomCall"}
    # a mapping the document gives is served as written; the file itself is not changed
    assert schemas["Chat"]["properties"]["mapped"]["discriminator"]["mapping"] == {
        "function": "#/components/schemas/FunctionCall", "custom": "#/components/schemas/CustomCall"}
    assert "mapping" not in DOCUMENT["components"]["schemas"]["Chat"]["properties"]["call"]["discriminator"]
    # answers stay valid for a strict reader of the served document too
    chat = client.post("/chats", json={"topic": "t"}).get_json()
    assert chat["calls"] == [] and "call" not in chat
