"""Bad control input is a 4xx naming the field, never a 500, now or later: lone surrogates, numbers
that are not what the schema says, `Prefer` values no int() should see. And numbers print as the
vendors' JavaScript and Go print them."""

from __future__ import annotations

import json

import pytest

from mockserver import Settings, create_app
from mockserver.jsontext import dumps, lone_surrogate_path
from tests.helpers import AMP, AP, ORG

JSON = {"Content-Type": "application/json"}
LONE = b'"a\\ud800b"'  # valid JSON, no UTF-8 text


def raw(client, method, path, body: bytes, headers=None):
    return client.open(path, method=method, data=body, headers={**JSON, **(headers or {})})


def everything_reads(client):
    """Every read of the mock answers (none is a lasting 500)."""
    for path, headers in [("/api/v1/projects", AP), ("/v1/projects", AMP), ("/__mock/state", {}),
                          ("/__mock/requests", {}), ("/__mock/", {})]:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.get_data()[:300])


# --- lone surrogates ------------------------------------------------------------------------------

def test_a_state_import_with_a_lone_surrogate_is_refused_naming_the_field(client):
    body = (b'{"tenants":[{"vendor":"activepieces","credential":"sk-test","projects":[{"displayName":'
            + LONE + b'}]}]}')
    response = raw(client, "PUT", "/__mock/state", body)
    assert response.status_code == 400
    assert response.get_json()["issues"][0]["name"] == "tenants[0].projects[0].displayName"
    assert "lone surrogate" in response.get_json()["message"]
    everything_reads(client)
    assert client.get("/__mock/state").get_json() == {"tenants": []}


def test_a_lone_surrogate_in_a_key_or_a_credential_is_refused_too(client):
    response = raw(client, "PUT", "/__mock/state", b'{"tenants":[{"vendor":"activepieces","credential":'
                   + LONE + b',"projects":[]}]}')
    assert response.status_code == 400 and response.get_json()["issues"][0]["name"] == "tenants[0].credential"
    response = raw(client, "POST", "/__mock/reset", b'{"vendor":"activepieces","credential":' + LONE + b"}")
    assert response.status_code == 400 and response.get_json()["issues"][0]["name"] == "credential"
    assert raw(client, "POST", "/__mock/faults", b'{"a\\udfffb":1}').status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/projects", "/api/v1/nowhere", "/v1/projects"])
def test_a_lone_surrogate_sent_to_a_vendor_route_leaves_every_read_working(client, path):
    headers = AMP if path.startswith("/v1") else AP
    body = b'{"displayName":' + LONE + b',"appName":' + LONE + b',"name":"mm-x","orgId":"' + ORG.encode() + b'"}'
    assert raw(client, "POST", path, body, headers).status_code < 500
    everything_reads(client)
    entry = next(e for e in client.get("/__mock/requests").get_json()["requests"] if e["method"] == "POST")
    assert "\ufffd" in json.dumps(entry["body"], ensure_ascii=False)


@pytest.mark.parametrize("charset", ["unicode_escape", "raw_unicode_escape"])
def test_a_text_body_whose_charset_makes_a_lone_surrogate_is_repaired(charset):
    from pathlib import Path

    from mockserver.bodies import decode_body
    from mockserver.spec import load_spec

    notes = load_spec(Path(__file__).parent / "specs" / "shop-3.0.yaml", "shop").operations["addNote"]
    text = decode_body(b"a\\ud800b", "text/plain", notes.body_media["text/plain"], f"text/plain; charset={charset}")
    assert text == "a\ufffdb"


def test_lone_surrogate_path_finds_strings_and_keys():
    assert lone_surrogate_path({"a": [1, {"b": "x\ud800"}]}) == ("a", 1, "b")
    assert lone_surrogate_path({"\udfff": 1}) == ("\udfff",)
    assert lone_surrogate_path({"a": ["\U0001f600"]}) is None


# --- numbers the schema does not take -------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/__mock/faults", b'{"status": 503.0}', "status"),
    ("POST", "/__mock/faults", b'{"delayMs": 1e3}', "delayMs"),
    ("POST", "/__mock/faults", b'{"status": 503, "times": 2.0}', "times"),
    ("POST", "/__mock/reset", b'{"seed": 1.0}', "seed"),
    ("PUT", "/__mock/state", b'{"tenants":[{"vendor":"activepieces","credential":"sk-t","sequence":2.0,'
                             b'"projects":[]}]}', "tenants[0].sequence"),
])
def test_an_integer_written_as_a_float_is_refused_naming_the_field(client, method, path, body, field):
    response = raw(client, method, path, body)
    assert response.status_code == 400
    assert response.get_json()["issues"][0]["name"] == field
    assert client.get("/__mock/faults").get_json() == {"faults": []}
    assert client.get("/__mock/health").get_json()["seed"] == 0


@pytest.mark.parametrize("body", [b'{"seed": NaN}', b'{"seed": Infinity}', b'{"seed": 1e999}', b'{"seed": 1' +
                                  b"0" * 5000 + b"}", b"[" * 100_000])
def test_numbers_no_json_parser_should_take_are_a_400(client, body):
    response = raw(client, "POST", "/__mock/reset", body)
    assert response.status_code == 400
    assert client.get("/__mock/health").get_json()["seed"] == 0


def test_a_fault_refused_for_its_type_never_makes_a_later_500(client):
    raw(client, "POST", "/__mock/faults", b'{"status": 503.0}')
    response = client.post("/v1/projects", headers=AMP, json={"appName": "A", "name": "mm-a", "orgId": ORG})
    assert response.status_code == 201


# --- Prefer ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["5" * 5000, "²", "٣", "1" * 12, "99999999999999999999", "-1", "+3", "3 0", ""])
@pytest.mark.parametrize("name", ["code", "delay"])
def test_a_prefer_value_that_is_no_small_ascii_number_is_a_400(client, name, value):
    response = client.post("/v1/projects", headers={**AMP, "Prefer": f"{name}={value}"},
                           json={"appName": "A", "name": "mm-a", "orgId": ORG})
    assert response.status_code == 400
    message = response.get_json()["message"]
    assert message.startswith(f"Prefer: {name}=") and len(message) < 300


# --- numbers printed as JavaScript and Go print them ----------------------------------------------

def test_an_activepieces_update_with_a_float_task_count_answers_it_as_javascript_does(client):
    created = client.post("/api/v1/projects", headers=AP, json={"displayName": "Acme"}).get_json()
    response = raw(client, "POST", f"/api/v1/projects/{created['id']}", b'{"plan": {"tasks": 7.0}}', AP)
    assert response.status_code == 200
    assert b'"tasks":7,' in response.data and b"7.0" not in response.data
    assert b'"tasks":7,' in client.get(f"/api/v1/projects/{created['id']}", headers=AP).data
    assert b"7.0" not in client.get("/__mock/state").data


@pytest.mark.parametrize(("value", "printed"), [
    (7.0, "7"), (-0.0, "0"), (0.5, "0.5"), (1e16, "10000000000000000"), (2.0 ** 60, "1152921504606847000"),
    (1e21, "1e+21"), ({"a": [1.0, "7.0", {"b": 2.50}]}, '{"a":[1,"7.0",{"b":2.5}]}'), ("v1.0", '"v1.0"'),
])
def test_integral_numbers_print_without_a_fraction(value, printed):
    assert dumps(value) == printed


def test_the_value_printed_is_not_changed():
    value = {"a": [1.0]}
    dumps(value)
    assert isinstance(value["a"][0], float)


def test_the_control_api_prints_numbers_the_same_way():
    client = create_app(Settings()).test_client()
    assert client.post("/__mock/faults", json={"delayMs": 5}).status_code == 201
    assert b".0" not in client.get("/__mock/faults").data
