"""The pytest plugin, run the way a user runs it (`pytester`): one server per session, fresh per
test, marker and options, strict mode, in-process fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CLIENT = """
import pytest, requests

AP = {"Authorization": "Bearer sk-test"}

def create(mockserver, name="Acme"):
    return requests.post(mockserver.activepieces_url + "/v1/projects", headers=AP, json={"displayName": name},
                         timeout=5)
"""


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(CLIENT + source)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_one_server_per_session_fresh_for_every_test(pytester):
    result = run(pytester, """
SEEN = []

@pytest.mark.parametrize("n", range(3))
def test_create(mockserver, n):
    project = create(mockserver).json()
    SEEN.append((mockserver.port, project["id"]))
    assert [e["operationId"] for e in mockserver.requests()] == ["createProject"]
    assert len(mockserver.state()[0]["projects"]) == 1

def test_all_saw_the_same_server_and_the_same_id():
    assert len(set(SEEN)) == 1, SEEN
""")
    result.assert_outcomes(passed=4)


def test_the_fixture_resets_faults_too(pytester):
    result = run(pytester, """
def test_first(mockserver):
    mockserver.fault("createProject", status=503)
    assert create(mockserver).status_code == 503

def test_second(mockserver):
    assert mockserver.faults() == []
    assert create(mockserver).status_code == 201
""")
    result.assert_outcomes(passed=2)


def test_the_marker_sets_seed_state_and_faults(pytester):
    result = run(pytester, """
IDS = {}

def test_default(mockserver):
    IDS["default"] = create(mockserver).json()["id"]

@pytest.mark.mockserver(seed=42)
def test_seeded(mockserver):
    IDS["seeded"] = create(mockserver).json()["id"]
    assert IDS["seeded"] != IDS["default"]

def test_seed_is_back_to_the_default(mockserver):
    assert create(mockserver).json()["id"] == IDS["default"]

@pytest.mark.mockserver(state=[{"vendor": "activepieces", "credential": "sk-test",
                                "projects": [{"displayName": "Fixture"}]}])
def test_state(mockserver):
    data = requests.get(mockserver.activepieces_url + "/v1/projects", headers=AP, timeout=5).json()["data"]
    assert [p["displayName"] for p in data] == ["Fixture"]

@pytest.mark.mockserver(faults=[{"operation_id": "createProject", "vendor": "activepieces", "status": 503,
                                 "times": 1}])
def test_faults(mockserver):
    assert [create(mockserver).status_code for _ in range(2)] == [503, 201]
""")
    result.assert_outcomes(passed=5)


def test_the_marker_takes_a_fixtures_path(pytester):
    pytester.makefile(".yaml", fixtures="tenants: [{vendor: ampersand, credential: k, "
                                        "projects: [{appName: A, name: aa, orgId: o}]}]\n")
    result = run(pytester, """
@pytest.mark.mockserver(state="fixtures.yaml")
def test_state(mockserver):
    assert mockserver.state()[0]["projects"][0]["name"] == "aa"
""")
    result.assert_outcomes(passed=1)


def test_the_seed_option(pytester):
    result = run(pytester, """
def test_seed(mockserver):
    assert mockserver.runtime.determinism.seed == 9
    assert requests.get(mockserver.url + "/__mock/health", timeout=5).json()["seed"] == 9
""", "--mockserver-seed", "9")
    result.assert_outcomes(passed=1)


def test_the_spec_option_mounts_a_document_and_url_names_it(pytester):
    shop = Path(__file__).parent / "specs" / "shop.yaml"
    result = run(pytester, """
KEY = {"X-Shop-Key": "k"}

def test_crud(mockserver):
    base = mockserver.url("shop")
    created = requests.post(base + "/products", json={"name": "Dune", "price": 1}, headers=KEY, timeout=5)
    assert created.status_code == 201
    got = requests.get(base + "/products/" + created.json()["productId"], headers=KEY, timeout=5)
    assert got.json() == created.json()
    mockserver.assert_called("createProduct", vendor="shop", times=1, json={"name": "Dune", "price": 1})

def test_fresh_again(mockserver):
    assert requests.get(mockserver.url("shop") + "/products", headers=KEY, timeout=5).json()["items"] == []
    assert mockserver.state() == []
""", "--mockserver-spec", f"shop={shop}")
    result.assert_outcomes(passed=2)


STRICT_SOURCE = """
def test_sends_an_invalid_body(mockserver):
    requests.post(mockserver.activepieces_url + "/v1/projects", headers=AP, json={"displayName": {}}, timeout=5)

def test_calls_a_path_that_does_not_exist(mockserver):
    requests.get(mockserver.activepieces_url + "/v1/projectz", headers=AP, timeout=5)

def test_clean(mockserver):
    create(mockserver)
    requests.get(mockserver.activepieces_url + "/v1/projects/nope", headers=AP, timeout=5)  # a 404 is an answer

def test_asks_for_an_error(mockserver):
    requests.post(mockserver.activepieces_url + "/v1/projects", headers={**AP, "Prefer": "code=503"},
                  json={"displayName": "A"}, timeout=5)
"""


def test_strict_mode_fails_tests_whose_requests_were_rejected(pytester):
    result = run(pytester, "pytestmark = pytest.mark.mockserver(strict=True)\n" + STRICT_SOURCE)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*mockserver (strict): 1 request(s) matched no operation or broke the spec:*",
        "*POST /api/v1/projects -> 400 activepieces createProject: displayName: {} is not of type 'string'*",
        "*GET /api/v1/projectz -> 404 activepieces (no operation): no route for GET /api/v1/projectz*",
    ])


def test_strict_is_off_by_default_and_on_with_the_option(pytester):
    run(pytester, STRICT_SOURCE).assert_outcomes(passed=4)
    pytester.runpytest("-p", "no:cacheprovider", "--mockserver-strict").assert_outcomes(passed=2, failed=2)


def test_the_marker_can_turn_strict_off_under_the_option(pytester):
    result = run(pytester, "pytestmark = pytest.mark.mockserver(strict=False)\n" + STRICT_SOURCE,
                 "--mockserver-strict")
    result.assert_outcomes(passed=4)


def test_a_failing_test_reports_its_own_failure_not_strictness(pytester):
    result = run(pytester, """
@pytest.mark.mockserver(strict=True)
def test_fails(mockserver):
    requests.get(mockserver.activepieces_url + "/v1/projectz", headers=AP, timeout=5)
    assert False, "the test's own reason"
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the test's own reason*"])
    result.stdout.no_fnmatch_line("*mockserver (strict)*")


def test_assert_called_failure_shows_near_misses_in_the_report(pytester):
    result = run(pytester, """
def test_wrong_name(mockserver):
    create(mockserver, "Acme Corp")
    mockserver.assert_called("createProject", json={"displayName": "Acme"})
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*expected createProject with json {\"displayName\":\"Acme\"} to be called at least once*",
        "*near misses (closest first):*",
        "*differs: displayName: sent \"Acme Corp\", expected \"Acme\"*",
    ])


def test_in_process_app_and_client_fixtures(pytester):
    result = run(pytester, """
@pytest.mark.mockserver(seed=5, faults=[{"operation_id": "listProjects", "vendor": "ampersand", "status": 503}])
def test_in_process(mockserver_app, mockserver_client):
    assert mockserver_app.extensions["mockserver"].determinism.seed == 5
    assert mockserver_client.post("/api/v1/projects", headers=AP, json={"displayName": "A"}).status_code == 201
    assert mockserver_client.get("/v1/projects", headers={"X-Api-Key": "k"}).status_code == 503

def test_fresh_app(mockserver_client):
    assert mockserver_client.get("/__mock/state").get_json() == {"tenants": []}
""")
    result.assert_outcomes(passed=2)


def test_settings_are_overridable_per_project(pytester):
    pytester.makeconftest("""
import pytest
from mockserver import Settings

@pytest.fixture(scope="session")
def mockserver_settings():
    return Settings(port=0, journal_size=2, admin_token="t")
""")
    result = run(pytester, """
def test_small_journal(mockserver):
    for _ in range(3):
        create(mockserver)
    assert len(mockserver.requests()) == 2
    assert requests.get(mockserver.url + "/__mock/requests", timeout=5).status_code == 401
""")
    result.assert_outcomes(passed=1)


def test_a_misused_marker_is_a_clear_error(pytester):
    result = run(pytester, """
@pytest.mark.mockserver(sede=1)
def test_typo(mockserver):
    pass
""")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.mockserver: unknown argument(s) sede*"])


def test_the_marker_and_options_are_registered(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.mockserver(seed=None, faults=(), state=None, strict=None)*"])
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--mockserver-seed=N*", "*--mockserver-strict*"])


def test_with_xdist_each_worker_has_its_own_server(pytester):
    """pytest-xdist: the session fixture gives every worker its own server, so workers never share state."""
    pytest.importorskip("xdist")
    pytester.makepyfile(CLIENT + f"""
import os, pathlib

@pytest.mark.parametrize("n", range(6))
def test_create(mockserver, n):
    project = create(mockserver).json()
    assert len(mockserver.state()[0]["projects"]) == 1  # fresh per test, whatever the other worker does
    marker = pathlib.Path({str(pytester.path)!r}) / f"port-{{os.environ['PYTEST_XDIST_WORKER']}}-{{mockserver.port}}"
    marker.write_text(project["id"])
""")
    result = pytester.runpytest("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=6)
    ports = {}
    for marker in pytester.path.glob("port-gw*"):
        worker, port = marker.name.split("-")[1:]
        ports.setdefault(worker, set()).add(port)
    assert set(ports) == {"gw0", "gw1"}
    assert all(len(found) == 1 for found in ports.values())  # one server per worker ...
    assert ports["gw0"] != ports["gw1"]  # ... and not the same one
