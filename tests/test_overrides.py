"""A vendor module on the engine: `build_vendor(spec, Overrides(...))` with a record codec (its own
flat records, rendered per answer) and its own steps around the engine's handlers; the rest (keys,
unique rules, normalisation, 404s, state export/import) is the engine's, from the document."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver import Settings, create_app
from mockserver.engine import build_vendor
from mockserver.inference import InferenceError
from mockserver.spec import SpecError, load_spec
from mockserver.store import Tenant
from mockserver.vendors.base import Codec, Cursors, Overrides, Reply

KEY = {"Authorization": "Bearer tok-1"}
NOTES = """
openapi: 3.1.0
info: {title: notes, version: "1"}
servers: [{url: /api}]
security: [{bearer: []}]
paths:
  /notes:
    x-mock-unique: [title]
    x-mock-normalize: {title: lowercase}
    post:
      operationId: createNote
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [title]
              properties:
                title: {type: string}
                color: {type: string, default: yellow}
      responses:
        "201": {description: made, content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}}
        "409": {description: taken}
    get:
      operationId: listNotes
      parameters:
        - {name: title, in: query, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1}}
        - {name: cursor, in: query, schema: {type: string}}
      responses:
        "200":
          description: a page
          content:
            application/json:
              schema:
                type: object
                required: [items, total, next, previous]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Note"}}
                  total: {type: integer}
                  next: {type: [string, "null"]}
                  previous: {type: [string, "null"]}
  /notes/{noteId}:
    parameters: [{name: noteId, in: path, required: true, schema: {type: string}}]
    get:
      operationId: getNote
      responses:
        "200": {description: one, content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}}
    patch:
      operationId: patchNote
      requestBody:
        content: {application/json: {schema: {type: object, properties: {title: {type: string}}}}}
      responses:
        "200": {description: changed, content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}}
        "404": {description: none}
        "409": {description: taken}
    delete:
      operationId: deleteNote
      responses:
        "204": {description: gone}
        "404": {description: none}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer, x-mock-credential-pattern: "^tok-."}
  schemas:
    Note:
      type: object
      additionalProperties: false
      required: [id, title, color, shouted]
      properties:
        id: {type: string, pattern: "^[0-9a-zA-Z]{21}$"}
        title: {type: string}
        color: {type: string}
        shouted: {type: string}
"""


def record(call, note, key, seq):
    return {"id": key, "seq": seq, "title": note["title"], "color": note["color"]}


def show(call, stored, kind):
    return {"id": stored["id"], "title": stored["title"], "color": stored["color"],
            "shouted": stored["title"].upper()}


def change(call, old, body, seq):
    return {**old, **body}


def around_get(call, engine):
    """A vendor's own step: `first` names the oldest note, then the engine answers."""
    if call.path["noteId"] == "first":
        oldest = next(iter(call.store.scan(call.tenant, "notes")), None)
        if oldest is not None:
            call.path = {**call.path, "noteId": oldest["id"]}
    return engine(call)


def write_cursor(direction, seq):
    return f"{direction}-{seq}"


def read_cursor(text):
    direction, _, seq = text.partition("-")
    return (direction, int(seq)) if seq.isdigit() else None


@pytest.fixture
def spec(tmp_path: Path):
    path = tmp_path / "notes.yaml"
    path.write_text(NOTES)
    return load_spec(path, "notes")


@pytest.fixture
def app(spec):
    vendor = build_vendor(spec, Overrides(codecs={"notes": Codec("note", record, show, change)},
                                          handlers={"getNote": around_get},
                                          cursors={"notes": Cursors(write_cursor, read_cursor)}))
    app = create_app(Settings(), vendors={"notes": vendor})
    yield app
    app.extensions["mockserver"].store.close()


def test_a_codec_keeps_flat_records_and_the_engine_does_the_rest(app):
    client = app.test_client()
    made = client.post("/api/notes", json={"title": "Shop"}, headers=KEY)
    assert made.status_code == 201
    note = made.get_json()
    # normalised and defaulted by the document's rules; the answer is the codec's object
    assert (note["title"], note["color"], note["shouted"]) == ("shop", "yellow", "SHOP")
    # the key's pattern takes 21-character base62 ids, made in the codec's namespace
    determinism = app.extensions["mockserver"].determinism
    assert note["id"] == determinism.base62_id("notes", "tok-1", "note", 1)
    stored = app.extensions["mockserver"].store.get(Tenant("notes", "tok-1"), "notes", note["id"])
    assert stored == {"id": note["id"], "seq": 1, "title": "shop", "color": "yellow"}

    assert client.post("/api/notes", json={"title": "SHOP"}, headers=KEY).status_code == 409
    assert client.get(f"/api/notes/{note['id']}", headers=KEY).get_json() == note
    assert client.get("/api/notes/first", headers=KEY).get_json() == note  # the vendor's step
    changed = client.patch(f"/api/notes/{note['id']}", json={"title": "Groceries"}, headers=KEY).get_json()
    assert changed["shouted"] == "GROCERIES"
    assert client.get("/api/notes", headers=KEY).get_json()["items"] == [changed]
    assert client.delete(f"/api/notes/{note['id']}", headers=KEY).status_code == 204
    gone = client.get(f"/api/notes/{note['id']}", headers=KEY)
    assert gone.status_code == 404 and "note " in gone.get_json()["detail"]  # the codec's entity


def test_a_codec_collection_exports_and_imports_as_the_api_shows_it(app):
    client = app.test_client()
    note = client.post("/api/notes", json={"title": "Shop"}, headers=KEY).get_json()
    exported = client.get("/__mock/state").get_json()
    assert exported["tenants"][0]["notes"] == [note]
    assert client.put("/__mock/state", json=exported).status_code == 200
    assert client.get(f"/api/notes/{note['id']}", headers=KEY).get_json() == note
    made = client.post("/api/notes", json={"title": "Next"}, headers=KEY).get_json()
    assert made["id"] == app.extensions["mockserver"].determinism.base62_id("notes", "tok-1", "note", 2)


def test_overrides_naming_nothing_in_the_document_stop_start_up(spec):
    with pytest.raises(InferenceError, match="no collection 'note'"):
        build_vendor(spec, Overrides(codecs={"note": Codec("note", record, show, change)}))
    with pytest.raises(InferenceError, match="no operation 'getNotes'"):
        build_vendor(spec, Overrides(handlers={"getNotes": lambda call, engine: Reply(200, {})}))


def test_a_security_scheme_declares_the_form_of_its_credentials(app, spec):
    client = app.test_client()
    assert client.get("/api/notes", headers={"Authorization": "Bearer tok-2"}).status_code == 200
    for refused in ("Bearer tok-", "Bearer sk-1"):
        assert client.get("/api/notes", headers={"Authorization": refused}).status_code == 401, refused
    with pytest.raises(SpecError, match="refuses a key of that form"):
        create_app(Settings(api_keys=(("notes", "sk-1"),)), vendors={"notes": build_vendor(spec)})


def test_lists_page_by_sequence_number_in_the_cursor_format_a_vendor_gives(app):
    client = app.test_client()
    for title in ("a", "b", "c", "d", "e"):
        client.post("/api/notes", json={"title": title}, headers=KEY)
    client.delete(f"/api/notes/{client.get('/api/notes/first', headers=KEY).get_json()['id']}", headers=KEY)
    first = client.get("/api/notes?limit=2", headers=KEY).get_json()
    assert ([n["title"] for n in first["items"]], first["total"], first["next"], first["previous"]) == \
        (["b", "c"], 4, "next-3", None)
    client.post("/api/notes", json={"title": "f"}, headers=KEY)  # a page stays where it was
    second = client.get("/api/notes?limit=2&cursor=next-3", headers=KEY).get_json()
    assert ([n["title"] for n in second["items"]], second["next"], second["previous"]) == \
        (["d", "e"], "next-5", "prev-4")
    back = client.get(f"/api/notes?limit=2&cursor={second['previous']}", headers=KEY).get_json()
    assert ([n["title"] for n in back["items"]], back["previous"]) == (["b", "c"], None)
    assert client.get("/api/notes?limit=2&cursor=nonsense", headers=KEY).get_json() == {**first, "total": 5}
    by_title = client.get("/api/notes?title=D", headers=KEY).get_json()  # the unique index, normalised
    assert [n["title"] for n in by_title["items"]] == ["d"] and by_title["total"] == 1


def test_without_overrides_the_engine_pages_the_same_way_with_its_own_cursors(spec):
    app = create_app(Settings(), vendors={"notes": build_vendor(spec)})
    client = app.test_client()
    for title in ("a", "b", "c"):
        client.post("/api/notes", json={"title": title}, headers=KEY)
    first = client.get("/api/notes?limit=2", headers=KEY).get_json()
    second = client.get(f"/api/notes?limit=2&cursor={first['next']}", headers=KEY).get_json()
    back = client.get(f"/api/notes?limit=2&cursor={second['previous']}", headers=KEY).get_json()
    assert [[n["title"] for n in page["items"]] for page in (first, second, back)] == [["a", "b"], ["c"], ["a", "b"]]
    assert (first["previous"], second["next"], back["next"]) == (None, None, first["next"])
    app.extensions["mockserver"].store.close()
