"""Activepieces today (`--profile activepieces=latest`, activepieces-today.md): each difference from
the default profile (Era A, whose tests in test_activepieces.py are unchanged), through the Flask
test client."""

from __future__ import annotations

import base64
import json
import re

import pytest

from mockserver import Settings, create_app
from tests.helpers import AP, VendorApi

BASE = "/api/v1/projects"
AP_ID = re.compile(r"^[0-9A-Za-z]{21}$")
COLORS = {"PURPLE", "VIOLET", "PINK", "RED", "DEEP_ORANGE", "ORANGE", "YELLOW", "GREEN", "DARK_GREEN", "CYAN",
          "BLUE", "LAVENDER"}


@pytest.fixture
def app():
    return create_app(Settings(profiles={"activepieces": "latest"}))


@pytest.fixture
def api(client, exchanges):
    return Api(client)


class Api(VendorApi):
    base = BASE
    headers = AP

    def create(self, **body) -> dict:
        response = self.send("POST", "", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def page(self, query="") -> dict:
        response = self.send("GET", query)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def error(self, method, path="", body=None, headers=None) -> tuple[int, dict]:
        response = self.send(method, path, body, headers)
        return response.status_code, response.get_json()


def test_health_and_the_page_name_the_profile(client):
    vendors = {vendor["name"]: vendor["profile"] for vendor in client.get("/__mock/health").get_json()["vendors"]}
    assert vendors == {"activepieces": "latest", "ampersand": "seed"}
    assert '<td class="profile">latest</td>' in client.get("/__mock/").get_data(as_text=True)


def test_the_served_spec_is_the_profiles_document(client):
    document = client.get("/__mock/openapi/activepieces.json").get_json()
    project = document["components"]["schemas"]["Project"]["properties"]
    assert "analytics" in project and "usage" not in project and "notifyStatus" not in project


def test_a_new_project_is_todays_object(api):
    project = api.create(displayName="Acme")

    assert set(project) == {"id", "created", "updated", "ownerId", "displayName", "platformId", "type", "icon",
                            "releasesEnabled", "externalId", "metadata", "maxConcurrentJobs", "poolId", "plan",
                            "analytics"}
    assert project["type"] == "TEAM"
    assert project["icon"]["color"] in COLORS
    assert project["releasesEnabled"] is False
    assert (project["externalId"], project["metadata"], project["maxConcurrentJobs"], project["poolId"]) == \
        (None, None, None, None)
    plan = project["plan"]
    assert AP_ID.match(plan["id"]) and plan["projectId"] == project["id"]
    assert {name: plan[name] for name in ("locked", "name", "piecesFilterType", "pieces")} == \
        {"locked": False, "name": "platform", "piecesFilterType": "NONE", "pieces": []}
    assert plan["created"] == plan["updated"] == project["created"]
    assert project["analytics"] == {"totalUsers": 0, "activeUsers": 0, "totalFlows": 0, "activeFlows": 0}


def test_create_keeps_what_it_is_given(api):
    project = api.create(displayName="Acme", externalId="acme-1", metadata={"tier": "gold"}, maxConcurrentJobs=5,
                         globalConnectionExternalIds=["slack"], alertReceiverEmail="ops@example.com")

    assert (project["externalId"], project["metadata"], project["maxConcurrentJobs"]) == \
        ("acme-1", {"tier": "gold"}, 5)
    assert api.send("GET", f"/{project['id']}").get_json() == project


@pytest.mark.parametrize(("body", "message"), [
    ({"displayName": 42}, "body/displayName Invalid input: expected string, received number"),
    ({"displayName": None}, "body/displayName Invalid input: expected string, received null"),
    ({"displayName": True}, "body/displayName Invalid input: expected string, received boolean"),
    ({"displayName": ["Acme"]}, "body/displayName Invalid input: expected string, received array"),
    ({}, "body/displayName Invalid input: expected string, received undefined"),
    ({"displayName": "a.b"}, "body/displayName Invalid string: must match pattern /^[^./]+$/"),
    ({"displayName": "Acme", "externalId": 7}, "body/externalId Invalid input: expected string, received number"),
    ({"displayName": "Acme", "alertReceiverEmail": "nope"}, "body/alertReceiverEmail Invalid email address"),
    ({"displayName": 1, "externalId": 2},
     "body/displayName Invalid input: expected string, received number, "
     "body/externalId Invalid input: expected string, received number"),
])
def test_zod_validates_without_coercion(api, body, message):
    status, error = api.error("POST", "", body)

    assert status == 400
    assert error == {"statusCode": 400, "code": "FST_ERR_VALIDATION", "error": "Bad Request", "message": message}


def test_unknown_fields_are_still_dropped(api):
    project = api.create(displayName="Acme", notifyStatus="NEVER", color="red")
    assert "notifyStatus" not in project


def test_a_missing_key_is_a_403_and_a_refused_one_a_401(api):
    assert api.error("GET", "", headers={}) == (403, {"code": "AUTHORIZATION", "params": {}})
    assert api.error("GET", "", headers={"Authorization": "Bearer not-a-key"}) == \
        (401, {"code": "AUTHENTICATION", "params": {"message": "invalid api key"}})
    assert api.error("POST", "", {"displayName": "x"}, headers={"Authorization": "Basic eDp5"})[0] == 403


def test_update_changes_todays_fields(api):
    project = api.create(displayName="Acme", externalId="acme-1")
    response = api.send("POST", f"/{project['id']}", {
        "releasesEnabled": True, "icon": {"color": "BLUE"}, "metadata": {"a": 1}, "maxConcurrentJobs": 3,
        "plan": {"piecesFilterType": "ALLOWED", "pieces": ["@activepieces/piece-slack"]}, "externalId": "  "})
    updated = response.get_json()

    assert response.status_code == 200
    assert (updated["releasesEnabled"], updated["icon"], updated["metadata"], updated["maxConcurrentJobs"]) == \
        (True, {"color": "BLUE"}, {"a": 1}, 3)
    assert (updated["plan"]["piecesFilterType"], updated["plan"]["pieces"]) == \
        ("ALLOWED", ["@activepieces/piece-slack"])
    assert updated["externalId"] == "acme-1"  # blank: not given
    assert updated["updated"] > project["updated"] and updated["plan"]["updated"] == updated["updated"]


@pytest.mark.parametrize(("body", "message"), [
    ({"maxConcurrentJobs": 0}, "body/maxConcurrentJobs Too small: expected number to be >0"),
    ({"maxConcurrentJobs": 1.5}, "body/maxConcurrentJobs Invalid input: expected int, received number"),
    ({"icon": {"color": "MAUVE"}}, 'body/icon/color Invalid option: expected one of "PURPLE"|"VIOLET"|"PINK"|'
                                   '"RED"|"DEEP_ORANGE"|"ORANGE"|"YELLOW"|"GREEN"|"DARK_GREEN"|"CYAN"|"BLUE"|'
                                   '"LAVENDER"'),
    ({"releasesEnabled": "true"}, "body/releasesEnabled Invalid input: expected boolean, received string"),
])
def test_update_validates_as_zod(api, body, message):
    project = api.create(displayName="Acme")
    status, error = api.error("POST", f"/{project['id']}", body)
    assert (status, error["message"]) == (400, message)


def test_a_duplicate_external_id_is_a_409(api):
    api.create(displayName="One", externalId="acme-1")
    other = api.create(displayName="Two")

    assert api.error("POST", "", {"displayName": "Three", "externalId": "acme-1"}) == \
        (409, {"code": "PROJECT_EXTERNAL_ID_ALREADY_EXISTS", "params": {"externalId": "acme-1"}})
    assert api.error("POST", f"/{other['id']}", {"externalId": "acme-1"})[0] == 409


def test_get_and_delete(api):
    project = api.create(displayName="Acme")
    assert api.send("DELETE", f"/{project['id']}").status_code == 204
    assert api.error("GET", f"/{project['id']}") == \
        (404, {"code": "ENTITY_NOT_FOUND", "params": {"entityType": "project", "entityId": project["id"]}})


def test_lists_filter_by_external_id_name_and_type(api):
    acme = api.create(displayName="Acme Corp", externalId="acme-1")
    api.create(displayName="Globex")
    mega = api.create(displayName="MegaACME")

    def names(query):
        return [project["displayName"] for project in api.page(query)["data"]]

    assert names("?externalId=acme-1") == ["Acme Corp"]
    assert names("?displayName=acme") == ["Acme Corp", "MegaACME"]  # contains, any case
    assert names("?displayName=ACME&externalId=acme-1") == ["Acme Corp"]
    assert names("?types=TEAM") == ["Acme Corp", "Globex", "MegaACME"]
    assert names("?types=PERSONAL") == []
    assert names("?types=PERSONAL&types=TEAM") == ["Acme Corp", "Globex", "MegaACME"]
    assert names("?externalUserId=someone") == []  # the mock has no embedded users
    assert api.error("GET", "?types=ROBOT")[1]["message"] == \
        'querystring/types/0 Invalid option: expected one of "TEAM"|"PERSONAL"'
    assert acme and mega


def test_lists_are_ordered_by_name_and_paged_by_a_composite_cursor(api):
    for name in ("delta", "alpha", "charlie", "bravo", "echo"):
        api.create(displayName=name)

    first = api.page("?limit=2")
    assert [p["displayName"] for p in first["data"]] == ["alpha", "bravo"]
    assert first["previous"] is None
    direction, _, inner = base64.b64decode(first["next"]).decode().partition("_")
    point = json.loads(base64.b64decode(inner))
    assert direction == "next"
    assert point == {"type": "TEAM", "displayName": "bravo", "id": first["data"][1]["id"]}

    second = api.page(f"?limit=2&cursor={first['next']}")
    assert [p["displayName"] for p in second["data"]] == ["charlie", "delta"]
    last = api.page(f"?limit=2&cursor={second['next']}")
    assert [p["displayName"] for p in last["data"]] == ["echo"] and last["next"] is None
    back = api.page(f"?limit=2&cursor={last['previous']}")
    assert [p["displayName"] for p in back["data"]] == ["charlie", "delta"]


def test_limit_defaults_to_50_and_minus_one_is_everything(api):
    for number in range(52):
        api.create(displayName=f"p{number:02}")

    default = api.page()
    assert len(default["data"]) == 50 and default["next"] is not None
    everything = api.page("?limit=-1")
    assert len(everything["data"]) == 52 and everything["next"] is None and everything["previous"] is None


def test_a_cursor_it_never_gave_starts_from_the_first_page(api):
    api.create(displayName="alpha")
    assert [p["displayName"] for p in api.page("?cursor=bm9wZQ")["data"]] == ["alpha"]


def test_state_export_imports_as_is(client, api):
    api.create(displayName="Acme", externalId="acme-1", metadata={"a": 1})
    exported = client.get("/__mock/state?vendor=activepieces").get_json()

    assert client.put("/__mock/state", json=exported).status_code == 200
    assert client.get("/__mock/state?vendor=activepieces").get_json() == exported


def test_the_default_profile_is_unchanged_beside_it():
    client = create_app(Settings(profiles={"activepieces": "2024"})).test_client()
    project = client.post(BASE, json={"displayName": 42}, headers=AP).get_json()
    assert project["displayName"] == "42" and project["notifyStatus"] == "ALWAYS"  # ajv's coercion, Era A
    assert client.get("/__mock/health").get_json()["vendors"][0]["profile"] == "2024"


def test_a_personal_project_orders_by_type_first_and_filters_by_type(client, api):
    api.create(displayName="alpha")
    state = {"tenants": [{"vendor": "activepieces", "credential": "sk-test", "projects": [
        {"displayName": "alpha"}, {"displayName": "zeta", "type": "PERSONAL"}]}]}
    assert client.put("/__mock/state", json=state).status_code == 200

    assert [(p["type"], p["displayName"]) for p in api.page()["data"]] == [("PERSONAL", "zeta"), ("TEAM", "alpha")]
    assert [p["displayName"] for p in api.page("?types=PERSONAL")["data"]] == ["zeta"]
