"""Version profiles wired through every entry point: `mockserver serve --profile`, `mockserver.run
(profiles=...)`, `Settings(profiles=...)` and the pytest plugin's `--mockserver-profile`; bad
profiles are one clear line. What each profile serves is in test_profiles_<vendor>.py."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

import mockserver
from mockserver import Settings
from mockserver.cli import parser, settings_from
from tests.helpers import AP, cli_server

pytest_plugins = ["pytester"]


def test_serve_with_a_profile_answers_as_it():
    with cli_server("--profile", "activepieces=latest", "--profile", "ampersand=2024") as (_, url):
        project = requests.post(f"{url}/api/v1/projects", headers=AP, json={"displayName": "Acme"}, timeout=10).json()
        assert project["type"] == "TEAM" and project["externalId"] is None
        health = requests.get(f"{url}/__mock/health", timeout=10).json()
        assert {v["name"]: v["profile"] for v in health["vendors"]} == {"activepieces": "latest", "ampersand": "2024"}
        spec = requests.get(f"{url}/__mock/openapi/activepieces.yaml", timeout=10).text
        assert "profile `latest`" in spec and "ProjectAnalytics:" in spec and "ProjectUsage:" not in spec


@pytest.mark.parametrize("args, message", [
    (["--profile", "latest"], "--profile must be VENDOR=PROFILE"),
    (["--profile", "ampersand=nope"], "ampersand has no profile 'nope'; its profiles: seed, 2024, latest"),
    (["--profile", "activepieces=../ampersand"], "activepieces has no profile '../ampersand'"),
    (["--profile", "shopify=latest"], "no vendor 'shopify'"),
    (["--profile", "ampersand=latest", "--profile", "ampersand=2024"], "one profile per vendor: ampersand"),
])
def test_a_bad_profile_is_one_clear_line(args, message):
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_the_flag_builds_settings():
    settings = settings_from(parser().parse_args(["serve", "--profile", "activepieces=latest"]))
    assert settings.profiles == (("activepieces", "latest"),)


def test_settings_take_a_mapping_or_pairs():
    assert Settings(profiles={"ampersand": "2024"}).profiles == (("ampersand", "2024"),)
    assert Settings(profiles=[("ampersand", "2024")]).profiles == (("ampersand", "2024"),)
    with pytest.raises(ValueError, match="VENDOR=PROFILE"):
        Settings(profiles=[("ampersand", "")])


def test_seed_names_every_vendors_default():
    client = mockserver.create_app(Settings(profiles={"activepieces": "seed", "ampersand": "seed"})).test_client()
    vendors = {v["name"]: v["profile"] for v in client.get("/__mock/health").get_json()["vendors"]}
    assert vendors == {"activepieces": "2024", "ampersand": "seed"}


def test_run_takes_profiles_and_its_urls_are_unchanged():
    with mockserver.run(profiles={"ampersand": "latest"}) as server:
        health = requests.get(f"{server.url}/__mock/health", timeout=10).json()
        assert [v["profile"] for v in health["vendors"]] == ["2024", "latest"]
        assert server.ampersand_url == f"{server.url}"  # Ampersand lives at the root, whatever the profile
        created = requests.post(f"{server.ampersand_url}/v1/projects", headers={"Authorization": "Bearer t"},
                                json={"appName": "A", "name": "ab", "orgId": "o"}, timeout=10)
        assert created.status_code == 201 and "entitlements" not in created.json()


def test_the_pytest_option_serves_the_profile(pytester):
    pytester.makepyfile("""
import requests

def test_latest(mockserver):
    response = requests.get(mockserver.activepieces_url + "/v1/projects", timeout=10)
    assert response.status_code == 403 and response.json()["code"] == "AUTHORIZATION"
""")
    result = pytester.runpytest("-p", "no:cacheprovider", "--mockserver-profile", "activepieces=latest")
    result.assert_outcomes(passed=1)


def test_the_pytest_option_refuses_a_malformed_profile(pytester):
    pytester.makepyfile("def test_x(mockserver):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--mockserver-profile", "latest")
    assert "--mockserver-profile must be VENDOR=PROFILE" in result.stdout.str() + result.stderr.str()
