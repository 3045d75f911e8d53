"""What start-up leaves for later, and that it still works when later comes: URL builders compiled on
first use, validators built on first use (a bad schema still stops start-up)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mockserver import Settings, create_app
from mockserver import spec as spec_module
from mockserver.spec import SpecError, load_spec

SHOP = Path(__file__).parent / "specs" / "shop.yaml"


def test_every_route_still_builds_its_url():
    app = create_app(Settings(specs=(("shop", SHOP),)))
    adapter = app.url_map.bind("localhost")
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 20 and all(type(rule) is app.url_rule_class for rule in rules)
    for rule in rules:
        values = {name: f"v-{name}" for name in rule.arguments}
        method = sorted(set(rule.methods or {"GET"}) - {"HEAD", "OPTIONS"} or rule.methods)[0]
        expected = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: f"v-{m.group(1)}", rule.rule)
        assert adapter.build(rule.endpoint, values, method=method) == expected, rule.rule
        assert adapter.build(rule.endpoint, {**values, "extra": "1"}, method=method) == expected + "?extra=1"


def test_validators_are_built_on_first_use_and_a_bad_schema_still_stops_the_load(tmp_path):
    spec = load_spec(SHOP, "shop")
    validator = spec.operations["createProduct"].body_validator
    assert validator.is_valid({"name": "Dune", "price": 1}) and not validator.is_valid({"name": 5})
    assert [e.validator for e in validator.iter_errors({"price": "x"})] in (["required", "type"], ["type", "required"])
    bad = tmp_path / "bad.yaml"
    bad.write_text(SHOP.read_text().replace("price: {type: number", "price: {type: 7", 1))
    assert bad.read_text() != SHOP.read_text()
    with pytest.raises(SpecError, match=r"invalid schema"):
        load_spec(bad, "bad")
    spec_module._load_spec.cache_clear()


# What a cached start and a valid first request never import: jsonschema and what it brings (its
# format packages' grammars, referencing, attrs, rpds) were ~30% of start-up. They are imported when a
# value first fails a compiled check, or a schema is checked against the metaschema (a first load).
DEFERRED = ("jsonschema", "jsonschema_specifications", "referencing", "rfc3986_validator", "rfc3339_validator",
            "isoduration", "uri_template", "fqdn", "jsonpointer", "yaml")

# argv: the packages to look for (JSON), then `serve`'s flags.
_FIRST_REQUEST = """
import json, sys
from mockserver.cli import parser, settings_from
from mockserver.app import create_app
app = create_app(settings_from(parser().parse_args(["serve", "--port", "0", *sys.argv[2:]])))
client = app.test_client()
ap = client.post("/api/v1/projects", json={"displayName": "Acme", "externalId": "e1"},
                 headers={"Authorization": "Bearer sk-1"})
amp = client.post("/v1/projects", headers={"X-Api-Key": "key-1"},
                  json={"appName": "App", "name": "first", "orgId": "9f7c3e2a-61b8-4f5c-8d1a-eb24f3b05d79"})
reset = client.post("/__mock/reset", json={"vendor": "ampersand", "credential": "key-1"})  # a fixture's call
print(json.dumps({"statuses": [ap.status_code, amp.status_code, reset.status_code],
                  "loaded": sorted(name for name in sys.modules if name.split(".")[0] in json.loads(sys.argv[1]))}))
"""


def _first_request(cache: Path, *args: str) -> dict:
    import json
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _FIRST_REQUEST, json.dumps(DEFERRED), *args], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "MOCKSERVER_CACHE_DIR": str(cache)}, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_cached_start_a_valid_first_create_and_a_reset_import_no_jsonschema(tmp_path):
    first = _first_request(tmp_path, "--spec", f"shop={SHOP}")  # fills the cache: the documents are read
    assert first["statuses"] == [201, 201, 200] and "yaml" in first["loaded"]
    again = _first_request(tmp_path, "--spec", f"shop={SHOP}")
    assert again["statuses"] == [201, 201, 200] and again["loaded"] == []


# A document whose create generates what the client does not send: an id (uuid), times (date-time), a
# patterned code. The generated values are checked against the schema: a compiled check, which
# needs no jsonschema for them.
GENERATING = """
openapi: 3.1.0
info: {title: things, version: "1"}
paths:
  /things:
    post:
      operationId: createThing
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: '#/components/schemas/NewThing'}}}
      responses:
        '201': {description: made, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
  /things/{thingId}:
    get:
      operationId: getThing
      parameters: [{name: thingId, in: path, required: true, schema: {type: string, format: uuid}}]
      responses:
        '200': {description: one, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
components:
  schemas:
    NewThing: {type: object, required: [name], properties: {name: {type: string}}}
    Thing:
      allOf:
        - $ref: '#/components/schemas/NewThing'
        - type: object
          required: [id, createdAt, code]
          properties:
            id: {type: string, format: uuid, readOnly: true}
            createdAt: {type: string, format: date-time, readOnly: true}
            code: {type: string, pattern: '^[A-Z]{3}-[0-9]{4}$', readOnly: true}
"""

_FIRST_CREATE = """
import json, sys
from mockserver import Settings, create_app
app = create_app(Settings(specs=(("things", sys.argv[2]),)))
answer = app.test_client().post("/things", json={"name": "one"})
print(json.dumps({"status": answer.status_code, "body": answer.get_json(),
                  "loaded": sorted(name for name in sys.modules if name.split(".")[0] in json.loads(sys.argv[1]))}))
"""


def test_a_first_create_that_generates_values_imports_no_jsonschema(tmp_path):
    import json
    import os
    import subprocess
    import sys

    document = tmp_path / "things.yaml"
    document.write_text(GENERATING)
    runs = [json.loads(subprocess.run([sys.executable, "-c", _FIRST_CREATE, json.dumps(DEFERRED), str(document)],
                                      capture_output=True, text=True, timeout=120, check=True,
                                      env={**os.environ, "MOCKSERVER_CACHE_DIR": str(tmp_path / "cache")}
                                      ).stdout.strip().splitlines()[-1]) for _ in range(2)]
    body = runs[1]["body"]
    assert runs[1]["status"] == 201 and body["name"] == "one"
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", body["id"])
    assert re.fullmatch(r"[A-Z]{3}-\d{4}", body["code"])
    assert "yaml" in runs[0]["loaded"]  # the first start read the document; the second, the cache
    assert runs[1]["loaded"] == []
