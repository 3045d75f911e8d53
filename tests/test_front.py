"""The front (mockserver/front.py) answers spec requests without Flask or werkzeug, and as they
would: its router picks the route werkzeug's URL map picks (or leaves the URL to it), its request
reads the environ as werkzeug's does (its plain answers: test_pipeline.py). And
`mockserver serve` answers vendor requests without importing Flask or werkzeug, building the Flask
app when the control API, the page or an unrouted URL first needs it."""

from __future__ import annotations

import http.client
import json
import re
import textwrap

import pytest
from helpers import cli_server
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from mockserver import Settings, create_app
from mockserver.connection import RAW_BODY
from mockserver.leanrequest import LeanRequest

ROUTES = textwrap.dedent("""\
    openapi: 3.1.0
    info: {title: routes, version: "1"}
    servers: [{url: /r}]
    paths:
    """) + "".join(f"  {path}:\n    get:\n      operationId: op{index}\n"
                   f"      responses: {{'200': {{description: ok}}}}\n"
                   for index, path in enumerate([
                       "/items", "/items/{id}", "/items/search", "/items/{id}/parts/{part}", "/items/{id}.json",
                       "/files/{name}:cancel", "/a/{x}/b", "/a/c/{y}", "/trail/", "/{any}", "/x-{y}",
                       "/pets/{pet-id}/toys/{pet-id}", "/deep/{a}/{b}/{c}", "/deep/{a}/fixed/{c}"]))

URLS = ["/r/items", "/r/items/", "/r/items/1", "/r/items/1/", "/r/items/search", "/r/items/search/",
        "/r/items/1/parts/2", "/r/items/1.json", "/r/items/a.b.json", "/r/files/a:b:cancel", "/r/files/cancel",
        "/r/a/c/b", "/r/a/z/b", "/r/a/c/z", "/r/trail", "/r/trail/", "/r/zzz", "/r/zzz/", "/r/x-1", "/r/items//1",
        "/r//items", "/r/items/1/parts", "/r/pets/p/toys/q", "/r/deep/1/fixed/3", "/r/deep/1/2/3", "/r/deep/1/fixed",
        "/r/caf\u00e9", "/r/a%20b", "/r", "/r/", "/__mock/health", "/elsewhere", "/r/items/1/parts/2/3"]


# Two routes match with variables in the same segments: werkzeug's rule weights decide, the router does not.
TIES = ("/r/x-1", "/r/items/1.json", "/r/items/a.b.json")


@pytest.fixture(scope="module")
def routed(tmp_path_factory):
    document = tmp_path_factory.mktemp("routes") / "routes.yaml"
    document.write_text(ROUTES)
    app = create_app(Settings(specs=(("r", document),)))
    yield app
    app.extensions["mockserver"].store.close()


def test_the_router_picks_the_route_werkzeugs_map_picks_or_leaves_the_url_to_it(routed):
    router = routed.extensions["mockserver.front"].router
    adapter = routed.url_map.bind("localhost")
    decided = 0
    for url in URLS:
        ours = router.match("/" + url.lstrip("/"))
        try:
            endpoint, values = adapter.match(url, method="GET")
        except (HTTPException, RequestRedirect):
            assert ours is None, url  # werkzeug: no route, or a redirect; the router must not take it
            continue
        if ours is None:
            assert url.startswith("/__mock") or url in TIES, \
                f"{url}: werkzeug routes it to {endpoint}; the router should too, or say why not"
            continue
        (target, operations, _), params = ours
        assert endpoint.partition(":")[2].rstrip("/") == operations["GET"].path.rstrip("/"), url
        assert params == values, url
        decided += 1
    assert decided >= 18


def test_a_tie_werkzeug_breaks_by_its_rule_weights_goes_to_the_map_and_is_answered(routed):
    client = routed.test_client()
    assert routed.extensions["mockserver.front"].router.match("/r/x-1") is None  # `/x-{y}` and `/{any}`
    assert client.get("/r/x-1").status_code == 200
    assert client.get("/r/trail").status_code == 308  # werkzeug's redirect to `/r/trail/`


ENVIRONS = [
    {"query_string": "a=1&a=2&b=&c&d=%20x+y&e=%E2%9C%93&f[g]=h&=v", "method": "post"},
    {"query_string": "bad=%FF%FE&ok=1"},  # not UTF-8 once unescaped: werkzeug keeps it escaped
    {"query_string": "", "headers": {"Content-Type": "Application/JSON ; charset=UTF-8", "X-Api-Key": "k"}},
    {"headers": {"Content-Type": "multipart/form-data; boundary=x"}, "data": b"--x--"},
    {"headers": {"Content-Length": " 7 "}, "data": b"1234567"},
    {"headers": {"Transfer-Encoding": "chunked"}},
    {"path": "//twice//slashes/", "headers": {"Cookie": "a=1; b=2", "Prefer": "code=404"}},
]


@pytest.mark.parametrize("options", ENVIRONS)
def test_the_lean_request_reads_the_environ_as_werkzeugs_request_does(options):
    def environ() -> dict:  # one each: the body is a stream, read once
        made = EnvironBuilder(**{"path": "/p", **options}).get_environ()
        if options.get("headers", {}).get("Content-Length"):
            made["CONTENT_LENGTH"] = options["headers"]["Content-Length"]
        if "Transfer-Encoding" in options.get("headers", {}):
            made["HTTP_TRANSFER_ENCODING"] = "chunked"
            made.pop("CONTENT_LENGTH", None)
        return made

    ours, theirs = LeanRequest(environ(), 1000), Request(environ())
    for name in ("method", "path", "mimetype", "content_type", "content_length", "cookies", "base_url"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.args.to_dict(flat=False) == theirs.args.to_dict(flat=False)
    assert ours.args.to_dict() == theirs.args.to_dict() and list(ours.args) == list(theirs.args)
    for name in ("a", "b", "c", "f[g]", "missing", "bad", ""):
        assert ours.args.get(name) == theirs.args.get(name) and ours.args.getlist(name) == theirs.args.getlist(name)
        assert (name in ours.args) == (name in theirs.args)
    for name in ("X-Api-Key", "x_api_key", "content-type", "Content-Length", "Prefer", "Cookie", "Missing"):
        assert ours.headers.get(name) == theirs.headers.get(name), name
        assert (name in ours.headers) == (name in theirs.headers), name
        assert ours.headers.getlist(name) == theirs.headers.getlist(name), name
    assert sorted(ours.headers) == sorted(theirs.headers)
    assert ours.get_data() == theirs.get_data()


def test_a_query_with_raw_bytes_werkzeug_fails_on_reads_them_replaced():
    # llhttp refuses them; another WSGI server may pass them (werkzeug's `args` raises UnicodeDecodeError)
    environ = {"QUERY_STRING": "a=1&b=\xff&c=%E2%9C%93"}
    with pytest.raises(UnicodeDecodeError):
        Request(dict(environ)).args  # noqa: B018
    assert LeanRequest(environ).args.to_dict() == {"a": "1", "b": "\ufffd", "c": "\u2713"}


def test_the_lean_request_reads_the_servers_buffered_body_and_leaves_werkzeug_unused():
    environ = EnvironBuilder(path="/p", method="POST", data=b'{"a":1}', content_type="application/json").get_environ()
    environ[RAW_BODY] = b'{"a":1}'
    request = LeanRequest(environ, 10)
    assert request.get_data(cache=False) == b'{"a":1}' and request.content_length == 7
    assert request._full is None  # nothing so far needed werkzeug's request


PROBE = """
import atexit, json, os, sys
def loaded():
    names = {name.split(".")[0] for name in sys.modules}
    with open(os.environ["MOCKSERVER_TEST_PROBE"], "w") as out:
        json.dump(sorted(names & {"flask", "werkzeug", "jinja2", "click"}), out)
atexit.register(loaded)
from mockserver.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def _send(url: str, method: str, path: str, body=None, headers=None) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        data = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=data, headers={**({"Content-Type": "application/json"} if data else {}),
                                                                 **(headers or {})})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


AMPERSAND = {"X-Api-Key": "probe-key"}
PROJECT = {"appName": "App", "name": "probe", "orgId": "9f7c3e2a-61b8-4f5c-8d1a-eb24f3b05d79"}


def test_serve_answers_vendor_requests_without_importing_flask_or_werkzeug(tmp_path, monkeypatch):
    probe = tmp_path / "loaded.json"
    monkeypatch.setenv("MOCKSERVER_TEST_PROBE", str(probe))
    with cli_server(runner=("-c", PROBE)) as (_, url):
        status, body = _send(url, "POST", "/v1/projects", PROJECT, AMPERSAND)
        assert status == 201, body
        project = json.loads(body)["id"]
        assert _send(url, "GET", "/v1/projects", headers=AMPERSAND)[0] == 200
        assert _send(url, "GET", f"/v1/projects/{project}", headers=AMPERSAND)[0] == 200
        assert _send(url, "HEAD", f"/v1/projects/{project}", headers=AMPERSAND) == (200, b"")
        assert _send(url, "POST", "/v1/projects", {"name": 5}, AMPERSAND)[0] == 422  # the vendor's own error
        activepieces = {"Authorization": "Bearer sk-1"}
        assert _send(url, "POST", "/api/v1/projects", {"displayName": "Acme"}, activepieces)[0] == 201
        preflight = {"Origin": "http://x", "Access-Control-Request-Method": "POST"}
        assert _send(url, "OPTIONS", "/v1/projects", headers=preflight)[0] == 204
    assert json.loads(probe.read_text()) == []


def test_the_flask_app_is_built_when_a_request_first_needs_it_and_sees_what_came_before(tmp_path, monkeypatch):
    probe = tmp_path / "loaded.json"
    monkeypatch.setenv("MOCKSERVER_TEST_PROBE", str(probe))
    with cli_server(runner=("-c", PROBE)) as (process, url):
        assert _send(url, "POST", "/v1/projects", PROJECT, AMPERSAND)[0] == 201
        status, body = _send(url, "GET", "/__mock/requests")
        assert status == 200 and [entry["operationId"] for entry in json.loads(body)["requests"]] == ["createProject"]
        status, body = _send(url, "GET", "/v1/nothing/here", headers=AMPERSAND)  # the vendor's own 404
        assert status == 404 and b"nothing/here" in body
        assert _send(url, "GET", "/elsewhere")[0] == 404
        assert _send(url, "POST", "/__mock/reset", {})[0] == 200
        assert _send(url, "GET", "/__mock/state")[0] == 200
        assert _send(url, "GET", "/v1/projects", headers=AMPERSAND)[0] == 200
    assert "flask" in json.loads(probe.read_text())
    assert any(re.search(r"POST +/__mock/reset", line) for line in process.printed.lines)  # the log's control hook
