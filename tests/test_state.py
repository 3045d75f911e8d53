"""State export/import (`/__mock/state`) and `--fixtures`: API-shaped projects per tenant, checked
against the vendor specs; a bad record is refused naming tenant, record and field, and nothing is
half-imported; export -> import is the identity."""

from __future__ import annotations

import json

import pytest
import requests

from mockserver import Settings, create_app
from mockserver.cli import main
from mockserver.state import StateError
from tests.helpers import AMP, AP, ORG, cli_server

FIXTURES_YAML = f"""\
tenants:
  - vendor: activepieces
    credential: sk-test
    projects:
      - displayName: Acme
        externalId: acme-1
        created: 2024-01-15T09:30:12.345Z
      - {{displayName: Beta, notifyStatus: NEVER, plan: {{tasks: 10, teamMembers: 2}}}}
  - vendor: ampersand
    credential: key-1
    projects:
      - {{appName: MailMonkey, name: mailmonkey, orgId: {ORG}}}
"""


def put_state(client, *tenants):
    return client.put("/__mock/state", json={"tenants": list(tenants)})


def ap_tenant(*projects, credential="sk-test", **extra):
    return {"vendor": "activepieces", "credential": credential, "projects": list(projects), **extra}


def amp_tenant(*projects, credential="key-1"):
    return {"vendor": "ampersand", "credential": credential, "projects": list(projects)}


def amp_project(name="mailmonkey", **extra):
    return {"appName": "MailMonkey", "name": name, "orgId": ORG, **extra}


def test_export_is_api_shaped_projects_per_tenant(client):
    created = client.post("/api/v1/projects", headers=AP, json={"displayName": "Acme"}).get_json()
    amp = client.post("/v1/projects", headers=AMP, json=amp_project()).get_json()
    state = client.get("/__mock/state").get_json()
    assert state == {"tenants": [
        {"vendor": "activepieces", "credential": "sk-test", "sequence": 1, "projects": [created]},
        {"vendor": "ampersand", "credential": "key-1", "sequence": 1,
         "projects": [amp]},  # as GET ?includeEntitlements=true shows it
    ]}


def test_export_filters_by_vendor_and_tenant(client):
    client.post("/api/v1/projects", headers=AP, json={"displayName": "Acme"})
    client.post("/api/v1/projects", headers={"Authorization": "Bearer sk-other"}, json={"displayName": "Acme"})
    client.post("/v1/projects", headers=AMP, json=amp_project())
    only_ap = client.get("/__mock/state", query_string={"vendor": "activepieces"}).get_json()["tenants"]
    assert [t["credential"] for t in only_ap] == ["sk-other", "sk-test"]
    one = client.get("/__mock/state", query_string={"vendor": "activepieces", "credential": "sk-test"}).get_json()
    assert [t["credential"] for t in one["tenants"]] == ["sk-test"]
    assert client.get("/__mock/state", query_string={"vendor": "stripe"}).status_code == 400


def test_imported_projects_are_what_the_apis_serve(client):
    response = put_state(client, ap_tenant({"displayName": "Acme", "externalId": "acme-1"}), amp_tenant(amp_project()))
    assert response.status_code == 200
    ap, amp = response.get_json()["tenants"]
    project = ap["projects"][0]
    assert (project["displayName"], project["notifyStatus"], project["plan"]["tasks"]) == ("Acme", "ALWAYS", 50000)
    assert client.get(f"/api/v1/projects/{project['id']}", headers=AP).get_json() == project
    listed = client.get("/api/v1/projects", headers=AP, query_string={"externalId": "acme-1"}).get_json()["data"]
    assert listed == [project]
    assert client.get("/v1/projects/MailMonkey?includeEntitlements=true", headers=AMP).get_json() == amp["projects"][0]
    # a create after the import continues the tenant's sequence and sees its unique values
    conflict = client.post("/api/v1/projects", headers=AP, json={"displayName": "X", "externalId": "acme-1"})
    assert conflict.status_code == 409
    second = client.post("/api/v1/projects", headers=AP, json={"displayName": "Y"}).get_json()
    assert second["id"] != project["id"]


def test_values_given_are_kept_and_derived_ones_recomputed(client):
    given = {"id": "A" * 21, "displayName": "Acme", "created": "2024-01-15T09:30:12.345Z",
             "platformId": "P" * 21, "type": "STANDALONE", "plan": {"tasks": 10, "connections": 1}}
    project = put_state(client, ap_tenant(given)).get_json()["tenants"][0]["projects"][0]
    assert project["id"] == "A" * 21 and project["created"] == project["updated"] == "2024-01-15T09:30:12.345Z"
    assert project["plan"]["tasks"] == 10 and project["plan"]["connections"] == 100
    assert project["platformId"] != "P" * 21 and project["type"] == "PLATFORM_MANAGED"


def test_import_replaces_the_tenants_it_names_and_nothing_else(client):
    client.post("/api/v1/projects", headers=AP, json={"displayName": "Old"})
    client.post("/api/v1/projects", headers={"Authorization": "Bearer sk-other"}, json={"displayName": "Other"})
    put_state(client, ap_tenant({"displayName": "New"}))
    names = {t["credential"]: [p["displayName"] for p in t["projects"]]
             for t in client.get("/__mock/state").get_json()["tenants"]}
    assert names == {"sk-test": ["New"], "sk-other": ["Other"]}


def test_export_then_import_is_the_identity(client):
    ids = [client.post("/api/v1/projects", headers=AP, json={"displayName": f"P{i}", "externalId": f"e{i}"})
           .get_json()["id"] for i in range(3)]
    client.post(f"/api/v1/projects/{ids[0]}", headers=AP, json={"displayName": "Renamed", "plan": {"tasks": 5}})
    client.delete(f"/api/v1/projects/{ids[1]}", headers=AP)
    client.post("/v1/projects", headers=AMP, json=amp_project(name="One"))
    client.patch("/v1/projects/one", headers=AMP, json={"updateMask": ["appName"], "project": {"appName": "Two"}})
    exported = client.get("/__mock/state").get_json()
    client.post("/__mock/reset", json={})
    assert client.put("/__mock/state", json=exported).get_json() == exported
    assert client.get("/__mock/state").get_json() == exported
    # and the next id is the one the original server would have made
    fresh = create_app(Settings()).test_client()
    for i in range(3):
        fresh.post("/api/v1/projects", headers=AP, json={"displayName": f"P{i}", "externalId": f"e{i}"})
    fresh.post(f"/api/v1/projects/{ids[0]}", headers=AP, json={"displayName": "Renamed", "plan": {"tasks": 5}})
    fresh.delete(f"/api/v1/projects/{ids[1]}", headers=AP)
    after = client.post("/api/v1/projects", headers=AP, json={"displayName": "Next"}).get_json()
    assert after == fresh.post("/api/v1/projects", headers=AP, json={"displayName": "Next"}).get_json()


@pytest.mark.parametrize("tenants, name, detail", [
    ([ap_tenant({"displayName": "ok"}, {"displayName": 12})],
     "tenants[0].projects[1].displayName", "12 is not of type 'string'"),
    ([ap_tenant({"externalId": "x"})], "tenants[0].projects[0].displayName", "'displayName' is a required property"),
    ([ap_tenant({"displayName": "a", "id": "short"})], "tenants[0].projects[0].id", "does not match"),
    ([ap_tenant({"displayName": "a", "created": "yesterday"})], "tenants[0].projects[0].created",
     "is not a 'date-time'"),
    ([ap_tenant({"displayName": "a", "plan": {"tasks": -1}})], "tenants[0].projects[0].plan.tasks", "minimum"),
    ([amp_tenant(amp_project(name="MailMonkey"))], "tenants[0].projects[0].name", "does not match"),
    ([amp_tenant({"appName": "A", "name": "ab"})], "tenants[0].projects[0].orgId", "required"),
    ([amp_tenant(amp_project(id="proj_1"))], "tenants[0].projects[0].id", "is not a 'uuid'"),
    ([ap_tenant({"displayName": "a", "externalId": "x"}, {"displayName": "b", "externalId": "x"})],
     "tenants[0].projects[1].externalId", "'x' is already used by projects[0]"),
    ([ap_tenant({"displayName": "a", "id": "A" * 21}, {"displayName": "b", "id": "A" * 21})],
     "tenants[0].projects[1].id", "is already used by projects[0]"),
    ([amp_tenant(amp_project(), amp_project(appName="Other"))], "tenants[0].projects[1].name", "already used"),
    ([{"vendor": "stripe", "credential": "k", "projects": []}], "tenants[0].vendor", "'stripe' is not a vendor"),
    ([ap_tenant(credential="nope")], "tenants[0].credential", "activepieces would refuse this credential"),
    ([ap_tenant(), ap_tenant()], "tenants[1]", "the same tenant as tenants["),
    ([{"vendor": "ampersand", "credential": "k", "project": []}], "tenants[0].project",
     "ampersand has no collection 'project' (its collections: projects)"),
    ([amp_tenant(amp_project(name="ab\n"))], "tenants[0].projects[0].name", "does not match"),
    ([ap_tenant({"displayName": "a", "id": "A" * 21 + "\n"})], "tenants[0].projects[0].id", "does not match"),
    ([amp_tenant(amp_project(createTime="2025-01-01T00:00:01.000000Z"))], "tenants[0].projects[0].createTime",
     "does not match"),
    ([amp_tenant(amp_project(entitlements={"logRetentionDays": {"value": "30"}}))],
     "tenants[0].projects[0].entitlements.logRetentionDays.value", "is not of type 'integer'"),
    ([ap_tenant(sequence=-1)], "tenants[0].sequence", "minimum"),
], ids=["type", "required", "id-pattern", "time-format", "plan-minimum", "amp-uppercase-name", "amp-required",
        "amp-uuid", "duplicate-externalId", "duplicate-id", "duplicate-amp-name", "unknown-vendor",
        "refused-credential", "same-tenant-twice", "unknown-collection", "negative-sequence", "amp-name-newline",
        "id-newline", "amp-untrimmed-time", "amp-retention-type"])
def test_a_bad_record_is_400_naming_tenant_record_and_field_and_nothing_is_imported(client, tenants, name, detail):
    client.post("/api/v1/projects", headers=AP, json={"displayName": "Before"})
    before = client.get("/__mock/state").get_json()
    response = client.put("/__mock/state", json={"tenants": [amp_tenant(credential="good"), *tenants]})
    assert response.status_code == 400
    error = response.get_json()
    shifted = name.replace("tenants[1]", "tenants[2]").replace("tenants[0]", "tenants[1]")  # after the good one
    assert error["issues"][0]["name"] == shifted and detail in error["issues"][0]["detail"], error
    assert error["message"].startswith(f"{shifted}: ")
    assert client.get("/__mock/state").get_json() == before


def test_ampersand_imports_times_as_go_prints_them(client):
    """The seed's own form (`2023-11-07T05:31:56Z`, no fraction) is what the service prints."""
    given = amp_project(createTime="2023-11-07T05:31:56Z", updateTime="2024-04-22T18:55:28.456076Z")
    assert put_state(client, amp_tenant(given)).status_code == 200
    served = client.get("/v1/projects/mailmonkey", headers=AMP).get_json()
    assert (served["createTime"], served["updateTime"]) == ("2023-11-07T05:31:56Z", "2024-04-22T18:55:28.456076Z")


def test_ampersand_entitlements_default_and_are_set_per_project_by_import(client):
    assert put_state(client, amp_tenant(
        amp_project("kept-long", entitlements={"logRetentionDays": {"value": 365}}),
        amp_project("unbranded", entitlements={"brandingRemoval": {"value": True}}),
        amp_project("plain"))).status_code == 200

    def entitlements(name):
        return client.get(f"/v1/projects/{name}?includeEntitlements=true", headers=AMP).get_json()["entitlements"]

    assert entitlements("kept-long") == {"brandingRemoval": {"value": False}, "logRetentionDays": {"value": 365}}
    assert entitlements("unbranded") == {"brandingRemoval": {"value": True}, "logRetentionDays": {"value": 30}}
    assert entitlements("plain") == {"brandingRemoval": {"value": False}, "logRetentionDays": {"value": 30}}
    exported = client.get("/__mock/state").get_json()
    assert [p["entitlements"]["logRetentionDays"]["value"] for p in exported["tenants"][0]["projects"]] == [365, 30, 30]
    client.post("/__mock/reset", json={})
    assert client.put("/__mock/state", json=exported).get_json() == exported


def test_a_huge_sequence_is_quick_and_numbers_after_it(client):
    given = {"displayName": "a", "plan": {"id": "Z" * 21}}  # a plan id no sequence number makes
    tenant = put_state(client, ap_tenant(given, sequence=10**9 - 1)).get_json()["tenants"][0]
    assert tenant["sequence"] == 10**9
    assert put_state(client, ap_tenant(given, sequence=10**9 + 1)).status_code == 400


def test_an_import_respects_api_key_restrictions():
    client = create_app(Settings(api_keys=(("activepieces", "sk-allowed"),))).test_client()
    response = put_state(client, ap_tenant(credential="sk-test"))
    assert response.status_code == 400 and "credential" in response.get_json()["message"]
    assert put_state(client, ap_tenant(credential="sk-allowed")).status_code == 200


def test_the_document_shape_is_checked_against_admin_yaml(client):
    for body, needle in [({}, "tenants"), ({"tenants": {}}, "tenants"), ({"tenants": [], "x": 1}, "x"),
                         ([], "object")]:
        response = client.put("/__mock/state", json=body)
        assert response.status_code == 400 and needle in response.get_json()["message"], response.get_json()


# --- fixture files -------------------------------------------------------------------------------

def test_fixtures_yaml_load_at_start_with_unquoted_times(tmp_path):
    path = tmp_path / "fixtures.yaml"
    path.write_text(FIXTURES_YAML)
    client = create_app(Settings(fixtures=(path,))).test_client()
    ap = client.get("/api/v1/projects", headers=AP).get_json()["data"]
    assert [(p["displayName"], p["created"]) for p in ap][0] == ("Acme", "2024-01-15T09:30:12.345Z")
    assert ap[1]["notifyStatus"] == "NEVER" and ap[1]["plan"]["teamMembers"] == 2
    assert client.get("/v1/projects/mailmonkey", headers=AMP).status_code == 200


def test_fixtures_json_load_and_several_files_add_up(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps({"tenants": [ap_tenant({"displayName": "A"})]}))
    second.write_text(json.dumps({"tenants": [amp_tenant(amp_project())]}))
    client = create_app(Settings(fixtures=(first, second))).test_client()
    assert [t["vendor"] for t in client.get("/__mock/state").get_json()["tenants"]] == ["activepieces", "ampersand"]


def test_an_exported_state_is_a_fixtures_file(tmp_path, client):
    client.post("/api/v1/projects", headers=AP, json={"displayName": "Acme"})
    exported = client.get("/__mock/state").get_json()
    path = tmp_path / "state.json"
    path.write_text(json.dumps(exported))
    assert create_app(Settings(fixtures=(path,))).test_client().get("/__mock/state").get_json() == exported


@pytest.mark.parametrize("text, needle", [
    (FIXTURES_YAML.replace("displayName: Beta", "displayName: 7"),
     "tenants[0].projects[1].displayName: 7 is not of type 'string'"),
    ("tenants: [{vendor: ampersand, credential: k, projects: [{name: x}]}]",
     "tenants[0].projects[0].appName: 'appName' is a required property (and 2 more)"),
    ("tenants: [", "(the file): cannot parse it"),
    ("- just a list", "(the document): ['just a list'] is not of type 'object'"),
])
def test_a_bad_fixtures_file_stops_start_up_naming_file_record_and_field(tmp_path, text, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(StateError) as caught:
        create_app(Settings(fixtures=(path,)))
    assert str(caught.value).startswith(f"{path}: ") and needle in str(caught.value), str(caught.value)


def test_a_missing_fixtures_file_names_it(tmp_path):
    with pytest.raises(StateError, match="nope.yaml: \\(the file\\): cannot read it"):
        create_app(Settings(fixtures=(tmp_path / "nope.yaml",)))


def test_the_cli_prints_one_line_for_a_bad_fixtures_file(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(FIXTURES_YAML.replace("externalId: acme-1", "externalId: 1"))
    assert main(["serve", "--port", "0", "--fixtures", str(path)]) == 2
    error = capsys.readouterr().err
    assert error == f"mockserver: error: {path}: tenants[0].projects[0].externalId: 1 is not of type 'string'\n"


def test_the_cli_serves_its_fixtures(tmp_path):
    path = tmp_path / "fixtures.yaml"
    path.write_text(FIXTURES_YAML)
    with cli_server("--fixtures", str(path)) as (_, url):
        projects = requests.get(f"{url}/api/v1/projects", headers=AP, timeout=5).json()["data"]
        assert [p["displayName"] for p in projects] == ["Acme", "Beta"]
