"""The specs are valid OpenAPI 3.1, the loader reads any OpenAPI 3.0 or 3.1 document (YAML or JSON, relative
file references, recursive schemas, every media type and security scheme) and refuses what it cannot serve,
naming the file and the place. The documents under tests/specs/ are the project's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from mockserver import Settings, create_app
from mockserver.errors import MISSING
from mockserver.spec import SpecError, flask_rule, load_spec, specs_dir
from mockserver.vendors import discover
from mockserver.vendors.base import Vendor


@pytest.mark.parametrize("name", ["activepieces.yaml", "ampersand.yaml"])
def test_spec_is_valid_openapi(name):
    document, _ = read_from_filename(str(specs_dir() / name))
    validate(document)  # raises on any violation
    assert document["openapi"].startswith("3.1")


def test_every_vendor_has_a_handler_per_operation():
    for name, vendor in discover().items():
        spec = load_spec(specs_dir() / vendor.spec_file, name)
        assert set(spec.operations) == set(vendor.handlers)


def test_operation_ids_are_the_shared_vocabulary():
    ops = {name: set(load_spec(specs_dir() / v.spec_file, name).operations) for name, v in discover().items()}
    assert ops["activepieces"] == {"createProject", "listProjects", "getProject", "updateProject", "deleteProject"}
    assert ops["ampersand"] == {"createProject", "listProjects", "getProject", "updateProject"}


def test_mount_prefix_comes_from_the_servers_url():
    assert load_spec(specs_dir() / "activepieces.yaml", "activepieces").server_path == "/api"
    assert load_spec(specs_dir() / "ampersand.yaml", "ampersand").server_path == ""


def test_flask_rule():
    assert flask_rule("/v1/projects/{projectIdOrName}") == "/v1/projects/<projectIdOrName>"


def _write(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


MINIMAL = """openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /things:
    get:
      %s
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: %s
"""


@pytest.mark.parametrize(
    "text, message",
    [
        ("swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\n", "Swagger 2.0 (OpenAPI 2.0) is not supported"),
        ("openapi: 3.2.0\ninfo: {title: t, version: '1'}\npaths: {}\n", "not an OpenAPI 3.0 or 3.1 document"),
        ("info: {title: t}\n", "not an OpenAPI 3.0 or 3.1 document (no `openapi` field)"),
        ("{{{", "cannot parse the spec"),
        (MINIMAL % ("operationId: a", '{$ref: "#/components/schemas/Nope"}'), "unresolvable reference"),
        (MINIMAL % ("operationId: a", '{$ref: "other.yaml#/x"}'), "no file"),
        (MINIMAL % ("operationId: a", '{$ref: "https://example.com/s.yaml#/x"}'), "is not fetched"),
        (MINIMAL % ("operationId: a", "{type: 12}"), "invalid schema"),
        (MINIMAL % ("operationId: a", '{$ref: "#/components/schemas/A"}')
         + "components:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n"
         + "    B: {$ref: '#/components/schemas/A'}\n",
         "circular reference"),
    ],
)
def test_loader_errors_name_the_file_and_reason(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as error:
        load_spec(path, "test")
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_spec(tmp_path / "absent.yaml", "test")


def test_a_handler_missing_for_an_operation_stops_start_up():
    real = discover()["ampersand"]
    partial = Vendor(real.name, real.spec_file, {"createProject": real.handlers["createProject"]}, real.render_error)
    with pytest.raises(SpecError, match="handlers and spec disagree"):
        create_app(Settings(), vendors={"ampersand": partial})


def test_unknown_vendor_in_settings_stops_start_up():
    with pytest.raises(SpecError, match="unknown vendor"):
        create_app(Settings(vendors=("nope",)))


def test_one_vendor_only():
    client = create_app(Settings(vendors=("ampersand",))).test_client()
    assert client.get("/api/v1/projects", headers={"Authorization": "Bearer sk-x"}).status_code == 404
    assert client.get("/v1/projects", headers={"X-Api-Key": "k"}).status_code == 200


SPECS = Path(__file__).parent / "specs"


@pytest.fixture(scope="module")
def shop():
    return load_spec(SPECS / "shop-3.0.yaml", "shop")


@pytest.fixture(scope="module")
def notes():
    return load_spec(SPECS / "notes-3.1.json", "notes")


def test_a_3_0_document_loads_with_its_version(shop, notes):
    assert (shop.version, notes.version) == ("3.0", "3.1")
    assert set(shop.operations) == {"getPets", "addPet", "getPetsPetId", "deletePetsPetId", "putPhoto", "addNote",
                                    "getTree", "addOwner"}


def test_nullable_becomes_a_null_type_or_an_anyof(shop):
    pet = shop.schemas["Pet"]["properties"]
    assert pet["nickname"] == {"type": ["string", "null"]}
    assert pet["kind"] == {"type": ["string", "null"], "enum": ["dog", "cat", None]}
    assert pet["owner"]["anyOf"][1] == {"type": "null"}  # allOf + nullable: a type alone cannot say it
    body = shop.operations["addPet"].body_validator
    assert body.is_valid({"name": "Rex", "nickname": None, "kind": None, "owner": None})
    assert body.is_valid({"name": "Rex", "owner": {"name": "Ann"}})
    assert not body.is_valid({"name": "Rex", "owner": {}})  # the allOf still applies to an object
    assert not body.is_valid({"name": None})


def test_boolean_exclusive_bounds_become_numbers(shop):
    price = shop.schemas["Pet"]["properties"]["price"]
    assert price == {"type": "number", "maximum": 1000, "exclusiveMinimum": 0}
    body = shop.operations["addPet"].body_validator
    assert not body.is_valid({"name": "R", "price": 0})
    assert body.is_valid({"name": "R", "price": 1000})
    limit = shop.operations["getPets"].parameters[0]
    assert limit.schema == {"type": "integer", "maximum": 100, "exclusiveMinimum": 0}


def test_example_stays_and_yaml_dates_are_text(shop):
    assert shop.schemas["Pet"]["properties"]["born"]["example"] == "2020-01-31"


def test_a_3_1_document_is_used_as_written(notes):
    note = notes.schemas["Note"]["properties"]
    assert note["parent"] == {"type": ["string", "null"]}
    assert note["score"] == {"type": "number", "exclusiveMinimum": 0}


def test_relative_file_references_resolve_against_the_referring_file(shop):
    problem = shop.operations["addPet"].responses["4XX"].schema  # shop -> common.yaml -> owner.json#/$defs
    assert problem["properties"]["owner"]["properties"]["zip"] == {"type": ["string", "null"]}
    owner = shop.operations["addOwner"].body_schema  # a whole file, its own `#/...` inside it
    assert owner["properties"]["address"]["properties"]["city"] == {"type": "string"}


def test_a_recursive_schema_is_expanded_once_then_keeps_only_its_type(shop, notes):
    tree = shop.operations["getTree"].responses["200"].schema
    # any object, as a generated `{}` is; marked, so that an optional property of it is not generated
    assert tree["properties"]["children"]["items"] == {"type": "object", "x-mock-recursion": True}
    deep = {"label": "a", "children": [{"label": "b", "children": [{"label": 3}]}]}
    assert shop.operations["getTree"].responses["200"].validator.is_valid(deep)
    assert not shop.operations["getTree"].responses["200"].validator.is_valid({"label": 3})
    assert notes.operations["createNote"].body_schema["properties"]["next"] == {"type": "object",
                                                                                "x-mock-recursion": True}


def test_missing_operation_ids_are_made_from_method_and_path_and_stay_unique(shop, notes):
    assert shop.operations["getPetsPetId"].synthesized_id
    assert not shop.operations["addPet"].synthesized_id
    assert notes.paths["/notes/{id}"]["GET"].operation_id == "getNotesId2"  # getNotesId is declared
    assert notes.paths["/notes/{id}/"]["GET"].operation_id == "getNotesId"


def test_server_variables_take_their_defaults_and_a_relative_url_is_a_path(shop, notes, tmp_path):
    assert shop.server_url == "https://shop.example.test/shop/v1"
    assert shop.server_path == "/shop/v1"
    assert (notes.server_url, notes.server_path) == ("/api/notes/", "/api/notes")
    bare = load_spec(_write(tmp_path, MINIMAL % ("operationId: a", "{type: object}")), "bare")
    assert (bare.server_url, bare.server_path) == ("/", "")


def test_every_request_media_type_is_kept_and_the_json_one_is_the_body_schema(shop, notes):
    add = shop.operations["addPet"]
    assert list(add.body_media) == ["application/json", "application/xml", "application/x-www-form-urlencoded",
                                    "multipart/form-data"]
    assert add.body_schema == add.body_media["application/json"].schema and add.body_required
    assert add.body_media["multipart/form-data"].encoding == {"photo": {"contentType": "image/png"}}
    assert shop.operations["putPhoto"].body_schema == {"type": "string", "format": "binary"}
    assert list(shop.operations["addOwner"].body_media) == ["application/vnd.shop+json", "text/xml"]
    assert shop.operations["addOwner"].body_schema["required"] == ["name"]  # the +json one
    create = notes.operations["createNote"]
    assert create.body_schema["required"] == ["text"]  # +json before */*
    assert create.body_media["*/*"].schema == {"type": "string"}


def test_responses_prefer_json_and_keep_headers_examples_and_schema(shop, notes):
    created = shop.operations["addPet"].responses["201"]
    assert created.media_type == "application/json"  # though application/xml is listed first
    assert set(created.media) == {"application/xml", "application/json"}
    assert created.example == {"id": 1, "name": "Rex", "price": 3.5, "tags": ["good"]}
    assert created.headers["X-Rate-Limit"]["schema"] == {"type": ["integer", "null"]}
    assert created.schema["xml"] == {"name": "pet"}
    got = shop.operations["getPetsPetId"].responses["200"]
    assert got.example is MISSING and got.examples["rex"]["value"]["name"] == "Rex"
    assert shop.operations["addPet"].responses["4XX"].media_type == "application/problem+json"
    assert notes.operations["getNotes"].responses["200"].media_type == "text/csv"
    assert shop.operations["deletePetsPetId"].responses["204"].media_type is None
    assert set(shop.operations["deletePetsPetId"].responses) == {"204", "default"}
    assert shop.operations["addPet"].response(422).status == "4XX"  # `4xx` as written


def test_every_security_scheme_type_loads(shop):
    names = {name for op in shop.operations.values() for name, _ in op.security}
    assert names == {"basicAuth", "oauth", "apiKeyCookie", "headerKey", "queryKey", "oidc", "digest"}
    get = shop.operations["getPetsPetId"]
    assert get.anonymous and [name for name, _ in get.security] == ["apiKeyCookie"]  # `{}`: optional
    delete = shop.operations["deletePetsPetId"]  # only mutualTLS: nothing a mock over HTTP can ask for
    assert delete.security == () and not delete.anonymous
    assert [name for name, _ in shop.operations["getPets"].security] == ["basicAuth", "oauth"]  # the default


def test_the_same_document_as_json_and_as_yaml(tmp_path):
    document = yaml.safe_load((SPECS / "shop-3.0.yaml").read_text())
    (tmp_path / "schemas").mkdir()
    for name in ("common.yaml", "owner.json"):
        (tmp_path / "schemas" / name).write_text((SPECS / "schemas" / name).read_text())
    document["components"]["schemas"]["Pet"]["properties"]["born"]["example"] = "2020-01-31"
    as_json = tmp_path / "shop.json"
    as_json.write_text(json.dumps(document, indent="\t"))  # JSON may indent with tabs; YAML may not
    from_json = load_spec(as_json, "shop")
    from_yaml = load_spec(SPECS / "shop-3.0.yaml", "shop")
    assert from_json.schemas == from_yaml.schemas
    assert {k: (op.body_schema, list(op.body_media)) for k, op in from_json.operations.items()} == \
        {k: (op.body_schema, list(op.body_media)) for k, op in from_yaml.operations.items()}


def test_an_80_operation_document_loads(tmp_path):
    paths = {}
    for n in range(20):
        item = {"$ref": "#/components/schemas/Item"}
        paths[f"/things{n}"] = {
            "get": {"responses": {"200": {"description": "ok", "content": {"application/json": {
                "schema": {"type": "array", "items": item}}}}}},
            "post": {"requestBody": {"content": {"application/json": {"schema": item}}},
                     "responses": {"201": {"description": "ok", "content": {"application/json": {"schema": item}}}}},
        }
        paths[f"/things{n}/{{id}}"] = {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": item}}},
                                  "404": {"description": "no"}}},
            "delete": {"responses": {"204": {"description": "gone"}}},
        }
    item = {"type": "object", "required": ["name"], "properties": {
        "id": {"type": "string", "format": "uuid", "readOnly": True}, "name": {"type": "string", "nullable": True},
        "parent": {"$ref": "#/components/schemas/Item"}, "size": {"type": "integer", "minimum": 0}}}
    document = {"openapi": "3.0.3", "info": {"title": "big", "version": "1"}, "paths": paths,
                "components": {"schemas": {"Item": item}}}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(document))
    spec = load_spec(path, "big")
    assert len(spec.operations) == 80
    assert spec.operations["getThings7Id"].responses["200"].schema["properties"]["parent"] == {
        "type": "object", "x-mock-recursion": True}


EXTERNAL = MINIMAL % ("operationId: a", '{$ref: "parts/a.yaml#/A"}')


@pytest.mark.parametrize(
    "part, message",
    [
        ("A: {$ref: '#/B'}\n", "parts/a.yaml: #/A: unresolvable reference '#/B'"),
        ("A: {$ref: 'http://example.com/x.yaml'}\n", "parts/a.yaml: #/A: remote reference"),
        ("A: [unclosed\n", "parts/a.yaml: cannot parse the spec"),
        ("A: {$ref: '#anchor'}\n", "only JSON pointers"),
    ],
)
def test_errors_in_a_referenced_file_name_that_file_and_the_place(tmp_path, part, message):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "a.yaml").write_text(part)
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("*", r"\*")):
        load_spec(_write(tmp_path, EXTERNAL), "test")


@pytest.mark.parametrize(
    "text, message",
    [
        ("openapi: 3.0.0\ninfo: {title: t, version: '1'}\nservers: [{url: 'https://{host}/v1'}]\npaths: {}\n",
         "servers[0]: the variable {host} has no default"),
        ("- 1\n", "not an OpenAPI document"),
        (MINIMAL % ("operationId: 12", "{type: object}"), "operationId must be a string"),
        (MINIMAL % ("operationId: a\n      parameters: {name: x}", "{type: object}"), "parameters must be a list"),
        (MINIMAL % ("operationId: a\n      parameters: [{name: x, in: body}]", "{type: object}"),
         "a parameter needs a `name` and an `in`"),
        (MINIMAL % ("operationId: a\n      security: {a: []}", "{type: object}"), "security must be a list"),
        (MINIMAL % ("operationId: a\n      security: [a]", "{type: object}"), "a security requirement must be"),
    ],
)
def test_more_loader_errors(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as error:
        load_spec(path, "test")
    assert str(path) in str(error.value) and message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_dense_web_of_recursive_schemas_loads_finite(tmp_path):
    # 30 schemas, each referring to 4 others: fully expanded once per path, this is exponential.
    schemas = {f"S{i}": {"type": "object", "properties": {
        "name": {"type": "string"}, **{f"p{j}": {"$ref": f"#/components/schemas/S{(i * 7 + j * 3 + 1) % 30}"}
                                       for j in range(4)}}} for i in range(30)}
    paths = {f"/s{i}": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/S{i}"}}}}}}} for i in range(30)}
    path = tmp_path / "web.json"
    path.write_text(json.dumps({"openapi": "3.1.0", "info": {"title": "w", "version": "1"}, "paths": paths,
                                "components": {"schemas": schemas}}))
    spec = load_spec(path, "web")
    schema = spec.operations["getS0"].responses["200"].schema

    def depth(node):
        inner = [depth(sub) for sub in node.get("properties", {}).values()]
        return 1 + max(inner, default=0) if "type" in node else 0

    assert depth(schema) == 4  # three schemas of the web nested, then only the type (`object`)
    assert spec.operations["getS0"].responses["200"].validator.is_valid({"name": "a", "p0": {"p1": {"p2": {}}}})
    assert not spec.operations["getS0"].responses["200"].validator.is_valid({"p0": {"p1": {"p2": 7}}})
    assert not spec.operations["getS0"].responses["200"].validator.is_valid({"name": 1})


def test_slips_of_public_documents_load_as_their_authors_meant(tmp_path, caplog):
    """An undefined security scheme is ignored with a warning; a 3.0-style boolean `exclusiveMinimum`
    in a 3.1 document bounds as 3.0 reads it (2020-12 would refuse the schema)."""
    path = tmp_path / "slips.yaml"
    param = "{name: n, in: query, schema: {type: number, minimum: 1, exclusiveMinimum: true}}"
    path.write_text(MINIMAL % (f"operationId: a\n      security: [{{nope: []}}]\n      parameters:\n        - {param}",
                               "{type: object}"))
    spec = load_spec(path, "slips")
    operation = spec.operations["a"]
    assert operation.security == () and "unknown security scheme 'nope' is ignored" in caplog.text
    (param,) = operation.parameters
    assert not param.validator.is_valid(1) and param.validator.is_valid(1.5)


def test_references_through_symbolic_links_reach_the_files_the_system_names(tmp_path):
    # `link/../parts.yaml`: `link` is another folder, so `..` is that folder's parent, not this one
    (tmp_path / "real" / "schemas").mkdir(parents=True)
    (tmp_path / "real" / "parts.yaml").write_text("A: {type: integer}\n")
    (tmp_path / "parts.yaml").write_text("A: {type: string}\n")  # what reading the path as text would find
    (tmp_path / "link").symlink_to(tmp_path / "real" / "schemas")
    (tmp_path / "real" / "schemas" / "b.yaml").write_text("B: {$ref: '../parts.yaml#/A'}\n")
    (tmp_path / "alias.yaml").symlink_to(tmp_path / "real" / "schemas" / "b.yaml")  # a file linked too
    path = tmp_path / "api.yaml"
    path.write_text(MINIMAL % ("operationId: a", '{type: object, properties: {x: {$ref: "link/../parts.yaml#/A"}, '
                               'y: {$ref: "alias.yaml#/B"}, z: {$ref: "link/b.yaml#/B"}}}'))
    schema = load_spec(path, "linked").operations["a"].responses["200"].schema
    assert [schema["properties"][name] for name in "xyz"] == [{"type": "integer"}] * 3
