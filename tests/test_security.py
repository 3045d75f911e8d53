"""Security of the mock itself: where it listens, which keys it takes, and that no tenant can reach
another's data through any operation of either spec."""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import time

import pytest
import requests
import yaml

from mockserver import Settings, create_app
from mockserver.spec import specs_dir
from tests.helpers import cli_server

AP_401 = {"code": "INVALID_BEARER_TOKEN", "params": {"message": "invalid access token"}}


def read_stderr(process: subprocess.Popen, timeout: float = 5.0) -> str:
    """What the process has written to stderr so far, without waiting for it to exit."""
    text, deadline = "", time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline and "listening on all interfaces" not in text:
            if selector.select(timeout=0.1):
                chunk = os.read(process.stderr.fileno(), 65536).decode()
                if not chunk:
                    break
                text += chunk
    return text


# --- where it listens -----------------------------------------------------------------------------

def test_binds_loopback_by_default():
    assert Settings().host == "127.0.0.1"
    with cli_server() as (process, url):
        assert url.startswith("http://127.0.0.1:")
        assert "all interfaces" not in read_stderr(process, timeout=0.5)


def test_warns_when_bound_to_all_interfaces():
    with cli_server("--host", "0.0.0.0") as (process, url):
        assert "listening on all interfaces" in read_stderr(process)
        port = url.rsplit(":", 1)[1]
        # Only ever talked to over loopback.
        assert requests.get(f"http://127.0.0.1:{port}/v1/projects", headers={"X-Api-Key": "k"},
                            timeout=10).status_code == 200


def test_the_in_process_server_binds_loopback_and_warns_when_exposed(caplog):
    """Regression: `mockserver.run(host="0.0.0.0")` listened on every interface without a word."""
    import mockserver

    with mockserver.run() as server:
        assert server.url.startswith("http://127.0.0.1:")
    assert "all interfaces" not in caplog.text
    with mockserver.run(host="0.0.0.0") as server:
        assert requests.get(f"http://127.0.0.1:{server.port}/__mock/health", timeout=10).status_code == 200
    assert "listening on all interfaces" in caplog.text


@pytest.mark.parametrize(("host", "exposed"), [("127.0.0.1", False), ("::1", False), ("localhost", False),
                                               ("0.0.0.0", True), ("::", True), ("", True)])
def test_which_hosts_count_as_exposed(host, exposed):
    assert Settings(host=host).exposed is exposed


# --- --api-key ------------------------------------------------------------------------------------

@pytest.fixture
def keyed():
    settings = Settings(api_keys=(("activepieces", "sk-one"), ("activepieces", "sk-two"), ("ampersand", "amp-one")))
    return create_app(settings).test_client()


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer sk-one"}, {"Authorization": "Bearer sk-two"}])
def test_api_key_accepts_each_listed_key(keyed, headers):
    assert keyed.get("/api/v1/projects", headers=headers).status_code == 200


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer sk-three"}, {"Authorization": "Bearer sk-ONE"}, {"Authorization": "Bearer sk-one "},
    {"Authorization": "Bearer sk-one,sk-two"}, {"Authorization": "bearer sk-one"}, {}, {"X-Api-Key": "sk-one"},
])
def test_api_key_refuses_every_other_key_with_the_vendors_401(keyed, headers):
    for method, path in (("GET", "/api/v1/projects"), ("POST", "/api/v1/projects"), ("GET", "/api/v1/projects/x"),
                         ("DELETE", "/api/v1/projects/x")):
        response = keyed.open(path, method=method, headers=headers, json={"displayName": "x"})
        assert response.status_code == 401 and response.get_json() == AP_401, (method, path)


def test_api_key_refusal_on_ampersand_is_problem_json_and_covers_both_schemes(keyed):
    assert keyed.get("/v1/projects", headers={"X-Api-Key": "amp-one"}).status_code == 200
    assert keyed.get("/v1/projects", headers={"Authorization": "Bearer amp-one"}).status_code == 200
    for headers in ({"X-Api-Key": "amp-two"}, {"Authorization": "Bearer amp-two"}, {"X-Api-Key": "sk-one"}):
        response = keyed.get("/v1/projects", headers=headers)
        assert response.status_code == 401 and response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == 401


def test_a_vendor_without_api_key_flags_takes_any_key():
    client = create_app(Settings(api_keys=(("activepieces", "sk-one"),))).test_client()
    assert client.get("/v1/projects", headers={"X-Api-Key": "whatever"}).status_code == 200
    assert client.get("/api/v1/projects", headers={"Authorization": "Bearer sk-whatever"}).status_code == 401


def test_a_key_the_vendor_can_never_accept_stops_start_up():
    """Regression: `--api-key activepieces=mykey` started, then refused every request with no hint."""
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", "0",
                             "--api-key", "activepieces=mykey"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "refuses a key of that form" in result.stderr and "mykey" not in result.stderr


def test_api_key_over_the_cli():
    with cli_server("--api-key", "activepieces=sk-cli", "--api-key", "ampersand=amp-cli") as (_, url):
        ok = requests.get(f"{url}/api/v1/projects", headers={"Authorization": "Bearer sk-cli"}, timeout=10)
        refused = requests.get(f"{url}/api/v1/projects", headers={"Authorization": "Bearer sk-other"}, timeout=10)
        amp_refused = requests.get(f"{url}/v1/projects", headers={"X-Api-Key": "other"}, timeout=10)
    assert ok.status_code == 200
    assert refused.status_code == 401 and refused.json() == AP_401
    assert amp_refused.status_code == 401 and amp_refused.headers["Content-Type"] == "application/problem+json"


# --- tenants: every operation of both specs, across tenants ----------------------------------------

OWNER = {"activepieces": {"Authorization": "Bearer sk-owner"}, "ampersand": {"X-Api-Key": "owner"}}
INTRUDERS = {
    "activepieces": [{"Authorization": "Bearer sk-intruder"}, {"Authorization": "Bearer sk-OWNER"}],
    "ampersand": [{"X-Api-Key": "intruder"}, {"Authorization": "Bearer intruder-2"}, {"X-Api-Key": "OWNER"}],
}


def operations(vendor: str):
    """(operationId, METHOD, path template, path parameter names, query names, example body) from the YAML."""
    doc = yaml.safe_load((specs_dir() / f"{vendor}.yaml").read_text(encoding="utf-8"))
    prefix = "/" + doc["servers"][0]["url"].split("://", 1)[1].partition("/")[2]
    for path, item in doc["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                continue  # `parameters`, `x-mock-*` rules
            params = shared + operation.get("parameters", [])
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
            yield (operation["operationId"], method.upper(), prefix.rstrip("/") + path,
                   [p["name"] for p in params if p["in"] == "path"], [p["name"] for p in params if p["in"] == "query"],
                   body)


def snapshot(client, vendor: str, owned: dict) -> str:
    """Everything the owner can see: the list and each record by id."""
    ops = {op_id: (method, path) for op_id, method, path, *_ in operations(vendor)}
    _, list_path = ops["listProjects"]
    seen = [client.get(list_path, headers=OWNER[vendor]).get_data(as_text=True)]
    _, get_path = ops["getProject"]
    for value in owned["ids"]:
        seen.append(client.get(re.sub(r"\{[^}]+\}", value, get_path), headers=OWNER[vendor]).get_data(as_text=True))
    return "\n".join(seen)


def seed(client, vendor: str) -> dict:
    """The owner's records, made with each create example (and a variant), and the values that name them."""
    create = next(op for op in operations(vendor) if op[0] == "createProject")
    _, method, path, _, _, example = create
    owned = {"ids": [], "names": [], "secrets": set()}
    for body in (example, {k: (v if k == "orgId" else f"{v}-2") for k, v in example.items()}):
        response = client.open(path, method=method, headers=OWNER[vendor], json=body)
        assert response.status_code == 201, response.get_data(as_text=True)
        project = response.get_json()
        owned["ids"].append(project["id"])
        for field in ("name", "externalId"):
            if field in project:
                owned["names"].append(project[field])
        owned["secrets"] |= {project["id"], project.get("externalId"), project.get("name"), project["displayName"]
                             if "displayName" in project else project["appName"]} - {None}
    return owned


@pytest.mark.parametrize("vendor", sorted(OWNER))
def test_no_operation_reaches_another_tenants_data(vendor):
    client = create_app(Settings()).test_client()
    owned = seed(client, vendor)
    before = snapshot(client, vendor, owned)
    tried = set()
    for intruder in INTRUDERS[vendor]:
        # Creates last: until then the intruder's world is empty, so no owner's value may show up in it.
        for op_id, method, template, path_params, query_params, example in sorted(
                operations(vendor), key=lambda op: op[0] == "createProject"):
            # Every way to name the owner's records in the path, and every query value the owner's data has.
            targets = owned["ids"] + owned["names"] if path_params else [None]
            for target in targets:
                path = re.sub(r"\{[^}]+\}", target, template) if target else template
                queries = [{}] + [{name: value} for name in query_params for value in owned["names"]]
                for query in queries:
                    response = client.open(path, method=method, headers=intruder, query_string=query,
                                           json=example)
                    text = response.get_data(as_text=True)
                    tried.add(op_id)
                    if query and response.status_code in (400, 422):  # a value of the wrong type for the query
                        assert not any(secret in text for secret in owned["ids"]), (op_id, query, text)
                    elif path_params:  # the owner's record does not exist for anyone else
                        assert response.status_code == 404, (op_id, intruder, path, response.status)
                    elif method == "GET":
                        assert response.status_code == 200
                        assert not any(secret in text for secret in owned["secrets"] - {None}), (op_id, query, text)
                    else:  # a create: the intruder's own world, where the owner's unique values are free
                        assert response.status_code == 201, (op_id, intruder, text)
                        assert response.get_json()["id"] not in owned["ids"]
    assert tried == {op[0] for op in operations(vendor)}
    assert snapshot(client, vendor, owned) == before, "an intruder changed the owner's data"


def test_ampersand_request_with_two_credentials_acts_as_one_tenant():
    """Ampersand takes `X-Api-Key` or a Bearer token: a request with both is one tenant, never a mix."""
    client = create_app(Settings()).test_client()
    owned = seed(client, "ampersand")
    both = {"X-Api-Key": "intruder", "Authorization": "Bearer intruder-2"}
    listed = client.get("/v1/projects", headers=both)
    assert listed.status_code == 200 and listed.get_json() == []
    for value in owned["ids"]:
        assert client.get(f"/v1/projects/{value}", headers=both).status_code == 404
    mixed = {"X-Api-Key": "intruder", "Authorization": "Bearer owner"}
    assert client.get("/v1/projects", headers=mixed).get_json() == []  # X-Api-Key decides: the spec lists it first
    assert json.loads(client.get("/v1/projects", headers={"X-Api-Key": "owner"}).data) != []


# --- credentials never shown: the journal and the logs -----------------------------------------------

SECRETS = {
    "ap": "sk-JournalSecret0123456789abcdefXYZ",
    "ap_refused": "sk-RefusedSecret0123456789abcdefXYZ",
    "amp_key": "amp-KeySecret-0123456789abcdef",
    "amp_bearer": "amp-BearerSecret-0123456789abcdef",
    "admin": "admin-TokenSecret-0123456789abcdef",
}


def exercise(client, admin_headers=None) -> int:
    """Requests of every kind carrying the secrets: accepted, refused, unrouted, wrong method, invalid."""
    ap, refused = {"Authorization": f"Bearer {SECRETS['ap']}"}, {"Authorization": f"Bearer {SECRETS['ap_refused']}"}
    amp_key, amp_bearer = {"X-Api-Key": SECRETS["amp_key"]}, {"Authorization": f"Bearer {SECRETS['amp_bearer']}"}
    calls = [
        ("POST", "/api/v1/projects", ap, {"displayName": "a"}),
        ("GET", "/api/v1/projects", refused, None),
        ("POST", "/api/v1/projects", ap, {"displayName": {}}),
        ("PUT", "/api/v1/projects", ap, None),
        ("POST", "/v1/projects", amp_key, {"appName": "a", "name": "ab", "orgId": "o"}),
        ("GET", "/v1/projects", amp_bearer, None),
        ("GET", "/v1/projects/nope", {**amp_key, **amp_bearer}, None),
        ("GET", "/v1/nowhere", {**amp_key, "Cookie": f"session={SECRETS['amp_bearer']}"}, None),
    ]
    for method, path, headers, body in calls:
        client.open(path, method=method, headers=headers, json=body)
    return len(calls)


def test_the_journal_masks_every_credential():
    client = create_app(Settings()).test_client()
    sent = exercise(client)
    journal = client.get("/__mock/requests")
    assert journal.status_code == 200
    text = journal.get_data(as_text=True)
    entries = journal.get_json()["requests"]
    assert len(entries) == sent  # not vacuous: every request is there
    for name, secret in SECRETS.items():
        assert secret not in text, name
        assert secret[4:] not in text and secret[-12:] not in text, name  # no part long enough to use
    # Masked, not dropped: two tenants can still be told apart.
    assert {e["headers"].get("Authorization") for e in entries} >= {"Bearer sk-J…", "Bearer sk-R…", "Bearer amp-…"}
    # The real value still filters (without being shown).
    mine = client.get("/__mock/requests", query_string={"vendor": "activepieces", "credential": SECRETS["ap"]})
    assert mine.status_code == 200 and SECRETS["ap"] not in mine.get_data(as_text=True)
    assert len(mine.get_json()["requests"]) == 2  # the 405 never reached a tenant


def test_logs_never_show_a_credential(caplog):
    caplog.set_level("DEBUG")
    client = create_app(Settings(admin_token=SECRETS["admin"])).test_client()
    exercise(client)
    client.get("/__mock/requests", headers={"Authorization": f"Bearer {SECRETS['admin']}"})
    client.post("/__mock/reset", headers={"Authorization": "Bearer wrong"})
    logged = "\n".join(record.getMessage() + str(record.exc_info or "") for record in caplog.records)
    for name, secret in SECRETS.items():
        assert secret not in logged, name


def test_the_cli_output_never_shows_a_credential():
    args = ("--api-key", f"activepieces={SECRETS['ap']}", "--admin-token", SECRETS["admin"])
    with cli_server(*args) as (process, url):
        ap = {"Authorization": f"Bearer {SECRETS['ap']}"}
        assert requests.post(f"{url}/api/v1/projects", json={"displayName": "a"}, headers=ap, timeout=10).ok
        assert requests.get(f"{url}/api/v1/projects", timeout=10,
                            headers={"Authorization": f"Bearer {SECRETS['ap_refused']}"}).status_code == 401
        assert requests.get(f"{url}/v1/projects", headers={"X-Api-Key": SECRETS["amp_key"]}, timeout=10).ok
        assert requests.post(f"{url}/__mock/reset", headers={"X-Mock-Admin-Token": "wrong"},
                             timeout=10).status_code == 401
        process.terminate()
        out, err = process.communicate(timeout=20)
    for name, secret in SECRETS.items():
        assert secret not in out + err, name


# --- the control API behind --admin-token ------------------------------------------------------------

def admin_operations():
    doc = yaml.safe_load((specs_dir() / "admin.yaml").read_text(encoding="utf-8"))
    prefix = doc["servers"][0]["url"].rstrip("/")
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                continue  # `parameters`, `x-mock-*` rules
            open_ = operation.get("security", doc.get("security")) == []
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
            yield operation["operationId"], method.upper(), prefix + re.sub(r"\{[^}]+\}", "x", path), body, open_


@pytest.mark.parametrize("op", list(admin_operations()), ids=lambda op: op[0])
def test_admin_token_guards_every_control_operation(op):
    op_id, method, path, body, open_ = op
    client = create_app(Settings(admin_token=SECRETS["admin"])).test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-Mock-Admin-Token": "wrong"},
                    {"Authorization": f"Bearer {SECRETS['admin'].upper()}"}, {"Authorization": SECRETS["admin"]},
                    {"X-Mock-Admin-Token": SECRETS["admin"][:-1]}):
        response = client.open(path, method=method, headers=headers, json=body)
        if open_:
            assert response.status_code != 401, (op_id, headers)
        else:
            assert response.status_code == 401, (op_id, headers, response.status)
            assert SECRETS["admin"] not in response.get_data(as_text=True)
    for headers in ({"Authorization": f"Bearer {SECRETS['admin']}"}, {"X-Mock-Admin-Token": SECRETS["admin"]}):
        response = client.open(path, method=method, headers=headers, json=body)
        assert response.status_code not in (401, 403, 500), (op_id, headers, response.status)


def test_without_admin_token_the_control_api_is_open_and_says_so():
    client = create_app(Settings()).test_client()
    assert client.post("/__mock/reset").status_code == 200


def test_the_admin_token_is_no_vendor_credential_and_vendor_keys_open_no_control_api():
    client = create_app(Settings(admin_token=SECRETS["admin"])).test_client()
    ap = {"Authorization": "Bearer sk-tenant"}
    assert client.post("/api/v1/projects", headers=ap, json={"displayName": "a"}).status_code == 201
    assert client.post("/__mock/reset", headers=ap).status_code == 401
    assert client.get("/__mock/state", headers={"X-Api-Key": SECRETS["admin"]}).status_code == 401
    assert client.get("/api/v1/projects", headers=ap).get_json()["data"] != []  # the refused reset did nothing


@pytest.mark.parametrize("document", ["..%2F..%2Fpyproject.toml", "..%2Fapp.py", "%2Fetc%2Fpasswd", "..",
                                      "%2e%2e%2fcli.py", "activepieces.yaml%00.json", "ACTIVEPIECES.YAML"])
def test_the_served_specs_are_the_only_files_the_control_api_reads(document):
    client = create_app(Settings()).test_client()
    response = client.get(f"/__mock/openapi/{document}")
    assert response.status_code in (400, 404), (document, response.status)
    text = response.get_data(as_text=True)
    assert "[project]" not in text and "root:" not in text and "import" not in text


# --- an empty credential is a refused credential ------------------------------------------------------

AMP_KEY, AMP_BEARER = {"X-Api-Key": "amp-good-key"}, {"Authorization": "Bearer amp-good-key"}


@pytest.mark.parametrize("headers", [
    {**AMP_BEARER, "X-Api-Key": ""},
    {**AMP_KEY, "Authorization": ""},
    {**AMP_KEY, "Authorization": "Bearer"},
    {**AMP_KEY, "Authorization": "Bearer "},
], ids=["empty-key-beside-bearer", "empty-authorization-beside-key", "bearer-without-token", "bearer-space"])
def test_an_empty_credential_beside_an_accepted_one_is_401(headers):
    client = create_app(Settings()).test_client()
    assert client.get("/v1/projects", headers=AMP_KEY).status_code == 200
    assert client.get("/v1/projects", headers=AMP_BEARER).status_code == 200
    for method, path in (("GET", "/v1/projects"), ("GET", "/v1/projects/ab"), ("POST", "/v1/projects")):
        response = client.open(path, method=method, headers=headers,
                               json={"appName": "A", "name": "ab", "orgId": "00000000-0000-0000-0000-000000000001"})
        assert response.status_code == 401, (headers, method, path)
        assert response.mimetype == "application/problem+json"
        assert "refused" in response.get_json()["detail"]
    assert client.get("/v1/projects", headers=AMP_KEY).get_json() == []  # nothing was created


@pytest.mark.parametrize("headers", [{"X-Api-Key": ""}, {"Authorization": ""}, {"Authorization": "Bearer"}])
def test_an_empty_credential_alone_is_no_credential(headers):
    """As a service that reads an empty header as a missing one (Activepieces today): the vendor's
    answer to no credential, which may differ from its answer to a refused one."""
    response = create_app(Settings()).test_client().get("/v1/projects", headers=headers)
    assert response.status_code == 401 and "no credential" in response.get_json()["detail"]


def test_an_empty_credential_header_is_401_over_http():
    """The same over a real server: an empty header line reaches the mock as presented."""
    import mockserver
    from tests.helpers import raw_exchange, statuses

    with mockserver.run() as server:
        host, port = server.host, server.port
        head = b"GET /v1/projects HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n" % port
        for line in (b"X-Api-Key:\r\nAuthorization: Bearer amp-good-key", b"X-Api-Key: amp-good-key\r\nAuthorization:"):
            raw = raw_exchange(host, port, head + line + b"\r\n\r\n")
            assert statuses(raw) == [401], (line, raw[:200])
        assert statuses(raw_exchange(host, port, head + b"X-Api-Key: amp-good-key\r\n\r\n")) == [200]


KEYED = """
openapi: 3.0.3
info: {title: Keyed, version: "1"}
servers: [{url: /keyed}]
paths:
  /things:
    get:
      operationId: listThings
      security: [{header: []}, {query: []}, {cookie: []}, {basic: []}]
      responses:
        "200":
          description: Things.
          content: {application/json: {schema: {type: array, items: {type: object}}}}
        "401": {description: Refused.}
components:
  securitySchemes:
    header: {type: apiKey, in: header, name: X-Keyed-Key}
    query: {type: apiKey, in: query, name: key}
    cookie: {type: apiKey, in: cookie, name: session}
    basic: {type: http, scheme: basic}
"""


@pytest.mark.parametrize("query, headers", [
    ("?key=", {"X-Keyed-Key": "good"}),
    ("?key=good", {"X-Keyed-Key": ""}),
    ("?key=good", {"Cookie": "session="}),
    ("", {"X-Keyed-Key": "good", "Authorization": ""}),
    ("", {"X-Keyed-Key": "good", "Authorization": "Basic"}),
], ids=["empty-query", "empty-header", "empty-cookie", "empty-authorization", "basic-without-credentials"])
def test_an_empty_api_key_of_a_spec_is_refused_beside_an_accepted_one(tmp_path, query, headers):
    path = tmp_path / "keyed.yaml"
    path.write_text(KEYED)
    client = create_app(Settings(specs=(("keyed", path),))).test_client(use_cookies=False)  # headers as given
    assert client.get("/keyed/things?key=good").status_code == 200
    assert client.get("/keyed/things", headers={"X-Keyed-Key": "good"}).status_code == 200
    assert client.get("/keyed/things" + query, headers=headers).status_code == 401
