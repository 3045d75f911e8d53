"""Edges of a document mounted with no code (tests/specs/edges.yaml): which status a missing
credential gets, error and delete bodies that copy nothing from unrelated examples, an empty key,
Accept, and a form that leaves out a required array."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver import Settings, create_app

SPEC = Path(__file__).parent / "specs" / "edges.yaml"
KEY = {"X-Key": "k1"}
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.fixture
def client():
    app = create_app(Settings(specs=(("edges", SPEC),)))
    yield app.test_client()
    app.extensions["mockserver"].store.close()


def create(client, **fields):
    response = client.post("/edges/users", json={"username": "ann", **fields}, headers=KEY)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- a missing credential ------------------------------------------------------------------------

def test_a_missing_credential_is_a_401_even_where_only_403_is_documented(client):
    response = client.get("/edges/reports")  # 403 is a permission refused, not a credential missing
    assert response.status_code == 401
    assert "X-Key" in response.get_json()["detail"]  # no 401 nor `default` documented: problem+json


def test_a_missing_credential_is_a_401_where_401_is_documented_too(client):
    assert client.get("/edges/audits").status_code == 401


def test_a_missing_credential_is_a_401_where_neither_is_documented(client):
    assert client.get("/edges/users/ann").status_code == 401


def test_a_requirement_naming_two_schemes_needs_both(client):
    both = {"X-Client-Id": "c1", "X-Secret": "s1"}
    assert client.post("/edges/balances", headers=both).status_code == 200
    for one in ({"X-Client-Id": "c1"}, {"X-Secret": "s1"}, {}):
        response = client.post("/edges/balances", headers=one)
        assert response.status_code == 401, one
        assert "X-Client-Id" in response.get_json()["detail"] and "X-Secret" in response.get_json()["detail"]


# --- error and delete bodies ------------------------------------------------------------------------

def test_an_error_body_says_what_the_mock_knows_and_copies_no_unrelated_issue(client):
    missing = client.get("/edges/users/bob", headers=KEY)
    assert missing.status_code == 404
    body = missing.get_json()
    assert body["status"] == 404 and "bob" in body["message"]
    assert "issues" not in body  # the example's issue names a field (`team`) this request never had
    assert body["id"] == "not_found"
    invalid = client.post("/edges/users", json={"username": "ann", "email": "nope"}, headers=KEY)
    assert invalid.status_code == 422 and invalid.get_json()["id"] == "unprocessable_entity"
    issues = invalid.get_json()["issues"]
    assert [issue["name"] for issue in issues] == ["email"]


def test_a_delete_answers_the_item_deleted_not_the_examples_deleted_false(client):
    create(client, email="ann@example.com")
    deleted = client.delete("/edges/users/ann", headers=KEY)
    assert deleted.status_code == 200
    body = deleted.get_json()
    assert body["deleted"] is True and body["username"] == "ann"
    assert body["username"] != "somebody-else"
    assert client.get("/edges/users/ann", headers=KEY).status_code == 404


# --- an empty key -----------------------------------------------------------------------------------

def test_an_empty_key_is_refused_at_creation_naming_the_field(client):
    response = client.post("/edges/users", json={"username": ""}, headers=KEY)
    assert response.status_code == 422
    assert "username" in response.get_json()["message"]
    assert client.get("/edges/users/", headers=KEY).status_code == 405  # `/users/` is the collection


# --- Accept ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("accept", ["application/xml", "text/html", "application/json;q=0, */*",
                                    "application/xml, text/*;q=0.5"])
def test_an_accept_naming_none_of_the_answers_types_is_a_406(client, accept):
    create(client)
    response = client.get("/edges/users/ann", headers={**KEY, "Accept": accept})
    assert response.status_code == 406
    assert response.get_json()["status"] == 406 and "application/json" in response.get_json()["detail"]


@pytest.mark.parametrize("accept", [None, "*/*", "application/*", "application/json",
                                    "application/json; charset=utf-8", "application/xml;q=0.9, application/json;q=0.1",
                                    BROWSER, "garbage", "application/vnd.github+json"])
def test_usual_accept_headers_keep_working(client, accept):
    create(client)
    headers = KEY if accept is None else {**KEY, "Accept": accept}
    response = client.get("/edges/users/ann", headers=headers)
    assert response.status_code == 200, (accept, response.get_json())
    assert response.get_json()["username"] == "ann"


def test_the_vendors_answer_json_whatever_accept_says():
    app = create_app(Settings())
    client = app.test_client()
    for accept in ("application/xml", BROWSER, "*/*"):
        response = client.get("/api/v1/projects", headers={"Authorization": "Bearer sk-test", "Accept": accept})
        assert response.status_code == 200 and response.is_json, accept
    app.extensions["mockserver"].store.close()


# --- forms ------------------------------------------------------------------------------------------

def test_a_form_that_leaves_out_a_required_array_is_a_422_like_the_same_json(client):
    form = client.post("/edges/tags", data={"color": "red"}, headers=KEY)
    json = client.post("/edges/tags", json={"color": "red"}, headers=KEY)
    assert form.status_code == json.status_code == 422
    assert "names" in form.get_json()["message"] and "names" in json.get_json()["message"]
    sent = client.post("/edges/tags", data={"names": ["a", "b"]}, headers=KEY)
    assert sent.status_code == 200


VERSIONED = {"Accept": "application/vnd.edges+xml;version=2", "Content-Type": "application/json"}


def test_declared_accept_and_content_type_parameters_are_checked_and_accept_is_then_no_406(client):
    response = client.get("/edges/incidents", headers={**KEY, **VERSIONED})
    assert response.status_code == 200 and response.is_json  # its Accept is the document's, not judged
    refused = client.get("/edges/incidents", headers=KEY)  # required, as PagerDuty's document says
    assert refused.status_code == 400 and "Accept" in refused.get_json()["error"]["message"]


def test_an_error_object_inside_the_body_says_what_went_wrong(client):
    response = client.get("/edges/incidents?limit=many", headers={**KEY, **VERSIONED})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == 400 and "limit" in error["message"]
    assert len(error["errors"]) == 1 and "limit" in error["errors"][0]  # strings, as its schema says
