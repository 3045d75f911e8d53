"""Every format JSON Schema 2020-12 defines is checked, in requests and in the answers' self-check;
generated values meet them; a document's example that breaks its own schema is never answered."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver import Settings, create_app
from mockserver.fastschema import compile_check
from mockserver.generate import generate
from mockserver.spec import _FORMATS, compile_schema

SPEC = Path(__file__).parent / "specs" / "formats.yaml"
FORMATS_2020_12 = ("date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname",
                   "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template",
                   "json-pointer", "relative-json-pointer", "regex")
BAD = {"uri": "not a uri", "uri-reference": "a b", "iri": "no scheme", "iri-reference": "a b",
       "hostname": "-bad-.com", "idn-hostname": "-bad-.com", "json-pointer": "no-slash",
       "relative-json-pointer": "/x", "uri-template": "https://x/{broken", "duration": "P1X",
       "email": "nobody", "idn-email": "nobody", "ipv4": "300.1.1.1", "ipv6": "1::2::3",
       "date": "2025-02-30", "time": "25:00:00Z", "date-time": "2025-01-01 10:00", "uuid": "x-y",
       "regex": "(unclosed"}


@pytest.fixture
def client():
    app = create_app(Settings(specs=(("fmt", SPEC),)))
    yield app.test_client()
    app.extensions["mockserver"].store.close()


@pytest.mark.parametrize("name", FORMATS_2020_12)
def test_every_format_has_a_checker_and_generated_values_meet_it(name):
    assert name in _FORMATS.checkers, f"{name}: no checker (a format-nongpl package missing?)"
    value = generate({"type": "string", "format": name}, "seed")
    assert _FORMATS.conforms(value, name), (name, value)
    assert not _FORMATS.conforms(BAD[name], name), (name, BAD[name])


@pytest.mark.parametrize("name", FORMATS_2020_12)
def test_the_compiled_check_agrees_with_jsonschema_on_formats(name):
    schema = {"type": "string", "format": name}
    validator, check = compile_schema(schema, "test"), compile_check(schema, _FORMATS)
    good = generate(schema, "seed")
    assert check(good) and validator.is_valid(good)
    assert not check(BAD[name]) and not validator.is_valid(BAD[name])


@pytest.mark.parametrize(("field", "value"), [("url", "not a uri"), ("ref", "a b"), ("iri", "no scheme"),
                                              ("host", "-bad-.com"), ("pointer", "no-slash"),
                                              ("template", "https://x/{broken"), ("every", "P1X")])
def test_a_request_with_a_malformed_value_is_refused_naming_the_field(client, field, value):
    response = client.post("/fmt/links", json={"url": "https://example.com/a", field: value})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["message"]


def test_well_formed_values_are_stored_and_generated_ones_meet_their_formats(client):
    body = {"url": "https://example.com/a", "ref": "../b#c", "iri": "https://example.com/ü",
            "host": "api.example.com", "pointer": "/a/0", "relative": "1/a", "template": "/items/{id}",
            "every": "PT5M", "contact": "a@example.com", "address": "192.0.2.7"}
    created = client.post("/fmt/links", json=body)
    assert created.status_code == 201, created.get_json()
    link = created.get_json()
    assert {name: link[name] for name in body} == body
    # the document's example for `site` is no URI: a generated one answers
    assert link["site"] != "www example com" and _FORMATS.conforms(link["site"], "uri")
    assert client.get(f"/fmt/links/{link['id']}").get_json() == link


def test_an_example_that_breaks_its_own_schema_is_generated_instead_with_a_journal_warning(client):
    response = client.get("/fmt/about")
    assert response.status_code == 200
    about = response.get_json()
    assert about["homepage"] != "not a uri" and _FORMATS.conforms(about["homepage"], "uri")
    assert _FORMATS.conforms(about["docs"], "uri-template")
    entry = client.get("/__mock/requests").get_json()["requests"][-1]
    assert any("example breaks its schema" in warning for warning in entry["warnings"]), entry
