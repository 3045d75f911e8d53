"""The real CLI, end to end: flags, the ready line, HTTP over a real socket, clean shutdown."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import requests

from mockserver import __version__
from mockserver.cli import parser, settings_from
from tests.helpers import AP, ORG, cli_server


def test_serve_answers_both_vendors_and_stops_cleanly_on_sigterm():
    with cli_server("--seed", "3") as (process, url):
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        ap = requests.post(f"{url}/api/v1/projects/", headers=AP, json={"displayName": "Acme"}, timeout=10)
        assert ap.status_code == 201 and ap.headers["Content-Type"] == "application/json"
        amp = requests.post(f"{url}/v1/projects", headers={"X-Api-Key": "k"}, timeout=10,
                            json={"appName": "MailMonkey", "name": "MailMonkey-Staging", "orgId": ORG})
        assert amp.status_code == 201 and amp.json()["name"] == "mailmonkey-staging"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_sigint_stops_cleanly_too():
    with cli_server() as (process, url):
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_same_seed_after_restart_gives_the_same_bytes():
    bodies = []
    for _ in range(2):
        with cli_server("--seed", "11") as (_, url):
            bodies.append(requests.post(f"{url}/api/v1/projects", headers=AP, json={"displayName": "A"},
                                        timeout=10).content)
    assert bodies[0] == bodies[1]


def test_version():
    result = subprocess.run([sys.executable, "-m", "mockserver", "--version"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0 and result.stdout.strip() == f"mockserver {__version__}"


@pytest.mark.parametrize("args, message", [
    (["serve", "--clock", "sundial"], "invalid choice"),
    (["serve", "--log-format", "xml"], "invalid choice: 'xml'"),
    (["serve", "--port", "70000"], "port must be between 0 and 65535"),
    (["serve", "--api-key", "nokey"], "--api-key must be API=KEY"),
    (["serve", "--api-key", "nobody=k", "--port", "0"], "unknown API"),
])
def test_bad_flags_are_one_clear_line(args, message):
    result = subprocess.run([sys.executable, "-m", "mockserver", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_flags_build_settings():
    settings = settings_from(parser().parse_args(
        ["serve", "--host", "::1", "--port", "0", "--seed", "5", "--clock", "real", "--threads", "2",
         "--api-key", "activepieces=sk-a", "--api-key", "ampersand=k=1"]))
    assert (settings.host, settings.port, settings.seed, settings.clock, settings.threads) == ("::1", 0, 5, "real", 2)
    assert settings.api_keys == (("activepieces", "sk-a"), ("ampersand", "k=1"))
