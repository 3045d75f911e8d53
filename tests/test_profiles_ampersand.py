"""Ampersand's profiles (ampersand.md, "2026 contract vs the mock" and "History, for an @2024
profile"): `latest` and `2024`, each difference from the default profile (whose tests in
test_ampersand.py are unchanged), through the Flask test client."""

from __future__ import annotations

import pytest

from mockserver import Settings, create_app
from tests.helpers import AMP, ORG, VendorApi

BEARER = {"Authorization": "Bearer builder-jwt"}
PROJECT = {"appName": "MailMonkey", "name": "MailMonkey-Staging", "orgId": ORG}


def client_of(profile: str):
    app = create_app(Settings(profiles={"ampersand": profile}))
    seen = []
    app.extensions["mockserver"].observers.append(seen.append)
    return app.test_client(), seen


@pytest.fixture
def latest():
    client, seen = client_of("latest")
    yield Api(client)
    assert [(e.method, e.path, e.error) for e in seen if e.status >= 500] == []


@pytest.fixture
def of_2024():
    client, seen = client_of("2024")
    yield Api(client)
    assert [(e.method, e.path, e.error) for e in seen if e.status >= 500] == []


class Api(VendorApi):
    base = "/v1/projects"
    headers = BEARER

    def create(self, headers=BEARER, **body) -> dict:
        response = self.send("POST", "", body or PROJECT, headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()


# --- latest ------------------------------------------------------------------------------------

def test_latest_is_named_in_health(latest):
    vendors = {v["name"]: v["profile"] for v in latest.client.get("/__mock/health").get_json()["vendors"]}
    assert vendors == {"activepieces": "2024", "ampersand": "latest"}


def test_latest_create_takes_a_bearer_token_only(latest):
    response = latest.send("POST", "", PROJECT, AMP)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "Bearer" in response.get_json()["detail"]
    latest.create()
    assert latest.send("GET", "", headers=AMP).status_code == 200  # the other operations take a key


def test_latest_create_answers_without_entitlements_and_a_get_gives_them_when_asked(latest):
    project = latest.create()
    assert "entitlements" not in project
    assert "entitlements" not in latest.send("GET", "/mailmonkey-staging").get_json()
    asked = latest.send("GET", "/mailmonkey-staging?includeEntitlements=true").get_json()
    assert asked["entitlements"] == {"brandingRemoval": {"value": False}, "logRetentionDays": {"value": 30}}


def test_latest_org_id_has_no_length_rule(latest):
    project = latest.create(appName="A", name="ab", orgId="")
    assert project["orgId"] == ""


def test_latest_documents_errors_only_as_default(latest):
    document = latest.client.get("/__mock/openapi/ampersand.json").get_json()
    statuses = {op["operationId"]: set(op["responses"]) for item in document["paths"].values()
                for key, op in item.items() if key in ("get", "post", "patch", "delete")}
    assert statuses == {"createProject": {"201", "422", "default"}, "listProjects": {"200", "default"},
                        "getProject": {"200", "default"}, "updateProject": {"200", "default"}}
    problem = document["components"]["schemas"]["ApiProblem"]
    assert "required" not in problem and "additionalProperties" not in problem
    assert {"href", "supportEmail", "supportPhone", "supportUrl", "retryAfter"} <= set(problem["properties"])
    assert "issues" not in problem["properties"]
    schemas = document["components"]["schemas"]
    issue = schemas["InputValidationIssue"]["allOf"]
    assert issue[0] == {"$ref": "#/components/schemas/ApiProblem"} and "required" not in issue[1]
    project = schemas["Project"]
    assert "additionalProperties" not in project and "pattern" not in project["properties"]["name"]
    assert "pattern" not in schemas["Timestamp"]
    entitlements = project["properties"]["entitlements"]
    assert "required" not in entitlements and "minimum" not in \
        entitlements["properties"]["logRetentionDays"]["properties"]["value"]
    create = document["paths"]["/v1/projects"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create == {"$ref": "#/components/schemas/CreateProjectRequest"}
    assert "minLength" not in schemas["CreateProjectRequest"]["properties"]["orgId"]
    assert "minItems" not in schemas["UpdateProjectRequest"]["properties"]["updateMask"]


def test_latest_errors_still_come_as_problems(latest):
    missing = latest.send("GET", "/nope")
    assert missing.status_code == 404 and missing.get_json()["detail"] == "project not found"
    invalid = latest.send("POST", "", {"appName": "A", "name": "-bad-", "orgId": ORG})
    assert invalid.status_code == 422
    assert invalid.get_json()["issues"][0]["name"] == "name"
    latest.create()
    unknown_mask = latest.send("PATCH", "/mailmonkey-staging", {"updateMask": ["orgId"], "project": {}})
    assert unknown_mask.status_code == 400
    duplicate = latest.send("POST", "", PROJECT)
    assert duplicate.status_code == 409


def test_latest_update_mask_may_be_empty(latest):
    project = latest.create()
    response = latest.send("PATCH", f"/{project['id']}", {"updateMask": [], "project": {"appName": "ignored"}})
    assert response.status_code == 200
    assert response.get_json()["appName"] == "MailMonkey"


def test_latest_has_no_delete(latest):
    project = latest.create()
    assert latest.send("DELETE", f"/{project['id']}").status_code == 405


# --- 2024 --------------------------------------------------------------------------------------

def test_2024_projects_may_have_no_org_and_names_no_rule(of_2024):
    project = of_2024.create(headers=AMP, appName="A", name="x_Y z")
    assert project["name"] == "x_y z"  # stored lowercased, as the mock's default profile does
    assert "orgId" not in project and "entitlements" not in project


def test_2024_takes_a_key_in_the_query_too(of_2024):
    of_2024.create(headers=AMP)
    assert of_2024.send("GET", "?apiKey=key-1", headers={}).get_json()[0]["name"] == "mailmonkey-staging"


def test_2024_has_no_entitlements(of_2024):
    project = of_2024.create(headers=AMP)
    got = of_2024.send("GET", f"/{project['id']}?includeEntitlements=true", headers=AMP).get_json()
    assert "entitlements" not in got


def test_2024_deletes_a_project(of_2024):
    project = of_2024.create(headers=AMP)
    assert of_2024.send("DELETE", f"/{project['id']}", headers=AMP).status_code == 204
    assert of_2024.send("GET", f"/{project['id']}", headers=AMP).status_code == 404
    assert of_2024.create(headers=AMP)["name"] == "mailmonkey-staging"  # the name is free again


def test_an_unknown_profile_names_the_known_ones():
    from mockserver.spec import SpecError

    with pytest.raises(SpecError, match=r"ampersand has no profile 'nope'; its profiles: seed, 2024, latest"):
        create_app(Settings(profiles={"ampersand": "nope"}))
    with pytest.raises(SpecError, match=r"no vendor 'shopify'"):
        create_app(Settings(profiles={"shopify": "latest"}))
