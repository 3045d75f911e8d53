"""Property tests of the request pipeline (Flask test client): whatever the method, path, headers and
body, the answer is a status the spec documents for that operation (404 outside every route, the
vendor's 405 with `Allow` for a method the spec lacks) with a body the spec's schema accepts; never a
500, never a traceback. Then the hostile inputs one by one, over both stores, and a `Content-Length`
that lies, over a real socket.

The oracle reads the YAML on its own (jsonschema + referencing), not through `mockserver.spec`."""

from __future__ import annotations

import json
import re
import socket
import string
from urllib.parse import quote, urlencode

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import mockserver
from mockserver import Settings, create_app
from mockserver.spec import specs_dir

AP_KEY, AMP_KEY = "sk-props", "props-key"
CREDENTIALS = {"activepieces": {"Authorization": f"Bearer {AP_KEY}"}, "ampersand": {"X-Api-Key": AMP_KEY}}
ERROR_SCHEMA = {"activepieces": "FastifyError", "ampersand": "ApiProblem"}  # the shape of each vendor's 405
PROPERTY_SETTINGS = settings(max_examples=250, derandomize=True, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# --- the oracle: the specs as written ---------------------------------------------------------------

class SpecOracle:
    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        self.doc = yaml.safe_load((specs_dir() / f"{vendor}.yaml").read_text(encoding="utf-8"))
        self.uri = f"urn:mockserver:{vendor}"
        self.registry = Registry().with_resource(
            self.uri, Resource.from_contents(self.doc, default_specification=DRAFT202012))
        self.prefix = "/" + self.doc["servers"][0]["url"].split("://", 1)[-1].partition("/")[2]
        self.prefix = self.prefix.rstrip("/")

    def resolve(self, pointer: str) -> tuple[str, dict]:
        """The node at a JSON pointer, following `$ref`s; with the pointer it was finally found at."""
        node = self.doc
        for part in pointer.lstrip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        while isinstance(node, dict) and "$ref" in node:
            return self.resolve(node["$ref"][1:])
        return pointer, node

    def validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"{self.uri}#{pointer}"}, registry=self.registry,
                                    format_checker=Draft202012Validator.FORMAT_CHECKER)

    def operations(self, spec_path: str) -> dict[str, str]:
        """METHOD -> JSON pointer of the operation."""
        escaped = spec_path.replace("~", "~0").replace("/", "~1")
        return {method.upper(): f"/paths/{escaped}/{method}" for method in self.doc["paths"][spec_path]
                if method in ("get", "put", "post", "delete", "options", "head", "patch", "trace")}

    def response(self, operation: str, status: int) -> tuple[str, dict] | None:
        _, node = self.resolve(operation)
        codes = {str(code): code for code in node["responses"]}
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in codes:
                return self.resolve(f"{operation}/responses/{key}")
        return None


ORACLES = {vendor: SpecOracle(vendor) for vendor in CREDENTIALS}


def body_of(response) -> object:
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text, text
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in a response"))


def assert_documented(app, method: str, path: str, response) -> None:
    """The answer is what the spec (or, outside it, the 404/405 rules) allows, and its body validates."""
    assert response.status_code != 500, response.get_data(as_text=True)
    adapter = app.url_map.bind("localhost")
    path = response.request.path  # as the server saw it
    try:
        endpoint, _ = adapter.match(path, method=method)
    except Exception:  # no route: the vendor's own 404 under its base path, else the mock's JSON
        assert response.status_code == 404, (method, path, response.status)
        if method == "HEAD":
            return
        if path == "/api" or path.startswith("/api/"):  # Era A's onRequest hook: plain text
            assert response.mimetype == "text/plain", response.mimetype
            assert "Oops! It looks like we hit a dead end." in response.get_data(as_text=True)
        elif path == "/v1" or path.startswith("/v1/"):
            assert response.mimetype == "application/problem+json", response.mimetype
            ORACLES["ampersand"].validator(f"/components/schemas/{ERROR_SCHEMA['ampersand']}").validate(
                body_of(response))
        else:
            assert response.mimetype == "application/json" and isinstance(body_of(response), dict)
        return
    vendor, _, spec_path = endpoint.partition(":")
    oracle = ORACLES[vendor]
    operations = oracle.operations(spec_path.rstrip("/") if spec_path.rstrip("/") in oracle.doc["paths"]
                                   else spec_path)
    chosen = operations.get(method) or (operations.get("GET") if method == "HEAD" else None)
    if chosen is None:
        assert response.status_code == 405, (method, path, response.status)
        assert sorted(m.strip() for m in response.headers["Allow"].split(",")) == sorted(operations)
        error = oracle.validator(f"/components/schemas/{ERROR_SCHEMA[vendor]}")
        error.validate(body_of(response))
        return
    documented = oracle.response(chosen, response.status_code)
    assert documented is not None, f"{vendor} {method} {spec_path}: status {response.status_code} undocumented"
    pointer, node = documented
    content = node.get("content")
    if method == "HEAD" or not content:  # no body: HEAD never has one, and the spec documents none
        assert response.get_data() == b"", response.get_data()
        return
    media_type = next(iter(content))
    assert response.mimetype == media_type, (response.mimetype, media_type)
    escaped = media_type.replace("~", "~0").replace("/", "~1")
    oracle.validator(f"{pointer}/content/{escaped}/schema").validate(body_of(response))


# --- the app and what it already holds ------------------------------------------------------------

@pytest.fixture(scope="module")
def app():
    app = create_app(Settings())
    client = app.test_client()
    for n in range(3):  # some real ids and names for the generated paths to hit
        client.post("/api/v1/projects", json={"displayName": f"p{n}", "externalId": f"e{n}"},
                    headers=CREDENTIALS["activepieces"])
        client.post("/v1/projects", json={"appName": "A", "name": f"name-{n}", "orgId": "org"},
                    headers=CREDENTIALS["ampersand"])
    return app


def known_segments(app) -> list[str]:
    from mockserver.store import Tenant

    store = app.extensions["mockserver"].store
    found = []
    for vendor, key in (("activepieces", AP_KEY), ("ampersand", AMP_KEY)):
        for record in store.scan(Tenant(vendor, key), "projects"):
            found.append(record["id"])
            if "name" in record:
                found.append(record["name"].upper())
    return found


# --- strategies ---------------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) \
    | st.text()
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
mask_items = st.sampled_from(["appName", "name", "", "orgId", "NAME"])
project_names = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9-]{0,6}[a-zA-Z0-9]", fullmatch=True)
shaped_bodies = {  # close to valid, to get past validation into the handlers
    "activepieces": st.fixed_dictionaries(
        {"displayName": st.text(max_size=20)},
        optional={"externalId": st.sampled_from(["e0", "e1", "x"]) | st.text(max_size=5),
                  "notifyStatus": st.sampled_from(["NEVER", "ALWAYS", "SOMETIMES"]),
                  "plan": st.fixed_dictionaries({}, optional={"tasks": st.integers(), "teamMembers": json_scalars}),
                  "extra": json_values}),
    "ampersand": st.fixed_dictionaries(
        {"appName": st.text(min_size=1, max_size=10), "name": project_names | st.text(max_size=6),
         "orgId": st.sampled_from(["org", "other", ""])},
        optional={"extra": json_values})
    | st.fixed_dictionaries({"updateMask": st.lists(mask_items, max_size=3),
                             "project": st.fixed_dictionaries({}, optional={
                                 "appName": st.text(max_size=5) | json_scalars,
                                 "name": st.sampled_from(["name-1", "Name-2", "-x"]) | project_names})}),
}
bodies = st.one_of(  # close to valid, to get past validation into the handlers
    st.fixed_dictionaries({"displayName": st.text(max_size=20)},
                          optional={"externalId": st.sampled_from(["e0", "e1", "x"]) | st.text(max_size=5),
                                    "notifyStatus": st.sampled_from(["NEVER", "ALWAYS", "SOMETIMES"]),
                                    "plan": st.fixed_dictionaries({}, optional={"tasks": st.integers(),
                                                                                "teamMembers": json_scalars}),
                                    "extra": json_values}),
    st.fixed_dictionaries({"appName": st.text(max_size=130), "orgId": st.sampled_from(["org", "other", ""])},
                          optional={"name": st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9-]{0,6}[a-zA-Z0-9]", fullmatch=True)
                                    | st.text(max_size=6), "extra": json_values}),
    st.fixed_dictionaries({"updateMask": st.lists(mask_items, max_size=3),
                           "project": st.fixed_dictionaries({}, optional={
                               "appName": st.text(max_size=5) | json_scalars,
                               "name": st.sampled_from(["name-1", "Name-2", "-x", "ok-name"])})}),
)
bodies = st.one_of(
    st.none(),
    json_values.map(json.dumps),
    st.binary(max_size=40),
    st.text(max_size=40),
)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"),
                        max_size=30)
credentials = st.sampled_from([
    {}, CREDENTIALS["activepieces"], CREDENTIALS["ampersand"], {"Authorization": "Bearer sk-other"},
    {"X-Api-Key": "other"}, {"Authorization": "bearer sk-props"}, {"Authorization": "Bearer "},
    {"Authorization": "Basic c2stcHJvcHM6"}, {**CREDENTIALS["activepieces"], **CREDENTIALS["ampersand"]},
])
content_types = st.sampled_from([None, "application/json", "application/json; charset=utf-8",
                                 "application/problem+json", "text/plain", "application/x-www-form-urlencoded",
                                 "multipart/form-data; boundary=x", "", "application/jsonx", "*/*"])
other_headers = st.dictionaries(
    st.sampled_from(["Accept", "Accept-Encoding", "Prefer", "X-Amp-Client", "Content-Encoding", "Expect",
                     "Transfer-Encoding-X", "Origin", "X-Forwarded-For", "Cookie"])
    | st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=12),
    header_values, max_size=4)
methods = st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS", "TRACE", "QUERY",
                           "BREW"])
segments = st.text(max_size=12) | st.sampled_from(["", ".", "..", "%", "null", "a" * 300])
queries = st.dictionaries(st.sampled_from(["limit", "cursor", "externalId", "includeEntitlements", "x"]),
                          st.text(max_size=10) | st.integers().map(str), max_size=3)


def mostly(likely, anything):
    """`likely` three times in four: a test of any request must still mostly reach the handlers."""
    return st.integers(0, 3).flatmap(lambda n: anything if n == 3 else likely)


@st.composite
def requests(draw, known: list[str]):
    vendor = draw(st.sampled_from(sorted(CREDENTIALS)))
    segment = quote(draw(mostly(st.sampled_from(known), segments)), safe="")
    path = ORACLES[vendor].prefix + "/v1/projects" + draw(st.sampled_from(["", "/", "/{s}", "/{s}/"])).format(s=segment)
    path = draw(mostly(st.just(path), st.sampled_from(["/", "/api/v1", "/v1", "/api/v2/projects", path + "/x",
                                                       path.replace("/projects", "//projects"), path + "//"])))
    query = draw(queries)
    headers = {**draw(mostly(st.just(CREDENTIALS[vendor]), credentials)), **draw(other_headers)}
    content_type = draw(mostly(st.just("application/json"), content_types))
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = draw(mostly(shaped_bodies[vendor].map(json.dumps), bodies))
    method = draw(mostly(st.sampled_from(["GET", "POST", "PATCH", "DELETE"]), methods))
    return method, path + ("?" + urlencode(query) if query else ""), headers, body


def test_any_request_gets_a_documented_answer(app):
    known = known_segments(app)
    client = app.test_client()

    @PROPERTY_SETTINGS
    @given(requests(known))
    def check(request):
        method, path, headers, body = request
        response = client.open(path, method=method, headers=headers, data=body)
        assert_documented(app, method, path, response)

    check()


@PROPERTY_SETTINGS
@given(method=st.from_regex(r"[A-Z][A-Z-]{0,11}", fullmatch=True),
       route=st.sampled_from([("activepieces", "/api/v1/projects", "/v1/projects"),
                              ("activepieces", "/api/v1/projects/x/", "/v1/projects/{id}"),
                              ("ampersand", "/v1/projects/", "/v1/projects"),
                              ("ampersand", "/v1/projects/x", "/v1/projects/{projectIdOrName}")]))
def test_any_method_outside_the_spec_is_the_vendors_405_with_allow(app, method, route):
    """Regression: QUERY (and any made-up method) got werkzeug's generic 405, without `Allow`."""
    vendor, path, spec_path = route
    response = app.test_client().open(path, method=method, headers=CREDENTIALS[vendor])
    assert_documented(app, method, path, response)
    documented = ORACLES[vendor].operations(spec_path)
    if method not in documented and not (method == "HEAD" and "GET" in documented):
        assert response.status_code == 405
        assert sorted(response.headers["Allow"].split(", ")) == sorted(documented)


# --- hostile inputs, one by one, on both stores ----------------------------------------------------

@pytest.fixture(params=["memory", "sqlite"])
def any_store_app(request, tmp_path):
    return create_app(Settings(db=tmp_path / "mock.db" if request.param == "sqlite" else None))


AP_CREATE = ("POST", "/api/v1/projects", "activepieces")
AMP_CREATE = ("POST", "/v1/projects", "ampersand")
DEEP = 100_000


def send(app, target, raw: bytes | str, content_type="application/json"):
    method, path, vendor = target
    response = app.test_client().open(path, method=method, data=raw,
                                      headers={**CREDENTIALS[vendor], "Content-Type": content_type})
    assert_documented(app, method, path, response)
    return response


@pytest.mark.parametrize("target", [AP_CREATE, AMP_CREATE], ids=["activepieces", "ampersand"])
@pytest.mark.parametrize(("raw", "status"), [
    ("[" * DEEP + "]" * DEEP, 400),
    ('{"a":' * DEEP + "1" + "}" * DEEP, 400),
    ('{"displayName":"x","appName":"x","name":"xy","orgId":"o","extra":' + "[" * 5000 + "]" * 5000 + "}", 400),
    ('{"displayName":' + "9" * 5000 + "}", 400),  # over Python's 4300-digit int limit
    ('{"displayName":1e400,"appName":1e400}', 400),
    ('{"displayName":NaN,"appName":NaN}', 400),
    ('{"displayName":Infinity,"appName":-Infinity}', 400),
    (b'{"displayName":"\xff\xfe","appName":"\xc3\x28"}', 400),  # invalid UTF-8
    ("", 400),
    ("{", 400),
    ('{"displayName":"x"} trailing', 400),
], ids=["deep-array", "deep-object", "deep-extra", "int-5000-digits", "1e400", "NaN", "Infinity",
        "invalid-utf8", "empty", "truncated", "trailing-garbage"])
def test_hostile_bodies_are_clear_400s(any_store_app, target, raw, status):
    response = send(any_store_app, target, raw)
    assert response.status_code == status, response.get_data(as_text=True)


@pytest.mark.parametrize(("escaped", "expected"), [
    ("\\u0000\\u0001\\u001f\u007f", "\x00\x01\x1f\x7f"),
    ("\u2028\u2029", "\u2028\u2029"),
    ("e\u0301 \U0001f600 \u202e", "e\u0301 \U0001f600 \u202e"),
    ("\ufeff", "\ufeff"),
    ("a" * 200_000, "a" * 200_000),
    ("\\ud83d\\ude00", "\U0001f600"),  # a valid pair, escaped
    ("\\ud800", "\ufffd"),  # lone surrogates: replaced, as the vendors' decoders/databases do
    ("\\udfff\\ud800x", "\ufffd\ufffdx"),
], ids=["control", "separators", "combining-emoji-bidi", "bom", "200k", "escaped-pair", "lone-high",
        "lone-low-high"])
def test_any_unicode_round_trips(any_store_app, escaped, expected):
    response = send(any_store_app, AP_CREATE, f'{{"displayName":"{escaped}","externalId":"{escaped}"}}')
    assert response.status_code == 201
    created = response.get_json()
    assert created["displayName"] == expected == created["externalId"]
    # Stored as sent: the same again by id and through the list, on both stores.
    client = any_store_app.test_client()
    again = client.get(f"/api/v1/projects/{created['id']}", headers=CREDENTIALS["activepieces"])
    assert again.get_json() == created
    listed = client.get("/api/v1/projects", headers=CREDENTIALS["activepieces"])
    assert_documented(any_store_app, "GET", "/api/v1/projects", listed)
    assert created in listed.get_json()["data"]


def test_a_lone_surrogate_never_poisons_later_responses(any_store_app):
    """Regression: `"\\ud800"` was stored as is, and every response holding it (the create, and each
    later list of that tenant) failed to encode: a 500."""
    for raw in ('{"displayName":"\\ud800"}', '{"displayName":"ok","externalId":"\\udc00","\\ud801":[["\\ud802"]]}'):
        assert send(any_store_app, AP_CREATE, raw).status_code == 201
    ampersand = send(any_store_app, AMP_CREATE, '{"appName":"\\ud800","name":"ab","orgId":"\\udbff"}')
    assert ampersand.status_code == 201 and ampersand.get_json()["appName"] == "\ufffd"
    client = any_store_app.test_client()
    listed = client.get("/api/v1/projects", headers=CREDENTIALS["activepieces"])
    assert listed.status_code == 200
    assert [p["displayName"] for p in listed.get_json()["data"]] == ["\ufffd", "ok"]
    assert listed.get_json()["data"][1]["externalId"] == "\ufffd"
    bad_name = send(any_store_app, AMP_CREATE, '{"appName":"a","name":"a\\ud800b","orgId":"o"}')
    assert bad_name.status_code == 422


def test_duplicate_keys_the_last_one_wins(any_store_app):
    """As in JSON.parse (Activepieces) and Go's encoding/json (Ampersand)."""
    created = send(any_store_app, AP_CREATE, '{"displayName":"first","displayName":"last"}')
    assert created.status_code == 201 and created.get_json()["displayName"] == "last"
    amp = send(any_store_app, AMP_CREATE, '{"appName":"a","name":"-bad-","orgId":"o","name":"good-one"}')
    assert amp.status_code == 201 and amp.get_json()["name"] == "good-one"


@pytest.mark.parametrize("number", ["9" * 4000, "1e300", "18446744073709551616", "0.0", "5.0"])
def test_huge_but_parseable_numbers_are_stored_and_rendered(any_store_app, number):
    project = send(any_store_app, AP_CREATE, '{"displayName":"n"}').get_json()
    target = ("POST", f"/api/v1/projects/{project['id']}", "activepieces")
    updated = send(any_store_app, target, f'{{"plan":{{"tasks":{number},"teamMembers":{number}}}}}')
    assert updated.status_code == 200
    assert updated.get_json()["plan"]["tasks"] == json.loads(number)


@pytest.mark.parametrize("number", ["-1", "1.5", "1e400", "-0.5"])
def test_out_of_range_numbers_are_the_vendors_400(any_store_app, number):
    project = send(any_store_app, AP_CREATE, '{"displayName":"n"}').get_json()
    target = ("POST", f"/api/v1/projects/{project['id']}", "activepieces")
    assert send(any_store_app, target, f'{{"plan":{{"tasks":{number}}}}}').status_code == 400


@pytest.mark.parametrize("query", ["limit=" + "9" * 5000, "limit=1e400", "limit=NaN", "limit=-Infinity",
                                   "limit=0x10", "cursor=" + "A" * 10_000, "limit=%00", "externalId=%ED%A0%80"])
def test_hostile_query_strings(any_store_app, query):
    path = "/api/v1/projects?" + query
    response = any_store_app.test_client().get(path, headers=CREDENTIALS["activepieces"])
    assert_documented(any_store_app, "GET", path, response)
    assert response.status_code in (200, 400)


def test_a_body_over_the_limit_is_413(any_store_app):
    big = json.dumps({"displayName": "x" * (1024 * 1024)})
    assert send(any_store_app, AP_CREATE, big).status_code == 413
    assert send(any_store_app, AMP_CREATE, big).status_code == 413


# --- a Content-Length that lies, over a real socket ----------------------------------------------

def raw_exchange(base_url: str, data: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes, read until the server closes (or stays silent for `timeout`). No half-close: the
    mock's server reads ahead, and a client that shuts its side is a client gone (no answer)."""
    host, port = base_url.removeprefix("http://").split(":")
    chunks = []
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def request_bytes(body: bytes, content_length: int | str, path: str = "/api/v1/projects") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {AP_KEY}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {content_length}\r\n\r\n").encode() + body


def statuses(raw: bytes) -> list[int]:
    return [int(line.split()[1]) for line in raw.split(b"\r\n") if line.startswith(b"HTTP/1.")]


@pytest.mark.parametrize(("content_length", "body", "expected"), [
    (100, b'{"displayName":"short"}', []),  # says more than it sends: no request, no answer
    (10 * 1024 * 1024, b'{"displayName":"x"}', []),  # says more than the limit, sends little
    (5, b'{"displayName":"long"}', [400]),  # says less: a truncated body (the rest is no request)
    (0, b'{"displayName":"zero"}', [400]),
    ("-1", b'{"displayName":"neg"}', [400]),
    ("abc", b'{"displayName":"nan"}', [400]),
    ("1, 2", b'{"displayName":"list"}', [400]),
])
def test_a_lying_content_length_never_breaks_the_server(content_length, body, expected):
    with mockserver.run() as server:
        base_url = server.url
        # Waiting for a body that never comes: silence, then the client gives up (1 s, not a race:
        # no answer may ever come, however slow the server).
        raw = raw_exchange(base_url, request_bytes(body, content_length), timeout=1.0 if not expected else 10.0)
        assert statuses(raw) == expected, raw[:500]
        assert b"Traceback" not in raw and b"500 Internal" not in raw
        # The server still answers, and nothing half-read became a project.
        after = raw_exchange(base_url, (f"GET /api/v1/projects HTTP/1.1\r\nHost: localhost\r\n"
                                        f"Authorization: Bearer {AP_KEY}\r\nConnection: close\r\n\r\n").encode())
        assert statuses(after) == [200]
        assert json.loads(after.split(b"\r\n\r\n", 1)[1])["data"] == []


def test_slow_truthful_body_is_read_whole():
    """The honest control case for the above: the body arrives in pieces and is read whole."""
    body = b'{"displayName":"pieces"}'
    with mockserver.run() as server:
        base_url = server.url
        host, port = base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(request_bytes(b"", len(body)))
            for i in range(0, len(body), 5):
                sock.sendall(body[i:i + 5])
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        assert statuses(raw) == [201]


@pytest.mark.parametrize("path", ["/api/v1/projects//x", "/api/v1//projects", "/v1/projects//x", "/v1/projects//"])
def test_a_doubled_slash_is_a_404_not_a_redirect(app, path):
    """Regression: werkzeug merged the slashes and answered 308 to another URL."""
    response = app.test_client().get(path, headers={**CREDENTIALS["activepieces"], **CREDENTIALS["ampersand"]})
    assert response.status_code == 404 and "Location" not in response.headers
    assert_documented(app, "GET", path, response)


def every_operation():
    """(vendor, METHOD, path template with the mount prefix, the operation as written)."""
    for vendor, oracle in ORACLES.items():
        for spec_path in oracle.doc["paths"]:
            for method, pointer in oracle.operations(spec_path).items():
                yield vendor, method, oracle.prefix + spec_path, oracle.resolve(pointer)[1]


@pytest.mark.parametrize("operation", list(every_operation()), ids=lambda op: f"{op[0]}-{op[3]['operationId']}")
def test_every_failure_the_pipeline_can_produce_is_documented_for_every_operation(app, operation):
    """No credential, a refused one, an unknown id, and for a body: not JSON, not a JSON type, too big,
    empty; and every injectable status. Each answer must be one the operation documents, body and all."""
    vendor, method, template, node = operation
    has_body = "requestBody" in node
    path = re.sub(r"\{[^}]+\}", "no-such-project", template)
    good = CREDENTIALS[vendor]
    attempts = [({}, None), ({"Authorization": "Bearer x", "X-Api-Key": ""}, None), (good, None)]
    if has_body:
        attempts += [({**good, "Content-Type": "application/json"}, b"{"),
                     ({**good, "Content-Type": "text/plain"}, b"{}"),
                     ({**good, "Content-Type": "application/json"}, b"[" + b"1," * 600_000 + b"1]"),
                     ({**good, "Content-Type": "application/json"}, b""),
                     ({**good, "Content-Type": "application/json"}, b"[]")]
    for status in (code for code in map(str, node["responses"]) if code.isdigit() and int(code) >= 400):
        attempts.append(({**good, "Prefer": f"code={status}"}, b"{}" if has_body else None))
    client = app.test_client()
    seen = set()
    for headers, body in attempts:
        if body is not None and "Content-Type" not in headers:
            headers = {**headers, "Content-Type": "application/json"}
        response = client.open(path, method=method, headers=headers, data=body)
        assert_documented(app, method, path, response)
        seen.add(response.status_code)
    assert 401 in seen and len(seen) >= 2, seen


ADMIN = yaml.safe_load((specs_dir() / "admin.yaml").read_text(encoding="utf-8"))


@PROPERTY_SETTINGS
@given(method=st.from_regex(r"[A-Z][A-Z-]{0,11}", fullmatch=True), path=st.sampled_from(sorted(ADMIN["paths"])))
def test_any_method_outside_the_control_spec_is_a_405_with_allow(app, method, path):
    """Regression: the control API answered QUERY (and made-up methods) with werkzeug's 405, no `Allow`."""
    documented = {m.upper() for m in ADMIN["paths"][path] if m != "parameters"}
    if method in documented or (method == "HEAD" and "GET" in documented):
        return
    response = app.test_client().open("/__mock" + re.sub(r"\{[^}]+\}", "x.yaml", path), method=method)
    assert response.status_code == 405
    assert sorted(response.headers["Allow"].split(", ")) == sorted(documented)
    assert response.get_json()["status"] == 405


def test_a_405_from_routing_names_the_allowed_methods(app):
    """Regression: the mock's own routing errors dropped werkzeug's `Allow` header (the page at /__mock/)."""
    response = app.test_client().open("/__mock/", method="QUERY")
    assert response.status_code == 405 and "GET" in response.headers["Allow"].split(", ")
    assert response.get_json()["status"] == 405
