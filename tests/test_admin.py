"""The control API under /__mock: its contract (admin.yaml), health, reset scopes, the served specs,
the admin token, and refusals that name the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from mockserver import Settings, create_app
from tests.helpers import AMP, AP, ORG

ADMIN_YAML = Path(__file__).parent.parent / "openapi" / "admin.yaml"
AP2 = {"Authorization": "Bearer sk-other"}


def ap_create(client, headers=AP, name="Acme"):
    return client.post("/api/v1/projects", headers=headers, json={"displayName": name})


def amp_create(client, name="mm-staging"):
    return client.post("/v1/projects", headers=AMP, json={"appName": "MailMonkey", "name": name, "orgId": ORG})


def ap_count(client, headers=AP):
    return len(client.get("/api/v1/projects", headers=headers).get_json()["data"])


def test_admin_yaml_is_a_valid_openapi_document():
    validate(yaml.safe_load(ADMIN_YAML.read_text()))


def test_health_names_version_seed_and_every_vendor_with_its_base_url(client):
    body = client.get("/__mock/health").get_json()
    assert body["status"] == "ok" and body["seed"] == 0 and body["clock"] == "fixed"
    assert {v["name"]: v["baseUrl"] for v in body["vendors"]} == {
        "activepieces": "http://localhost/api", "ampersand": "http://localhost"}
    assert body["vendors"][0]["openapi"] == "http://localhost/__mock/openapi/activepieces.yaml"


def test_reset_everything_forgets_state_journal_and_faults(client):
    ap_create(client)
    amp_create(client)
    client.post("/__mock/faults", json={"delayMs": 1})
    assert client.post("/__mock/reset", json={}).get_json() == {"status": "ok", "seed": 0}
    assert client.get("/__mock/state").get_json() == {"tenants": []}
    assert client.get("/__mock/requests").get_json()["requests"] == []
    assert client.get("/__mock/faults").get_json() == {"faults": []}


def test_reset_without_a_body_resets_everything(client):
    ap_create(client)
    assert client.post("/__mock/reset").status_code == 200
    assert ap_count(client) == 0


def test_reset_one_tenant_leaves_every_other_tenant_untouched(client):
    first = ap_create(client).get_json()
    ap_create(client, AP2)
    amp_create(client)
    response = client.post("/__mock/reset", json={"vendor": "activepieces", "credential": "sk-test"})
    assert response.status_code == 200
    assert ap_count(client) == 0 and ap_count(client, AP2) == 1
    assert len(client.get("/v1/projects", headers=AMP).get_json()) == 1
    # the tenant starts again: same sequence, same id
    assert ap_create(client).get_json()["id"] == first["id"]
    remaining = client.get("/__mock/requests").get_json()["requests"]
    assert {(e["vendor"], e["credential"]) for e in remaining[:3]} == {("activepieces", "sk…"), ("ampersand", "k…")}


def test_reset_one_vendor_leaves_the_other_vendor_untouched(client):
    ap_create(client)
    ap_create(client, AP2)
    amp_create(client)
    client.post("/__mock/reset", json={"vendor": "activepieces"})
    assert {e["vendor"] for e in client.get("/__mock/requests").get_json()["requests"]} == {"ampersand"}
    assert ap_count(client) == 0 and ap_count(client, AP2) == 0
    assert len(client.get("/v1/projects", headers=AMP).get_json()) == 1


def test_reset_scoped_to_a_vendor_removes_only_its_fault_rules(client):
    client.post("/__mock/faults", json={"vendor": "activepieces", "status": 503})
    client.post("/__mock/faults", json={"vendor": "ampersand", "status": 503})
    client.post("/__mock/reset", json={"vendor": "activepieces"})
    assert [rule["vendor"] for rule in client.get("/__mock/faults").get_json()["faults"]] == ["ampersand"]


def test_reset_with_a_seed_changes_the_ids_that_follow(client):
    first = ap_create(client).get_json()["id"]
    assert client.post("/__mock/reset", json={"seed": 7}).get_json() == {"status": "ok", "seed": 7}
    assert client.get("/__mock/health").get_json()["seed"] == 7
    seeded = ap_create(client).get_json()["id"]
    assert seeded != first
    client.post("/__mock/reset", json={"seed": 0})
    assert ap_create(client).get_json()["id"] == first


@pytest.mark.parametrize("body, needle", [
    ({"credential": "sk-test"}, "vendor"),
    ({"vendor": "stripe"}, "'stripe' is not served here"),
    ({"vendor": "activepieces", "extra": 1}, "extra"),
    ({"seed": "7"}, "seed"),
], ids=["credential-without-vendor", "unknown-vendor", "unknown-field", "seed-not-integer"])
def test_a_bad_reset_is_400_naming_the_problem_and_resets_nothing(client, body, needle):
    ap_create(client)
    response = client.post("/__mock/reset", json=body)
    assert response.status_code == 400
    error = response.get_json()
    assert error["status"] == 400 and error["error"] == "Bad Request"
    assert needle in error["message"] + json.dumps(error.get("issues", [])), error
    assert ap_count(client) == 1


def test_malformed_json_and_wrong_content_type_are_clear(client):
    response = client.post("/__mock/reset", data=b"{", content_type="application/json")
    assert response.status_code == 400 and "not valid JSON" in response.get_json()["message"]
    response = client.post("/__mock/reset", data=b"seed=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and "application/json" in response.get_json()["message"]


def test_a_wrong_method_is_405_with_allow(client):
    response = client.put("/__mock/requests")
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET"
    assert response.get_json()["status"] == 405


def test_an_unknown_control_path_is_404_json_and_not_journaled(client):
    response = client.get("/__mock/nothing-here")
    assert response.status_code == 404 and response.get_json()["status"] == 404
    assert client.get("/__mock/requests").get_json()["requests"] == []


def test_control_requests_are_not_journaled(client):
    client.get("/__mock/health")
    client.post("/__mock/reset", json={})
    client.get("/__mock/state")
    assert client.get("/__mock/requests").get_json()["total"] == 0


@pytest.mark.parametrize("vendor, base", [("activepieces", "http://localhost/api"), ("ampersand", "http://localhost")])
def test_the_specs_are_served_with_servers_pointing_at_the_mock(client, vendor, base):
    as_yaml = client.get(f"/__mock/openapi/{vendor}.yaml")
    assert as_yaml.status_code == 200 and as_yaml.mimetype == "application/yaml"
    document = yaml.safe_load(as_yaml.get_data(as_text=True))
    assert document["servers"] == [{"url": base}]
    as_json = client.get(f"/__mock/openapi/{vendor}.json")
    assert as_json.mimetype == "application/json" and as_json.get_json() == document
    original = yaml.safe_load((ADMIN_YAML.parent / f"{vendor}.yaml").read_text())
    assert document["paths"].keys() == original["paths"].keys()
    validate(document)


def test_the_served_spec_follows_the_host_the_client_used(client):
    document = client.get("/__mock/openapi/ampersand.json", base_url="http://127.0.0.1:4999").get_json()
    assert document["servers"] == [{"url": "http://127.0.0.1:4999"}]


def test_the_control_api_serves_its_own_spec(client):
    document = client.get("/__mock/openapi/admin.json").get_json()
    assert document["servers"] == [{"url": "http://localhost/__mock"}]
    assert "/faults/{id}" in document["paths"]


def test_an_unknown_spec_is_404_listing_the_served_ones(client):
    response = client.get("/__mock/openapi/stripe.yaml")
    assert response.status_code == 404
    assert "activepieces.yaml" in response.get_json()["message"]
    assert client.get("/__mock/openapi/activepieces.xml").status_code == 400


class TestAdminToken:
    @pytest.fixture
    def client(self):
        return create_app(Settings(admin_token="s3cret")).test_client()

    def test_without_the_token_control_is_401_but_health_stays_open(self, client):
        assert client.get("/__mock/health").status_code == 200
        for method, path in [("GET", "/__mock/requests"), ("POST", "/__mock/reset"), ("GET", "/__mock/state"),
                             ("DELETE", "/__mock/faults"), ("GET", "/__mock/openapi/ampersand.yaml")]:
            response = client.open(path, method=method)
            assert response.status_code == 401, path
            assert "admin token" in response.get_json()["message"]
            assert response.headers["WWW-Authenticate"].startswith("Bearer")

    def test_a_wrong_token_is_401(self, client):
        assert client.get("/__mock/state", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get("/__mock/state", headers={"X-Mock-Admin-Token": "s3cre"}).status_code == 401

    def test_bearer_or_header_token_is_accepted(self, client):
        assert client.get("/__mock/state", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert client.get("/__mock/state", headers={"X-Mock-Admin-Token": "s3cret"}).status_code == 200

    def test_the_vendor_apis_do_not_need_it(self, client):
        assert ap_create(client).status_code == 201


def test_a_response_that_breaks_admin_yaml_is_a_500_naming_it(client, monkeypatch):
    from mockserver import admin

    monkeypatch.setitem(admin.HANDLERS, "getHealth", lambda runtime, call: (200, {"status": "fine"}))
    response = client.get("/__mock/health")
    assert response.status_code == 500
    assert "getHealth: response 200" in response.get_json()["message"]


def test_handlers_and_admin_yaml_agree(app):
    from mockserver import admin
    from mockserver.spec import load_spec

    assert set(load_spec(ADMIN_YAML, "admin").operations) == set(admin.HANDLERS)


def test_the_cli_flags_build_the_settings(tmp_path, monkeypatch):
    from mockserver.cli import parser, settings_from

    args = ["serve", "--fixtures", "a.yaml", "--fixtures", "b.json", "--journal-size", "7", "--admin-token", "t"]
    settings = settings_from(parser().parse_args(args))
    assert settings.fixtures == (Path("a.yaml"), Path("b.json"))
    assert (settings.journal_size, settings.admin_token) == (7, "t")
    monkeypatch.setenv("MOCKSERVER_ADMIN_TOKEN", "from-env")
    assert settings_from(parser().parse_args(["serve"])).admin_token == "from-env"
    monkeypatch.delenv("MOCKSERVER_ADMIN_TOKEN")
    assert settings_from(parser().parse_args(["serve"])).admin_token is None
