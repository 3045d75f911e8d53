"""The README's examples are true: each `curl` block, run in order against a fresh server started by
the real CLI, answers exactly the JSON block that follows it."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import requests

from tests.helpers import cli_server

README = Path(__file__).parent.parent / "README.md"
TODO = Path(__file__).parent.parent / "examples" / "todo.yaml"  # the README's `--spec` example
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def examples() -> list[tuple[str, object]]:
    blocks = BLOCK.findall(README.read_text())
    pairs = []
    for (kind, text), (next_kind, next_text) in zip(blocks, blocks[1:], strict=False):
        if kind == "sh" and text.lstrip().startswith("curl ") and next_kind == "json":
            pairs.append((text, json.loads(next_text)))
    return pairs


def run_curl(command: str, base_url: str) -> requests.Response:
    """Run a README curl command with `requests` (so the test needs no curl binary)."""
    args = shlex.split(command.replace("\\\n", " "))
    assert args[0] == "curl"
    method, headers, data, url = "GET", {}, None, None
    words = iter(args[1:])
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(":")
            headers[name.strip()] = value.strip()
        elif word in ("-d", "--data"):
            data = next(words)
            method = "POST" if method == "GET" else method
        elif word in ("-s", "-i"):
            continue
        else:
            url = word
    assert url and url.startswith("http://127.0.0.1:4010"), url
    return requests.request(method, base_url + url.removeprefix("http://127.0.0.1:4010"), headers=headers,
                            data=data, timeout=10)


def test_readme_has_curl_examples_for_both_vendors():
    commands = " ".join(command for command, _ in examples())
    assert "/api/v1/projects" in commands and "/v1/projects " in commands.replace("\\", " ")
    assert "/api/todos" in commands
    text = README.read_text()
    assert "make run" in text and "make test" in text


def test_readme_curl_examples_answer_what_the_readme_shows():
    with cli_server("--spec", str(TODO)) as (_, url):
        for command, expected in examples():
            response = run_curl(command, url)
            assert response.json() == expected, command


def blocks(kind: str) -> list[str]:
    return [text for found, text in BLOCK.findall(README.read_text()) if found == kind]


def test_readme_python_example_is_the_example_suite_verbatim():
    suite = (Path(__file__).parent / "examples" / "test_user_suite.py").read_text()
    (code,) = blocks("python")
    assert code.strip() in suite


def test_readme_fixtures_example_loads(tmp_path):
    from mockserver import Settings, create_app

    (text,) = blocks("yaml")
    path = tmp_path / "fixtures.yaml"
    path.write_text(text)
    client = create_app(Settings(fixtures=(path,))).test_client()
    found = client.get("/api/v1/projects?externalId=acme-1", headers={"Authorization": "Bearer sk-test"})
    assert found.get_json()["data"][0]["displayName"] == "Acme"
    assert client.get("/v1/projects/MailMonkey", headers={"X-Api-Key": "key-1"}).status_code == 200
