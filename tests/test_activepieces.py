"""Activepieces project API behaviour, through the Flask test client (DESIGN.md, "Vendor behaviour")."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.helpers import AP, VendorApi

BASE = "/api/v1/projects"
OTHER = {"Authorization": "Bearer sk-other-platform"}
AP_ID = re.compile(r"^[0-9A-Za-z]{21}$")
MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PLAN_DEFAULTS = {"stripeSubscriptionId": None, "flowPlanName": "platform", "minimumPollingInterval": 5,
                 "connections": 100, "teamMembers": 100, "tasks": 50000, "tasksPerDay": None}


@pytest.fixture
def api(client, exchanges):
    return Api(client)


class Api(VendorApi):
    base = BASE
    headers = AP

    def create(self, headers=AP, **body) -> dict:
        response = self.send("POST", "", body, headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def page(self, query="", headers=AP) -> dict:
        response = self.send("GET", query, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def when(text: str) -> datetime:
    assert MILLIS.match(text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def fastify_400(message: str) -> dict:
    return {"statusCode": 400, "code": "FST_ERR_VALIDATION", "error": "Bad Request", "message": message}


def not_found(project_id: str) -> dict:
    return {"code": "ENTITY_NOT_FOUND", "params": {"entityType": "project", "entityId": project_id}}


UNAUTHORIZED = {"code": "INVALID_BEARER_TOKEN", "params": {"message": "invalid access token"}}


# --- create ------------------------------------------------------------------------------------

def test_create_returns_the_seed_object_with_every_default(api):
    response = api.send("POST", "", {"displayName": "Acme Corp", "externalId": "acme-42"})
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    body = response.get_json()
    for name in ("id", "ownerId", "platformId"):
        assert AP_ID.match(body[name]), name
    for part in ("plan", "usage"):
        assert AP_ID.match(body[part]["id"]), part
    created = body["created"]
    assert when(created)
    assert body == {
        "id": body["id"], "created": created, "updated": created, "ownerId": body["ownerId"],
        "displayName": "Acme Corp", "notifyStatus": "ALWAYS", "type": "PLATFORM_MANAGED",
        "platformId": body["platformId"], "externalId": "acme-42",
        "plan": {"id": body["plan"]["id"], "created": created, "updated": created, "projectId": body["id"],
                 "subscriptionStartDatetime": created, **PLAN_DEFAULTS},
        "usage": {"id": body["usage"]["id"], "created": created, "updated": created, "projectId": body["id"],
                  "consumedTasks": 0, "connections": 0, "teamMembers": 1, "consumedTasksToday": 0,
                  "nextResetDatetime": body["usage"]["nextResetDatetime"]},
    }
    assert when(body["usage"]["nextResetDatetime"]) - when(created) == timedelta(days=30)
    assert len({body["id"], body["plan"]["id"], body["usage"]["id"], body["ownerId"], body["platformId"]}) == 5


def test_create_without_external_id_leaves_it_out(api):
    body = api.create(displayName="No external id")
    assert "externalId" not in body


def test_ids_are_distinct_per_project_and_owner_platform_per_key(api):
    first, second = api.create(displayName="a"), api.create(displayName="b")
    elsewhere = api.create(OTHER, displayName="c")
    assert first["id"] != second["id"]
    assert (first["ownerId"], first["platformId"]) == (second["ownerId"], second["platformId"])
    assert first["platformId"] != elsewhere["platformId"] and first["ownerId"] != elsewhere["ownerId"]
    assert when(second["created"]) > when(first["created"])


def test_unknown_fields_are_dropped_silently_with_a_journal_warning(api, exchanges):
    body = api.create(displayName="Acme", color="red", plan={"tasks": 1})
    assert "color" not in body
    assert body["plan"]["tasks"] == PLAN_DEFAULTS["tasks"]
    assert exchanges[-1].warnings == ["unknown field 'color' dropped", "unknown field 'plan' dropped"]


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "bearer sk-test"},
    {"Authorization": "Bearer not-a-key"},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer sk-"},
    {"Authorization": "sk-test"},
], ids=["missing", "lowercase-bearer", "not-sk", "empty", "bare-prefix", "no-scheme"])
def test_credentials_that_are_refused(api, headers):
    for method, path, body in [("POST", "", {"displayName": "x"}), ("GET", "", None),
                               ("GET", "/abc", None), ("POST", "/abc", {}), ("DELETE", "/abc", None)]:
        response = api.send(method, path, body, headers)
        assert (response.status_code, response.get_json()) == (401, UNAUTHORIZED), (method, path)


@pytest.mark.parametrize(("given", "stored"), [
    (42, "42"), (-1.5, "-1.5"), (True, "true"), (None, ""), (["Acme"], "Acme"), ([7], "7"),
])
def test_create_coerces_like_era_as_ajv(api, exchanges, given, stored):
    """Era A's ajv runs with `coerceTypes: 'array'`: `{"displayName": 42}` is a 201 with "42"."""
    external = [given] if given is not None and not isinstance(given, list) else 5  # a one-item array too
    made = api.create(displayName=given, externalId=external)
    assert made["displayName"] == stored
    assert made["externalId"] == (stored if external != 5 else "5")
    assert api.send("GET", f"/{made['id']}").get_json() == made
    assert any("coerced to" in warning for warning in exchanges[0].warnings)


def test_update_coerces_numbers_booleans_and_one_item_arrays(api):
    made = api.create(displayName="Acme")
    response = api.send("POST", f"/{made['id']}", {"displayName": 5, "notifyStatus": ["NEVER"],
                                                    "plan": [{"tasks": " 0x10 ", "teamMembers": True}]})
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert (changed["displayName"], changed["notifyStatus"]) == ("5", "NEVER")
    assert (changed["plan"]["tasks"], changed["plan"]["teamMembers"]) == (16, 1)


def test_list_limit_is_coerced_like_ajv(api):
    for n in range(3):
        api.create(displayName=f"p{n}")
    assert len(api.page("?limit=2.0")["data"]) == 2
    assert len(api.page("?limit=%201%20")["data"]) == 1
    response = api.send("GET", "?limit=1.5")
    assert response.status_code == 400 and response.get_json()["message"] == "querystring/limit must be integer"


@pytest.mark.parametrize(("body", "message"), [
    ({}, "body must have required property 'displayName'"),
    ({"externalId": "x"}, "body must have required property 'displayName'"),
    ({"displayName": {"first": "Acme"}}, "body/displayName must be string"),  # ajv coerces no object ...
    ({"displayName": ["a", "b"]}, "body/displayName must be string"),  # ... nor an array of two
    ({"displayName": []}, "body/displayName must be string"),
    ({"displayName": [{}]}, "body/displayName must be string"),
    ({"displayName": "a", "externalId": {}}, "body/externalId must be string"),
    ({"displayName": "a", "externalId": [[]]}, "body/externalId must be string"),
    ([], "body must be object"),
    ([{"displayName": "a"}], "body must be object"),
    ("Acme", "body must be object"),
    (42, "body must be object"),
])
def test_create_validation_errors_name_the_field(api, body, message):
    response = api.send("POST", "", body)
    assert (response.status_code, response.get_json()) == (400, fastify_400(message))


def test_create_with_a_json_null_body(api):
    response = api.send("POST", data="null", content_type="application/json")
    assert (response.status_code, response.get_json()) == (400, fastify_400("body must be object"))


def test_duplicate_external_id_is_409_within_a_platform_only(api):
    api.create(displayName="a", externalId="acme-1")
    response = api.send("POST", "", {"displayName": "b", "externalId": "acme-1"})
    assert (response.status_code, response.get_json()) == (
        409, {"code": "PROJECT_EXTERNAL_ID_ALREADY_EXISTS", "params": {"externalId": "acme-1"}})
    assert api.create(OTHER, displayName="b", externalId="acme-1")["externalId"] == "acme-1"
    assert [p["displayName"] for p in api.page()["data"]] == ["a"]  # the refused create left nothing


# --- list --------------------------------------------------------------------------------------

def test_list_of_an_empty_platform(api):
    assert api.page() == {"data": [], "next": None, "previous": None}


def test_list_returns_the_platform_projects_oldest_first(api):
    made = [api.create(displayName=f"p{i}") for i in range(3)]
    api.create(OTHER, displayName="elsewhere")
    assert api.page() == {"data": made, "next": None, "previous": None}


def test_list_default_limit_is_50(api):
    made = [api.create(displayName=f"p{i}")["id"] for i in range(51)]
    first = api.page()
    assert [p["id"] for p in first["data"]] == made[:50]
    assert first["previous"] is None and first["next"]
    second = api.page(f"?cursor={first['next']}")
    assert [p["id"] for p in second["data"]] == made[50:]
    assert second["next"] is None and second["previous"]


@pytest.mark.parametrize(("query", "message"), [
    ("limit=0", "querystring/limit must be >= 1"),
    ("limit=-1", "querystring/limit must be >= 1"),
    ("limit=abc", "querystring/limit must be integer"),
    ("limit=1.5", "querystring/limit must be integer"),
    ("limit=1001", "querystring/limit must be <= 1000"),
    ("cursor=not-a-cursor", "querystring/cursor must be a cursor returned by an earlier page"),
    ("cursor=bmV4dF94", "querystring/cursor must be a cursor returned by an earlier page"),  # "next_x"
    ("cursor=", "querystring/cursor must NOT have fewer than 1 characters"),
])
def test_list_query_errors(api, query, message):
    response = api.send("GET", f"?{query}")
    assert (response.status_code, response.get_json()) == (400, fastify_400(message))


def test_list_limit_bounds_that_are_accepted(api):
    made = [api.create(displayName=f"p{i}")["id"] for i in range(2)]
    assert [p["id"] for p in api.page("?limit=1")["data"]] == made[:1]
    assert [p["id"] for p in api.page("?limit=1000")["data"]] == made


def test_cursor_paging_forward_and_backward(api):
    made = [api.create(displayName=f"p{i}")["id"] for i in range(5)]
    pages, query = [], "?limit=2"
    while True:
        page = api.page(query)
        pages.append(page)
        if page["next"] is None:
            break
        query = f"?limit=2&cursor={page['next']}"
    assert [[p["id"] for p in page["data"]] for page in pages] == [made[0:2], made[2:4], made[4:5]]
    assert pages[0]["previous"] is None
    assert all(page["previous"] for page in pages[1:])
    back = [pages[-1]]
    while back[-1]["previous"] is not None:
        back.append(api.page(f"?limit=2&cursor={back[-1]['previous']}"))
    assert [[p["id"] for p in page["data"]] for page in back] == [made[4:5], made[2:4], made[0:2]]
    assert back[-1]["previous"] is None and back[-1]["next"]


def test_paging_while_inserting_has_no_duplicates_or_gaps(api):
    made = [api.create(displayName=f"p{i}")["id"] for i in range(3)]
    seen, query = [], "?limit=2"
    while True:
        page = api.page(query)
        seen += [p["id"] for p in page["data"]]
        made += [api.create(displayName=f"late{len(made)}")["id"] for _ in range(2)] if len(made) < 9 else []
        if page["next"] is None:
            break
        query = f"?limit=2&cursor={page['next']}"
    assert seen == made


def test_paging_survives_a_deleted_boundary_project(api):
    made = [api.create(displayName=f"p{i}")["id"] for i in range(4)]
    first = api.page("?limit=2")
    assert api.send("DELETE", f"/{made[1]}").status_code == 204
    rest = api.page(f"?limit=2&cursor={first['next']}")
    assert [p["id"] for p in rest["data"]] == made[2:]
    previous = api.page(f"?limit=2&cursor={rest['previous']}")
    assert [p["id"] for p in previous["data"]] == [made[0]]


def test_list_external_id_is_an_exact_filter(api):
    api.create(displayName="a", externalId="acme")
    wanted = api.create(displayName="b", externalId="acme-2")
    api.create(OTHER, displayName="c", externalId="acme-2")
    assert api.page("?externalId=acme-2") == {"data": [wanted], "next": None, "previous": None}
    assert api.page("?externalId=ACME-2")["data"] == []
    assert api.page("?externalId=acme-")["data"] == []


# --- get ---------------------------------------------------------------------------------------

def test_get_returns_the_created_object(api):
    made = api.create(displayName="Acme", externalId="e")
    response = api.send("GET", f"/{made['id']}")
    assert (response.status_code, response.get_json()) == (200, made)


def test_get_unknown_id_is_404(api):
    response = api.send("GET", "/doesNotExist123456789")
    assert (response.status_code, response.get_json()) == (404, not_found("doesNotExist123456789"))


# --- update ------------------------------------------------------------------------------------

def update(api, project_id, body, headers=AP):
    response = api.send("POST", f"/{project_id}", body, headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_update_display_name_only(api):
    made = api.create(displayName="Old", externalId="e1")
    changed = update(api, made["id"], {"displayName": "New"})
    assert when(changed["updated"]) > when(made["updated"])
    assert changed == made | {"displayName": "New", "updated": changed["updated"]}
    assert api.send("GET", f"/{made['id']}").get_json() == changed


def test_update_notify_status(api):
    made = api.create(displayName="a")
    changed = update(api, made["id"], {"notifyStatus": "NEVER"})
    assert changed == made | {"notifyStatus": "NEVER", "updated": changed["updated"]}
    assert update(api, made["id"], {"notifyStatus": "ALWAYS"})["notifyStatus"] == "ALWAYS"


@pytest.mark.parametrize(("body", "message"), [
    ({"notifyStatus": "SOMETIMES"}, "body/notifyStatus must be equal to one of the allowed values"),
    ({"notifyStatus": "never"}, "body/notifyStatus must be equal to one of the allowed values"),
    ({"displayName": {}}, "body/displayName must be string"),
    ({"externalId": [3, 4]}, "body/externalId must be string"),
    ({"plan": {"tasks": "many"}}, "body/plan/tasks must be integer"),
    ({"plan": {"tasks": "1.5"}}, "body/plan/tasks must be integer"),
    ({"plan": {"tasks": ""}}, "body/plan/tasks must be integer"),
    ({"plan": {"tasks": "1_000"}}, "body/plan/tasks must be integer"),
    ({"plan": {"tasks": "1e400"}}, "body/plan/tasks must be integer"),
    ({"plan": {"tasks": [1, 2]}}, "body/plan/tasks must be integer"),
    ({"plan": {"tasks": "-3"}}, "body/plan/tasks must be >= 0"),  # coerced, then checked
    ({"notifyStatus": 1}, "body/notifyStatus must be equal to one of the allowed values"),
    ({"plan": {"teamMembers": -1}}, "body/plan/teamMembers must be >= 0"),
    ({"plan": 5}, "body/plan must be object"),
    ([], "body must be object"),
])
def test_update_validation_errors(api, body, message):
    made = api.create(displayName="a")
    response = api.send("POST", f"/{made['id']}", body)
    assert (response.status_code, response.get_json()) == (400, fastify_400(message))
    assert api.send("GET", f"/{made['id']}").get_json() == made


def test_update_external_id_and_blank_means_not_provided(api):
    made = api.create(displayName="a", externalId="first")
    changed = update(api, made["id"], {"externalId": "second"})
    assert changed["externalId"] == "second"
    for blank in ("", "   "):
        assert update(api, made["id"], {"externalId": blank})["externalId"] == "second"
    plain = api.create(displayName="b")
    assert "externalId" not in update(api, plain["id"], {"externalId": ""})
    assert api.page("?externalId=second")["data"][0]["id"] == made["id"]
    assert api.page("?externalId=first")["data"] == []
    assert api.create(displayName="c", externalId="first")["externalId"] == "first"  # freed


def test_update_external_id_to_a_taken_one_is_409(api):
    api.create(displayName="a", externalId="taken")
    made = api.create(displayName="b", externalId="mine")
    response = api.send("POST", f"/{made['id']}", {"externalId": "taken", "displayName": "renamed"})
    assert (response.status_code, response.get_json()) == (
        409, {"code": "PROJECT_EXTERNAL_ID_ALREADY_EXISTS", "params": {"externalId": "taken"}})
    assert api.send("GET", f"/{made['id']}").get_json() == made  # nothing applied
    assert update(api, made["id"], {"externalId": "mine"})["externalId"] == "mine"  # its own is fine


def test_update_plan_moves_plan_updated(api):
    made = api.create(displayName="a")
    changed = update(api, made["id"], {"plan": {"tasks": 10000}})
    assert changed["plan"] == made["plan"] | {"tasks": 10000, "updated": changed["updated"]}
    again = update(api, made["id"], {"plan": {"teamMembers": 5}})
    assert again["plan"] == changed["plan"] | {"teamMembers": 5, "updated": again["updated"]}
    assert again["usage"] == made["usage"]


def test_update_without_plan_leaves_plan_updated(api):
    made = api.create(displayName="a")
    for body in ({"displayName": "b"}, {"plan": {}}, {"plan": {"pieces": ["x"]}}):
        changed = update(api, made["id"], body)
        assert changed["plan"] == made["plan"], body
        assert when(changed["updated"]) > when(made["updated"])


def test_update_never_moves_id_or_created(api):
    made = api.create(displayName="a")
    changed = update(api, made["id"], {"displayName": "b", "notifyStatus": "NEVER", "externalId": "x",
                                       "plan": {"tasks": 1, "teamMembers": 2}, "id": "other", "created": "x"})
    assert (changed["id"], changed["created"], changed["plan"]["created"]) == (
        made["id"], made["created"], made["plan"]["created"])
    assert changed == made | {"displayName": "b", "notifyStatus": "NEVER", "externalId": "x",
                              "updated": changed["updated"],
                              "plan": made["plan"] | {"tasks": 1, "teamMembers": 2,
                                                      "updated": changed["updated"]}}


def test_update_with_an_empty_body_object_only_moves_updated(api):
    made = api.create(displayName="a")
    changed = update(api, made["id"], {})
    assert changed == made | {"updated": changed["updated"]}


def test_update_unknown_id_is_404(api):
    response = api.send("POST", "/doesNotExist123456789", {"displayName": "x"})
    assert (response.status_code, response.get_json()) == (404, not_found("doesNotExist123456789"))


# --- delete ------------------------------------------------------------------------------------

def test_delete_then_everything_is_404_and_the_external_id_is_free(api):
    made = api.create(displayName="a", externalId="reuse-me")
    response = api.send("DELETE", f"/{made['id']}")
    assert response.status_code == 204
    assert response.data == b""
    assert "Content-Type" not in response.headers
    for method, body in (("GET", None), ("POST", {"displayName": "b"}), ("DELETE", None)):
        response = api.send(method, f"/{made['id']}", body)
        assert (response.status_code, response.get_json()) == (404, not_found(made["id"])), method
    assert api.page()["data"] == []
    again = api.create(displayName="b", externalId="reuse-me")
    assert again["id"] != made["id"]


# --- tenancy -----------------------------------------------------------------------------------

def test_another_platforms_project_is_404_as_if_absent(api):
    made = api.create(displayName="a", externalId="e")
    for method, body in (("GET", None), ("POST", {"displayName": "stolen"}), ("DELETE", None)):
        response = api.send(method, f"/{made['id']}", body, OTHER)
        assert (response.status_code, response.get_json()) == (404, not_found(made["id"])), method
    assert api.page(headers=OTHER)["data"] == []
    assert api.send("GET", f"/{made['id']}").get_json() == made  # untouched


# --- routing -----------------------------------------------------------------------------------

def test_trailing_slash_works_on_every_route_without_redirect(api):
    made = api.send("POST", "/", {"displayName": "a"})
    assert made.status_code == 201
    project_id = made.get_json()["id"]
    assert api.send("GET", "/").get_json()["data"][0]["id"] == project_id
    assert api.send("GET", f"/{project_id}/").status_code == 200
    assert api.send("POST", f"/{project_id}/", {"displayName": "b"}).get_json()["displayName"] == "b"
    assert api.send("DELETE", f"/{project_id}/").status_code == 204


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "", "GET, POST"),
    ("PATCH", "", "GET, POST"),
    ("DELETE", "", "GET, POST"),
    ("PUT", "/abc", "DELETE, GET, POST"),
    ("PATCH", "/abc", "DELETE, GET, POST"),
    ("PATCH", "/abc/", "DELETE, GET, POST"),
])
def test_wrong_method_is_405_with_allow(api, method, path, allowed):
    response = api.send(method, path, {"displayName": "x"})
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    body = response.get_json()
    assert body["statusCode"] == 405 and body["error"] == "Method Not Allowed" and method in body["message"]


ERA_A_404 = ("\n                Oops! It looks like we hit a dead end.\n"
             "                The endpoint you're searching for is nowhere to be found.\n"
             "                We suggest turning around and trying another path. Good luck!\n            ")


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/v1", "/api/v2/projects", f"{BASE}/x/y", "/api/v1/flows"])
@pytest.mark.parametrize("headers", [AP, {}], ids=["key", "no-key"])
def test_an_unknown_route_is_era_as_plain_text_404(api, exchanges, path, headers):
    """Era A's `onRequest` hook answers before authentication, in plain text (app.ts, v0.14)."""
    response = api.client.post(path, headers=headers, json={"displayName": "x"})
    assert response.status_code == 404
    assert response.content_type == "text/plain; charset=utf-8"
    assert response.get_data(as_text=True) == ERA_A_404
    assert (exchanges[-1].vendor, exchanges[-1].status, exchanges[-1].operation_id) == ("activepieces", 404, None)
