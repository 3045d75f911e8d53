"""`x-mock-match: contains` on a list's query parameter (README "Spec extensions"): the filter keeps
items whose property holds the value in any case, on a document of the tests' own."""

from __future__ import annotations

import pytest
import yaml

from mockserver import Settings, create_app
from mockserver.spec import SpecError

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "notes", "version": "1"},
    "servers": [{"url": "http://example.test/notes-api"}],
    "paths": {
        "/notes": {
            "x-mock-unique": ["title"],
            "get": {
                "operationId": "listNotes",
                "parameters": [
                    {"name": "title", "in": "query", "schema": {"type": "string", "x-mock-match": "contains"}},
                    {"name": "tag", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "the notes", "content": {"application/json": {"schema": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Note"}}}}}},
            },
            "post": {
                "operationId": "createNote",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Note"}}}},
                "responses": {"201": {"description": "made", "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Note"}}}}},
            },
        },
    },
    "components": {"schemas": {"Note": {
        "type": "object", "required": ["title"],
        "properties": {"id": {"type": "integer", "readOnly": True}, "title": {"type": "string"},
                       "tag": {"type": "string"}}}}},
}


def app_of(tmp_path, document):
    path = tmp_path / "notes.yaml"
    path.write_text(yaml.safe_dump(document))
    return create_app(Settings(specs=(("notes", path),), vendors=()))


def test_contains_ignores_case_and_equality_stays_the_default(tmp_path):
    client = app_of(tmp_path, DOCUMENT).test_client()
    for title, tag in (("Shopping list", "Home"), ("Work LIST", "work"), ("Ideas", "home")):
        assert client.post("/notes-api/notes", json={"title": title, "tag": tag}).status_code == 201

    def titles(query):
        return [note["title"] for note in client.get(f"/notes-api/notes?{query}").get_json()]

    assert titles("title=list") == ["Shopping list", "Work LIST"]
    assert titles("title=LIST&tag=work") == ["Work LIST"]
    assert titles("title=shopping%20LIST") == ["Shopping list"]  # unique, yet not found by its index
    assert titles("tag=home") == ["Ideas"]  # no extension: equality, as stored
    assert titles("title=nothing") == []


def test_an_unknown_match_is_refused_at_load(tmp_path):
    document = yaml.safe_load(yaml.safe_dump(DOCUMENT))
    document["paths"]["/notes"]["get"]["parameters"][0]["schema"]["x-mock-match"] = "fuzzy"
    with pytest.raises(SpecError, match="x-mock-match must be one of contains"):
        app_of(tmp_path, document)
