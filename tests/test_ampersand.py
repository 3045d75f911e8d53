"""Ampersand project API behaviour, through the Flask test client (DESIGN.md, "Vendor behaviour")."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import pytest

from tests.helpers import AMP, ORG, VendorApi

BASE = "/v1/projects"
OTHER_ORG = "0b5e3a1c-2f4d-4e6a-9b8c-7d6e5f4a3b2c"
OTHER_TENANT = {"X-Api-Key": "key-2"}
# Go's time.RFC3339Nano: the fraction's trailing zeros trimmed, none when it is zero.
NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$")
REQUEST_ID = re.compile(r"^[0-9a-f-]{36}#\d+$")
PATTERN = "^[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]$"
ENTITLEMENTS = {"brandingRemoval": {"value": False}, "logRetentionDays": {"value": 30}}


@pytest.fixture
def api(client, exchanges):
    return Api(client)


class Api(VendorApi):
    base = BASE
    headers = AMP

    def create(self, name="mailmonkey-staging", app_name="MailMonkey", org=ORG, headers=AMP) -> dict:
        response = self.send("POST", "", {"appName": app_name, "name": name, "orgId": org}, headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def get(self, key, query="", headers=AMP) -> dict:
        response = self.send("GET", f"/{key}{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def patch(self, key, mask, project, headers=AMP):
        return self.send("PATCH", f"/{key}", {"updateMask": mask, "project": project}, headers)


def when(text: str) -> datetime:
    assert NANO.match(text), text
    return datetime.fromisoformat(text)


def problem(response, status: int) -> dict:
    """The problem+json body, checked for the fields every Ampersand error has; returns the rest."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == f"https://httpstatuses.com/{status}"
    assert body["status"] == status
    assert body["subsystem"] == "api"
    assert REQUEST_ID.match(body["requestId"]), body["requestId"]
    assert when(body["time"])
    assert isinstance(body["detail"], str) and body["detail"]
    return {k: v for k, v in body.items() if k not in ("type", "status", "subsystem", "requestId", "time")}


def invalid(response, *issues: dict, detail="request body failed validation") -> None:
    body = problem(response, 422)
    assert body == {"title": "Unprocessable Entity", "detail": detail, "issues": list(issues)}


def issue(name, value, detail, where="body") -> dict:
    return {"in": where, "name": name, "value": value, "detail": detail}


# --- create ------------------------------------------------------------------------------------

def test_create_returns_the_project_with_entitlements(api):
    response = api.send("POST", "", {"appName": "MailMonkey", "name": "MailMonkey-Staging", "orgId": ORG})
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert str(uuid.UUID(body["id"])) == body["id"]
    assert when(body["createTime"])
    assert body == {"id": body["id"], "name": "mailmonkey-staging", "appName": "MailMonkey", "orgId": ORG,
                    "createTime": body["createTime"], "updateTime": body["createTime"],
                    "entitlements": ENTITLEMENTS}
    assert list(body) == ["id", "name", "appName", "orgId", "createTime", "updateTime", "entitlements"]


def test_ids_and_times_differ_per_project(api):
    first, second = api.create("first"), api.create("second")
    assert first["id"] != second["id"]
    assert when(second["createTime"]) > when(first["createTime"])


def test_unknown_fields_are_dropped(api, exchanges):
    response = api.send("POST", "", {"appName": "A", "name": "ab", "orgId": ORG, "id": "mine", "extra": 1})
    assert response.status_code == 201
    assert response.get_json()["id"] != "mine" and "extra" not in response.get_json()
    assert exchanges[-1].warnings == ["unknown field 'id' dropped", "unknown field 'extra' dropped"]


def test_api_key_and_bearer_are_the_same_tenant(api):
    made = api.create("shared")
    assert api.get("shared", headers={"Authorization": "Bearer key-1"}) == api.get(made["id"])
    created_by_bearer = api.create("by-bearer", headers={"Authorization": "Bearer key-1"})
    assert [p["id"] for p in api.send("GET").get_json()] == [made["id"], created_by_bearer["id"]]


@pytest.mark.parametrize("headers", [
    {},
    {"X-Api-Key": ""},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic a2V5LTE6"},
    {"Authorization": "key-1"},
], ids=["missing", "empty-key", "empty-bearer", "basic", "no-scheme"])
def test_missing_credential_is_401_problem(api, headers):
    for method, path, body in [("POST", "", {"appName": "a", "name": "ab", "orgId": ORG}), ("GET", "", None),
                               ("GET", "/ab", None), ("PATCH", "/ab", {"updateMask": ["name"], "project": {}})]:
        body = problem(api.send(method, path, body, headers), 401)
        assert body["title"] == "Unauthorized", (method, path)
        assert "credential" in body["detail"]


@pytest.mark.parametrize(("body", "issues"), [
    ({"appName": "", "name": "ab", "orgId": ORG},
     [issue("appName", "", "appName must be at least 1 characters long")]),
    ({"appName": "a" * 129, "name": "ab", "orgId": ORG},
     [issue("appName", "a" * 129, "appName must be at most 128 characters long")]),
    ({"appName": "a", "name": "x" * 129, "orgId": ORG},
     [issue("name", "x" * 129, "name must be at most 128 characters long")]),
    ({"appName": "a", "name": "-ab", "orgId": ORG},
     [issue("name", "-ab", f"name does not match pattern '{PATTERN}'")]),
    ({"appName": "a", "name": "ab-", "orgId": ORG},
     [issue("name", "ab-", f"name does not match pattern '{PATTERN}'")]),
    ({"appName": "a", "name": "a_b", "orgId": ORG},
     [issue("name", "a_b", f"name does not match pattern '{PATTERN}'")]),
    ({"appName": "a", "name": "a b", "orgId": ORG},
     [issue("name", "a b", f"name does not match pattern '{PATTERN}'")]),
    ({"appName": "a", "name": "a.b", "orgId": ORG},
     [issue("name", "a.b", f"name does not match pattern '{PATTERN}'")]),
    ({"appName": "a", "name": "a", "orgId": ORG},
     [issue("name", "a", "name must be at least 2 characters long"),
      issue("name", "a", f"name does not match pattern '{PATTERN}'")]),
    ({"appName": "a", "name": "ab", "orgId": ""},
     [issue("orgId", "", "orgId must be at least 1 characters long")]),
    ({"appName": None, "name": "ab", "orgId": ORG},
     [issue("appName", None, "appName must be of type string")]),
    ({"appName": "a", "name": None, "orgId": ORG},
     [issue("name", None, "name must be of type string")]),
    ({"appName": "a", "name": "ab", "orgId": 7},
     [issue("orgId", 7, "orgId must be of type string")]),
    ({"appName": ["a"], "name": "ab", "orgId": ORG},
     [issue("appName", ["a"], "appName must be of type string")]),
    ([], [issue("body", [], "body must be of type object")]),
    ("name", [issue("body", "name", "body must be of type object")]),
])
def test_create_validation_issues(api, body, issues):
    invalid(api.send("POST", "", body), *issues)
    assert api.send("GET").get_json() == []


@pytest.mark.parametrize("missing", ["appName", "name", "orgId"])
def test_create_missing_field(api, missing):
    body = {"appName": "a", "name": "ab", "orgId": ORG}
    del body[missing]
    invalid(api.send("POST", "", body), {"in": "body", "name": missing, "detail": f"{missing} is required"})


def test_create_reports_every_bad_field(api):
    response = api.send("POST", "", {"appName": 1, "name": 2, "orgId": 3})
    body = problem(response, 422)
    assert sorted(body["issues"], key=lambda i: i["name"]) == [
        issue("appName", 1, "appName must be of type string"),
        issue("name", 2, "name must be of type string"),
        issue("orgId", 3, "orgId must be of type string"),
    ]


@pytest.mark.parametrize(("given", "stored"), [
    ("a--b", "a--b"), ("AB", "ab"), ("Mail-Monkey-2", "mail-monkey-2"), ("00", "00"), ("x" * 128, "x" * 128),
])
def test_names_that_are_valid(api, given, stored):
    assert api.create(given)["name"] == stored


def test_malformed_json_is_400_problem(api):
    response = api.send("POST", data="{bad", content_type="application/json")
    body = problem(response, 400)
    assert body["title"] == "Bad Request"
    assert "not valid JSON" in body["detail"]


def test_duplicate_name_in_an_org_is_409_after_lowercasing(api):
    api.create("MailMonkey-Staging")
    response = api.send("POST", "", {"appName": "x", "name": "MAILMONKEY-staging", "orgId": ORG})
    assert problem(response, 409) == {"title": "Conflict",
                                      "detail": "a project with this name already exists in the organization",
                                      "remedy": "Choose a different project name"}
    assert api.create("mailmonkey-staging", org=OTHER_ORG)["orgId"] == OTHER_ORG
    assert api.create("mailmonkey-staging", headers=OTHER_TENANT)["name"] == "mailmonkey-staging"
    assert len(api.send("GET").get_json()) == 2


def test_a_name_with_a_final_newline_is_refused(api):
    """JSON Schema patterns are ECMA-262: `$` is the end of the text, so "ab\n" does not match
    (Python's re.search lets `$` match before a final newline)."""
    invalid(api.send("POST", "", {"appName": "A", "name": "ab\n", "orgId": ORG}),
            issue("name", "ab\n", f"name does not match pattern '{PATTERN}'"))
    assert api.send("GET").get_json() == []


def test_times_are_printed_as_go_prints_them(api):
    """time.RFC3339Nano: UTC, trailing zeros of the fraction trimmed, none when it is zero."""
    made = api.create("ab")
    assert (made["createTime"], made["updateTime"]) == ("2025-01-01T00:00:01Z", "2025-01-01T00:00:01Z")
    assert api.send("POST", "", {}).get_json()["time"] == "2025-01-01T00:00:01Z"  # errors too


def test_go_time_format_trims_the_fraction():
    from mockserver.determinism import rfc3339_nano

    second = 1_699_335_116_000_000  # 2023-11-07T05:31:56Z, the seed's time
    assert rfc3339_nano(second) == "2023-11-07T05:31:56Z"
    assert rfc3339_nano(second + 456_076) == "2023-11-07T05:31:56.456076Z"
    assert rfc3339_nano(second + 120_000) == "2023-11-07T05:31:56.12Z"
    assert rfc3339_nano(second + 1) == "2023-11-07T05:31:56.000001Z"


def test_a_presented_credential_that_is_refused_is_401_beside_an_accepted_one():
    from mockserver import Settings, create_app

    client = create_app(Settings(api_keys=(("ampersand", "good"),))).test_client()
    for headers in ({"X-Api-Key": "bad", "Authorization": "Bearer good"},
                    {"X-Api-Key": "good", "Authorization": "Bearer bad"}):
        for method, path in (("GET", BASE), ("GET", f"{BASE}/ab"), ("POST", BASE)):
            response = client.open(path, method=method, headers=headers,
                                   json={"appName": "A", "name": "ab", "orgId": ORG})
            assert response.status_code == 401, (headers, method, path)
            assert response.mimetype == "application/problem+json"
    assert client.get(BASE, headers={"X-Api-Key": "good", "Authorization": "Bearer good"}).status_code == 200
    assert client.get(BASE, headers={"X-Api-Key": "good", "Authorization": "Basic Z29vZA=="}).status_code == 200


# --- list --------------------------------------------------------------------------------------

def test_list_is_a_bare_array_in_creation_order_without_entitlements(api):
    assert api.send("GET").get_json() == []
    made = [api.create(name) for name in ("zeta", "alpha", "mid")]
    api.create("elsewhere", headers=OTHER_TENANT)
    api.patch("zeta", ["name"], {"name": "aaa"})
    response = api.send("GET")
    assert response.status_code == 200 and response.mimetype == "application/json"
    listed = response.get_json()
    assert [p["id"] for p in listed] == [p["id"] for p in made]
    assert [p["name"] for p in listed] == ["aaa", "alpha", "mid"]
    assert all("entitlements" not in p for p in listed)
    assert listed[1] == {k: v for k, v in made[1].items() if k != "entitlements"}


def test_list_trailing_slash(api):
    made = api.create("ab")
    assert [p["id"] for p in api.send("GET", "/").get_json()] == [made["id"]]


# --- get ---------------------------------------------------------------------------------------

def test_get_by_id_and_by_name_case_insensitively(api):
    made = api.create("MailMonkey-Staging")
    plain = {k: v for k, v in made.items() if k != "entitlements"}
    for key in (made["id"], "mailmonkey-staging", "MAILMONKEY-STAGING", "MailMonkey-Staging"):
        assert api.get(key) == plain, key


def test_entitlements_only_when_asked(api):
    made = api.create("ab")
    assert api.get("ab", "?includeEntitlements=true") == made
    assert "entitlements" not in api.get("ab", "?includeEntitlements=false")
    assert "entitlements" not in api.get(made["id"])


def test_include_entitlements_must_be_a_boolean(api):
    api.create("ab")
    invalid(api.send("GET", "/ab?includeEntitlements=maybe"),
            issue("includeEntitlements", "maybe", "includeEntitlements must be of type boolean", "query"),
            detail="request failed validation")


def test_get_absent_is_404_problem(api):
    body = problem(api.send("GET", "/nope"), 404)
    assert body == {"title": "Not Found", "detail": "project not found",
                    "remedy": "Check the project's id or name, or list projects to find it."}


def test_another_tenants_project_is_404(api):
    made = api.create("mine")
    for key in (made["id"], "mine"):
        absent = problem(api.send("GET", f"/{key}", headers=OTHER_TENANT), 404)
        assert absent == problem(api.send("GET", "/nope"), 404)
        problem(api.patch(key, ["appName"], {"appName": "stolen"}, OTHER_TENANT), 404)
    assert api.get(made["id"], "?includeEntitlements=true") == made


# --- update ------------------------------------------------------------------------------------

def test_patch_app_name_ignores_fields_outside_the_mask(api):
    made = api.create("mailmonkey-staging")
    response = api.patch("mailmonkey-staging", ["appName"],
                         {"appName": "MailMonkey Pro", "name": "ignored-because-not-in-mask"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    changed = response.get_json()
    assert when(changed["updateTime"]) > when(made["updateTime"])
    assert changed == {"id": made["id"], "name": "mailmonkey-staging", "appName": "MailMonkey Pro",
                       "orgId": ORG, "createTime": made["createTime"], "updateTime": changed["updateTime"]}
    assert api.get(made["id"]) == changed


@pytest.mark.parametrize(("mask", "project"), [
    (["appName"], {"appName": "X", "name": "a b"}),
    (["appName"], {"appName": "X", "name": 5}),
    (["appName"], {"appName": "X", "name": "ab\n"}),
    (["name"], {"name": "cd", "appName": ""}),
    (["name"], {"name": "cd", "appName": ["not", "a", "string"]}),
])
def test_patch_reads_and_validates_only_the_masked_paths(api, mask, project):
    """The contract: fields of `project` not named in `updateMask` are ignored, valid or not."""
    made = api.create("ab")
    response = api.patch("ab", mask, project)
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    path = mask[0]
    expected = project[path].lower() if path == "name" else project[path]
    unmasked = "name" if path == "appName" else "appName"
    assert (changed[path], changed[unmasked]) == (expected, made[unmasked])


def test_patch_name_is_lowercased_and_found_by_its_new_name(api):
    made = api.create("old-name")
    changed = api.patch(made["id"], ["name"], {"name": "New-Name", "appName": "ignored"}).get_json()
    assert (changed["name"], changed["appName"], changed["createTime"]) == ("new-name", "MailMonkey",
                                                                           made["createTime"])
    assert api.get("NEW-name")["id"] == made["id"]
    problem(api.send("GET", "/old-name"), 404)
    assert api.create("old-name")["id"] != made["id"]  # the old name is free again


def test_patch_both_masks(api):
    made = api.create("ab")
    changed = api.patch("ab", ["appName", "name"], {"appName": "Both", "name": "CD"}).get_json()
    assert changed == {k: v for k, v in made.items() if k != "entitlements"} | {
        "appName": "Both", "name": "cd", "updateTime": changed["updateTime"]}


def test_patch_name_to_its_own_name_in_another_case(api):
    made = api.create("same")
    assert api.patch("same", ["name"], {"name": "SAME"}).get_json()["id"] == made["id"]


def test_patch_name_clash_in_the_org_is_409(api):
    api.create("taken")
    api.create("free-elsewhere", org=OTHER_ORG)
    made = api.create("mine")
    body = problem(api.patch("mine", ["name"], {"name": "TAKEN"}), 409)
    assert body["detail"] == "a project with this name already exists in the organization"
    assert api.get("mine")["id"] == made["id"]
    assert api.patch("mine", ["name"], {"name": "free-elsewhere"}).get_json()["name"] == "free-elsewhere"


@pytest.mark.parametrize(("project", "issues"), [
    ({"name": "-bad_name-"}, [issue("project.name", "-bad_name-", f"project.name does not match pattern '{PATTERN}'")]),
    ({"name": "a"}, [issue("project.name", "a", "project.name must be at least 2 characters long"),
                     issue("project.name", "a", f"project.name does not match pattern '{PATTERN}'")]),
    ({"name": 5}, [issue("project.name", 5, "project.name must be of type string")]),
    ({"name": None}, [issue("project.name", None, "project.name must be of type string")]),
    ({"name": "ab\n"}, [issue("project.name", "ab\n", f"project.name does not match pattern '{PATTERN}'")]),
    ({"name": "ab\n", "appName": "fine"}, [
        issue("project.name", "ab\n", f"project.name does not match pattern '{PATTERN}'")]),
])
def test_patch_name_is_validated_as_on_create(api, project, issues):
    made = api.create("ab")
    invalid(api.patch("ab", ["name"], project), *issues)
    assert api.get(made["id"], "?includeEntitlements=true") == made


def test_patch_app_name_is_validated(api):
    api.create("ab")
    invalid(api.patch("ab", ["appName"], {"appName": ""}),
            issue("project.appName", "", "project.appName must be at least 1 characters long"))


def test_patch_unknown_mask_is_400_with_a_remedy(api):
    made = api.create("ab")
    for mask in (["orgId"], ["appName", "id"], ["NAME"]):
        body = problem(api.patch("ab", mask, {"appName": "x", "orgId": OTHER_ORG, "id": "x", "NAME": "x"}), 400)
        assert body["title"] == "Bad Request"
        assert body["detail"].startswith("Invalid update mask")
        assert body["remedy"] == "Allowed masks: 'appName' and 'name'"
    assert api.get("ab", "?includeEntitlements=true") == made


def test_patch_mask_without_its_value_is_422(api):
    api.create("ab")
    invalid(api.patch("ab", ["name"], {"appName": "x"}),
            {"in": "body", "name": "project.name", "detail": "value not found for mask 'name'"})
    invalid(api.patch("ab", ["appName", "name"], {}),
            {"in": "body", "name": "project.appName", "detail": "value not found for mask 'appName'"},
            {"in": "body", "name": "project.name", "detail": "value not found for mask 'name'"})


@pytest.mark.parametrize(("body", "issues"), [
    ({"project": {"name": "cd"}}, [{"in": "body", "name": "updateMask", "detail": "updateMask is required"}]),
    ({"updateMask": ["name"]}, [{"in": "body", "name": "project", "detail": "project is required"}]),
    ({"updateMask": [], "project": {}}, [issue("updateMask", [], "updateMask must have at least 1 item(s)")]),
    ({"updateMask": "name", "project": {"name": "cd"}},
     [issue("updateMask", "name", "updateMask must be of type array")]),
    ({"updateMask": [1], "project": {}}, [issue("updateMask[0]", 1, "updateMask[0] must be of type string")]),
    ({"updateMask": ["name"], "project": "cd"}, [issue("project", "cd", "project must be of type object")]),
])
def test_patch_body_shape_errors(api, body, issues):
    api.create("ab")
    invalid(api.send("PATCH", "/ab", body), *issues)


def test_patch_absent_project_is_404(api):
    problem(api.patch("nope", ["appName"], {"appName": "x"}), 404)


# --- routing -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1", "/v1/", "/v1/orgs", "/v1/projects/ab/api-keys", "/v1/projects//"])
@pytest.mark.parametrize("headers", [AMP, {}], ids=["key", "no-key"])
def test_an_unknown_route_is_a_problem_json_404(api, exchanges, path, headers):
    body = problem(api.client.get(path, headers=headers), 404)
    assert body["title"] == "Not Found" and body["detail"] == f"no route for GET {path}"
    assert (exchanges[-1].vendor, exchanges[-1].status) == ("ampersand", 404)


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "/ab", "GET, PATCH"),
    ("PUT", "/ab", "GET, PATCH"),
    ("POST", "/ab", "GET, PATCH"),
    ("DELETE", "", "GET, POST"),
    ("PATCH", "", "GET, POST"),
])
def test_wrong_method_is_405_problem_with_allow(api, method, path, allowed):
    made = api.create("ab")
    response = api.send(method, path)
    assert response.headers["Allow"] == allowed
    assert problem(response, 405)["title"] == "Method Not Allowed"
    assert api.get("ab", "?includeEntitlements=true") == made  # DELETE did nothing
