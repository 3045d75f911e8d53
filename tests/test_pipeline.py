"""The generic request path, for both vendors: every kind of bad input gets the vendor's own error
shape with a message naming the problem; never a 500, never a traceback."""

from __future__ import annotations

import json

import pytest

from mockserver import Settings, create_app
from mockserver.vendors import discover
from mockserver.vendors.base import Reply, Vendor
from tests.helpers import AMP, AP, ORG

AP_CREATE = ("/api/v1/projects", AP, {"displayName": "Acme"})
AMP_CREATE = ("/v1/projects", AMP, {"appName": "MailMonkey", "name": "mm-staging", "orgId": ORG})
BOTH = pytest.mark.parametrize("path, headers, valid", [AP_CREATE, AMP_CREATE], ids=["activepieces", "ampersand"])


def post_raw(client, path, headers, data, content_type="application/json"):
    return client.post(path, headers=headers, data=data, content_type=content_type)


def assert_vendor_error(response, status, needle):
    """Activepieces: Fastify JSON with `message`; Ampersand: problem+json with `detail`."""
    assert response.status_code == status
    body = response.get_json(force=True)
    if response.mimetype == "application/problem+json":
        assert body["status"] == status and body["title"]
        text = body["detail"] + json.dumps(body.get("issues", []))
    else:
        assert body["statusCode"] == status
        text = body["message"]
    assert needle in text, text
    assert "Traceback" not in response.get_data(as_text=True)


@BOTH
def test_valid_create_is_201(client, path, headers, valid):
    assert client.post(path, headers=headers, json=valid).status_code == 201


@BOTH
def test_trailing_slash_works_without_redirect(client, path, headers, valid):
    response = client.post(path + "/", headers=headers, json=valid)
    assert response.status_code == 201


@BOTH
def test_malformed_json_is_400(client, path, headers, valid):
    assert_vendor_error(post_raw(client, path, headers, b'{"displayName": '), 400, "not valid JSON")


@BOTH
@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null", b"true"])
def test_a_non_object_body_is_a_validation_error(client, path, headers, valid, body):
    response = post_raw(client, path, headers, body)
    assert response.status_code in (400, 422)
    text = response.get_data(as_text=True)
    assert "object" in text, text


@BOTH
def test_empty_body_is_400(client, path, headers, valid):
    assert_vendor_error(post_raw(client, path, headers, b""), 400, "empty")


@BOTH
def test_non_json_content_type_is_415(client, path, headers, valid):
    response = post_raw(client, path, headers, json.dumps(valid), content_type="text/plain")
    assert response.status_code == 415
    assert "text/plain" in response.get_data(as_text=True)


@BOTH
def test_missing_content_type_with_a_body_is_415(client, path, headers, valid):
    response = client.post(path, headers=headers, data=json.dumps(valid))
    assert response.status_code == 415


@BOTH
def test_body_over_the_limit_is_413(client, path, headers, valid):
    big = json.dumps({**valid, "padding": "x" * (1024 * 1024)})
    assert_vendor_error(post_raw(client, path, headers, big), 413, "too large")


def test_the_body_limit_is_a_setting():
    client = create_app(Settings(max_body_bytes=100)).test_client()
    response = client.post("/api/v1/projects", headers=AP, json={"displayName": "x" * 200})
    assert response.status_code == 413


@BOTH
@pytest.mark.parametrize("body", [b"\xff\xfe{}", b'{"a": NaN}', b'{"a": Infinity}', b'{"a": 1e400}',
                                  b'{"a": ' + b"9" * 5000 + b"}", b"[" * 100000 + b"]" * 100000])
def test_bodies_python_would_accept_or_choke_on_are_400(client, path, headers, valid, body):
    response = post_raw(client, path, headers, body)
    assert response.status_code == 400, response.get_data(as_text=True)


@BOTH
def test_json_charset_and_bom_are_accepted(client, path, headers, valid):
    response = post_raw(client, path, headers, b"\xef\xbb\xbf" + json.dumps(valid).encode(),
                        content_type="application/json; charset=utf-8")
    assert response.status_code == 201


def test_unknown_path_is_json_404(client):
    response = client.get("/v2/nothing-here")
    assert response.status_code == 404
    assert response.get_json() == {"error": "Not Found", "message": "no route for GET /v2/nothing-here", "status": 404}


@pytest.mark.parametrize("path", ["/", "/favicon.ico", "/apis", "/v10/projects", "/__mock/nothing"])
def test_only_paths_outside_every_vendor_get_the_mocks_own_404(client, path):
    """Under a vendor's base path a 404 is the vendor's (tests of each vendor); elsewhere the mock's."""
    response = client.get(path, headers={**AP, **AMP})
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert response.get_json() == {"error": "Not Found", "message": f"no route for GET {path}", "status": 404}


def test_an_apis_base_path_is_its_server_path_or_the_segment_its_paths_share(tmp_path):
    from mockserver.spec import load_spec

    def base(server: str, *paths: str) -> str:
        document = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "servers": [{"url": server}],
                    "paths": {p: {"get": {"operationId": f"op{i}", "responses": {"200": {"description": "ok"}}}}
                              for i, p in enumerate(paths)}}
        path = tmp_path / f"spec{len(list(tmp_path.iterdir()))}.yaml"
        path.write_text(json.dumps(document))
        return load_spec(path, "x").base_path

    assert base("https://cloud.example.com/api", "/v1/things") == "/api"
    assert base("https://api.example.com", "/v1/things", "/v1/things/{id}") == "/v1"
    assert base("https://api.example.com", "/v1/things", "/v2/things") == ""  # nothing shared: owns no path
    assert base("https://api.example.com", "/{tenant}/things") == ""


@pytest.mark.parametrize("method, path, headers, allow", [
    ("PUT", "/api/v1/projects", AP, "GET, POST"),
    ("PATCH", "/api/v1/projects/abc", AP, "DELETE, GET, POST"),
    ("DELETE", "/v1/projects", AMP, "GET, POST"),
    ("DELETE", "/v1/projects/abc", AMP, "GET, PATCH"),
])
def test_wrong_method_is_405_with_allow(client, method, path, headers, allow):
    response = client.open(path, method=method, headers=headers)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert method in response.get_data(as_text=True)


def test_unknown_fields_are_dropped_silently(client):
    response = client.post("/api/v1/projects", headers=AP, json={"displayName": "A", "color": "red"})
    assert response.status_code == 201
    assert "color" not in response.get_json()


def _with_handler(vendor_name: str, operation_id: str, handler) -> dict[str, Vendor]:
    vendors = discover()
    real = vendors[vendor_name]
    vendors[vendor_name] = Vendor(real.name, real.spec_file, {**real.handlers, operation_id: handler},
                                  real.render_error, real.accept_credential)
    return vendors


def test_a_response_that_breaks_the_spec_is_a_500_naming_the_field():
    def broken(call):
        reply = discover()["ampersand"].handlers["createProject"](call)
        return Reply(201, {**reply.body, "createTime": 12})

    client = create_app(Settings(), vendors=_with_handler("ampersand", "createProject", broken)).test_client()
    response = client.post("/v1/projects", headers=AMP, json=AMP_CREATE[2])
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"] == "mock response does not match its spec"
    assert "createTime" in body["detail"] and "createProject" in body["detail"]


def test_an_undocumented_status_is_a_500():
    client = create_app(Settings(), vendors=_with_handler("activepieces", "getProject",
                                                          lambda call: Reply(418, {}))).test_client()
    response = client.get("/api/v1/projects/x", headers=AP)
    assert response.status_code == 500
    assert "status 418 is not documented" in response.get_json()["detail"]


def test_the_response_check_can_be_turned_off():
    client = create_app(Settings(validate_responses=False),
                        vendors=_with_handler("activepieces", "getProject", lambda call: Reply(200, {}))).test_client()
    assert client.get("/api/v1/projects/x", headers=AP).get_json() == {}


def test_a_handler_crash_is_a_500_without_traceback():
    def crash(call):
        raise RuntimeError("secret internals")

    client = create_app(Settings(), vendors=_with_handler("ampersand", "listProjects", crash)).test_client()
    response = client.get("/v1/projects", headers=AMP)
    assert response.status_code == 500
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert response.get_json() == {"error": "Internal Server Error", "message": "the mock failed; see its log",
                                   "status": 500}


@pytest.mark.parametrize("header", ["Bearer  sk-x", "bearer sk-x", "Bearer ", "sk-x", "Basic c2stdGVzdA=="])
def test_activepieces_reads_the_bearer_token_verbatim(client, header):
    response = client.post("/api/v1/projects", headers={"Authorization": header}, json={"displayName": "A"})
    assert response.status_code == 401
    assert response.get_json() == {"code": "INVALID_BEARER_TOKEN", "params": {"message": "invalid access token"}}


def test_over_http_a_big_body_gets_the_vendors_413_and_a_huge_one_is_refused_unread():
    import socket

    import requests

    from mockserver import run

    with run() as server:
        big = b'{"displayName": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        response = requests.post(server.activepieces_url + "/v1/projects", data=big, timeout=10,
                                 headers={**AP, "Content-Type": "application/json"})
        assert response.status_code == 413 and response.json()["code"] == "FST_ERR_CTP_BODY_TOO_LARGE"
        # A declared 1 GiB body is refused before the server buffers any of it.
        with socket.create_connection((server.host, server.port), timeout=10) as conn:
            conn.sendall(b"POST /api/v1/projects HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer sk-a\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n")
            assert conn.recv(100).startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize("cors", [True, False])
@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
@pytest.mark.parametrize("reply", [
    Reply(201, {"id": "p1"}),
    Reply(200, {"id": "p1"}, headers={"X-Request-Id": "r-1", "content-type": "application/json"}),
    Reply(404, "not found", headers={"Content-Type": "text/plain; charset=utf-8"}),
    Reply(200, {"id": "p1"}, headers={"Location": "/v1/projects/p1"}),  # werkzeug's: not the plain answer
    Reply(204), Reply(200), Reply(204, {"id": "p1"}), Reply(202, None, {"X-Id": "9", "Content-Type": "text/x"}),
    Reply(500, {"e": 1}, {"Retry-After": "1"}), Reply(200, {"id": "p1"}, {"Content-Type": "text/x"}),
])
def test_the_lean_answer_sends_the_headers_werkzeug_would(reply, method, cors):
    """The lean dispatch's plain answer (no werkzeug) is what werkzeug's response would send: no body
    and no type for None, no length for a 204, HEAD with its GET's headers and no body."""
    from mockserver.exchange import Exchange
    from mockserver.pipeline import finish

    runtime = create_app(Settings(cors=cors, validate_responses=False)).extensions["mockserver"]

    def sent(lean: bool) -> tuple[str, list, bytes]:
        exchange = Exchange(vendor="ampersand", method=method, path="/v1/projects/p1", query={}, headers={}, body=b"")
        answer = finish(runtime, None, reply, exchange, lean=lean)
        started = []

        def start(status, headers, exc_info=None):
            started.extend([status, headers])

        body = b"".join(answer({"REQUEST_METHOD": method}, start))
        return started[0], sorted((name.lower(), value) for name, value in started[1]), body

    assert sent(lean=True) == sent(lean=False)
    assert ("access-control-allow-origin" in dict(sent(lean=True)[1])) is cors
    exchange = Exchange(vendor="ampersand", method=method, path="/", query={}, headers={}, body=b"")
    plain = type(finish(runtime, None, reply, exchange, lean=True)).__name__ == "_Plain"
    assert plain is ("Location" not in reply.headers)
    runtime.store.close()
