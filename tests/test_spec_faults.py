"""A document with small metaschema faults (a repeated `required` entry, 2019-09's `$recursiveAnchor`)
starts, repaired, with one warning line per fault (logged and listed in health); `--strict-spec`
refuses it as before. A document that cannot be used (no operation, a broken `$ref`) still refuses."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from mockserver import Settings, create_app
from mockserver.spec import SpecError, load_spec
from tests.helpers import cli_server

FAULTY = Path(__file__).parent / "specs" / "metaschema-faults.yaml"


def test_a_faulty_document_loads_with_one_warning_line_per_fault(caplog):
    with caplog.at_level(logging.WARNING, logger="mockserver"):
        spec = load_spec(FAULTY, "faulty", strict=False)
    assert len(spec.faults) == 2, spec.faults
    repeated, anchor = sorted(spec.faults, key=lambda line: "$recursiveAnchor" in line)
    assert "has non-unique elements" in repeated and "repeats ignored" in repeated
    assert "$recursiveAnchor" in anchor and "ignored" in anchor
    assert all(fault in caplog.text for fault in spec.faults)


def test_once_repaired_the_compiled_metaschema_check_answers_alone(monkeypatch):
    # A verdict remembered before a repair (the faulty node, the schemas holding it) must not outlive
    # it: jsonschema's own check, which the compiled one falls back to, took 40 s on OpenAI's document.
    from jsonschema import Draft202012Validator

    from mockserver import spec as spec_module

    spec_module._load_spec.cache_clear()
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", "off")
    asked = []
    monkeypatch.setattr(Draft202012Validator, "check_schema", classmethod(lambda cls, schema: asked.append(schema)))
    spec = load_spec(FAULTY, "faulty", strict=False)
    spec_module._load_spec.cache_clear()
    assert len(spec.faults) == 2 and asked == []


def test_strict_loading_refuses_it():
    with pytest.raises(SpecError, match="invalid schema: "):
        load_spec(FAULTY, "faulty")


def test_the_repaired_document_is_served_statefully_and_lists_its_faults_in_health():
    app = create_app(Settings(specs=(("faulty", FAULTY),)))
    client = app.test_client()
    created = client.post("/faulty/containers", json={"name": "web", "filter": {"key": "a"}})
    assert created.status_code == 201, created.get_json()
    container = created.get_json()
    assert container["name"] == "web" and container["filter"] == {"key": "a"}
    assert client.get(f"/faulty/containers/{container['id']}").get_json() == container
    assert client.get("/faulty/containers").get_json()["data"] == [container]
    assert client.post("/faulty/containers", json={}).status_code == 422  # `name` still required
    health = client.get("/__mock/health").get_json()
    faulty = next(vendor for vendor in health["vendors"] if vendor["name"] == "faulty")
    assert len(faulty["specFaults"]) == 2
    assert all("specFaults" not in vendor for vendor in health["vendors"] if vendor["name"] != "faulty")
    app.extensions["mockserver"].store.close()


def test_the_cli_starts_it_warning_on_stderr_and_strict_spec_refuses_it():
    with cli_server("--spec", str(FAULTY)) as (_, base):
        assert requests.post(f"{base}/faulty/containers", json={"name": "db"}, timeout=10).status_code == 201
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", "0", "--strict-spec",
                             "--spec", str(FAULTY)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "invalid schema" in lines[0], result.stderr


@pytest.mark.parametrize(("document", "message"), [
    ("openapi: 3.1.0\ninfo: {title: t, version: '1'}\n", "no operation under `paths`"),
    ("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n"
     "        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/No'}}}}\n",
     "unresolvable reference"),
])
def test_a_document_that_cannot_be_used_still_refuses(tmp_path, document, message):
    path = tmp_path / "broken.yaml"
    path.write_text(document)
    with pytest.raises(SpecError, match=message):
        create_app(Settings(specs=(("broken", path),)))


MEANT = """
openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /messages:
    post:
      operationId: send
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [message]
              properties:
                seed: {type: integer, nullable: true}
                message:
                  oneOf: [{$ref: '#/components/schemas/Developer'}, {$ref: '#/components/schemas/User'},
                          {$ref: '#/components/schemas/Item'}]
                  discriminator: {propertyName: role}
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object}}}}
components:
  schemas:
    Developer:
      type: object
      required: [role]
      properties: {role: {type: string, enum: [developer]}, content: {type: string}}
    User:
      type: object
      required: [role]
      properties: {role: {type: string, const: user}, name: {type: string}}
    Item:
      oneOf:
        - type: object
          required: [role, output]
          properties: {role: {type: string, enum: [tool_output]}, output: {type: string}}
"""


def test_3_0_habits_in_a_3_1_document_are_read_as_meant(tmp_path):
    """`nullable: true` takes a null; a discriminator without `mapping` whose branches pin the
    property (`enum: [developer]`) takes those values, which the branches themselves require."""
    path = tmp_path / "meant.yaml"
    path.write_text(MEANT)
    app = create_app(Settings(specs=(("meant", path),)))
    client = app.test_client()
    for message in ({"role": "developer", "content": "hi"}, {"role": "user", "name": "ann"},
                    {"role": "tool_output", "output": "42"}):
        response = client.post("/messages", json={"seed": None, "message": message})
        assert response.status_code == 200, response.get_json()
    assert client.post("/messages", json={"message": {"role": "Developer"}}).status_code == 422
    assert client.post("/messages", json={"seed": "x", "message": {"role": "user"}}).status_code == 422
    app.extensions["mockserver"].store.close()
