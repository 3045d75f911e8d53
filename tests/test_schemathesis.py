"""schemathesis (4.x) against each vendor's spec: every check, positive and negative data, the
examples, coverage, fuzzing and stateful phases. In-process through WSGI, and once over a real
HTTP server. Settings (seed, examples, the only configured checks) are in schemathesis.toml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.generation import GenerationMode
from schemathesis.transport.wsgi import WSGITransport

import mockserver
from mockserver import Settings, create_app
from mockserver.spec import specs_dir

CONFIG = Path(__file__).parent.parent / "schemathesis.toml"
# Only these keys are accepted (`--api-key`), as on the real services; any other, like the made-up
# one `ignored_auth` sends, must get the vendor's 401.
CREDENTIALS = {
    "activepieces": ("sk-schemathesis", {"Authorization": "Bearer sk-schemathesis"}),
    "ampersand": ("st-key", {"X-Api-Key": "st-key"}),
}
ISSUE_CHECKS = {
    "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
    "response_schema_conformance", "negative_data_rejection", "positive_data_acceptance",
    "missing_required_header", "unsupported_method", "ignored_auth", "use_after_free",
    "ensure_resource_availability",
}
NO_DELETE = {"use_after_free"}  # Ampersand has no delete (ampersand.md section 1), so nothing to check


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    checks_run: set[str] = field(default_factory=set)
    phases: dict[str, int] = field(default_factory=dict)  # phase -> finished scenarios
    stop_reason: str = ""


@pytest.fixture(autouse=True)
def _wsgi_probe_kwargs(monkeypatch):
    """schemathesis 4.32 bug: `ignored_auth` probes drop the session before calling the WSGI transport,
    so socket-level options (`max_redirects`, ...) reach werkzeug's EnvironBuilder, which raises a
    TypeError. The transport drops them itself when it has a session; drop them always."""
    send = WSGITransport.send

    def patched(self, case, *, session=None, **kwargs):
        for name in ("max_redirects", "verify", "cert", "proxies"):
            kwargs.pop(name, None)
        return send(self, case, session=session, **kwargs)

    monkeypatch.setattr(WSGITransport, "send", patched)


def load(vendor: str, max_examples: int | None = None):
    config = SchemathesisConfig.from_path(CONFIG)
    schema = schemathesis.openapi.from_path(specs_dir() / f"{vendor}.yaml", config=config)
    schema.config.update(headers=CREDENTIALS[vendor][1])
    if max_examples is not None:
        schema.config.generation.update(max_examples=max_examples)
    return schema


def run(schema) -> Outcome:
    outcome = Outcome()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            outcome.phases[event.phase.value] = outcome.phases.get(event.phase.value, 0) + 1
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    outcome.checks_run.add(check.name)
                    if check.failure_info is not None:
                        case = event.recorder.cases[case_id].value
                        failure = check.failure_info.failure
                        outcome.failures.append(
                            f"[{event.phase.value}] {check.name}: {failure.title}: {failure.message[:400]}\n"
                            f"    {check.failure_info.code_sample}\n    (case {case.method} {case.formatted_path})")
        elif isinstance(event, events.NonFatalError):
            outcome.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            outcome.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            outcome.stop_reason = event.stop_reason.value
    return outcome


def assert_clean(outcome: Outcome, vendor: str) -> None:
    assert not outcome.errors, "\n".join(outcome.errors)
    assert not outcome.failures, f"{len(outcome.failures)} failure(s):\n" + "\n".join(outcome.failures)
    assert outcome.stop_reason == "completed"
    # Not vacuous: every phase ran scenarios and every check of the issue ran on some response.
    for phase in ("examples", "coverage", "fuzzing", "stateful"):
        assert outcome.phases.get(phase, 0) > 0, f"phase {phase} ran nothing: {outcome.phases}"
    expected = ISSUE_CHECKS - (NO_DELETE if vendor == "ampersand" else set())
    assert expected <= outcome.checks_run, f"never ran: {sorted(expected - outcome.checks_run)}"


KEYS = tuple((vendor, key) for vendor, (key, _) in CREDENTIALS.items())


def app_for_schemathesis():
    return create_app(Settings(api_keys=KEYS))


def test_the_config_keeps_every_check_and_both_modes_on():
    for vendor in CREDENTIALS:
        schema = load(vendor)
        config = schema.config
        assert set(config.generation.modes) == {GenerationMode.POSITIVE, GenerationMode.NEGATIVE}
        assert config.generation.deterministic and config.generation.max_examples <= 50
        for phase in ("examples", "coverage", "fuzzing", "stateful"):
            assert getattr(config.phases, phase).enabled, phase
        for name in ISSUE_CHECKS:
            assert getattr(config.checks, name).enabled, name
        for operation in schema.get_all_operations():
            checks = config.checks_config_for(operation=operation.ok(), phase=None)
            for name in ISSUE_CHECKS:
                assert getattr(checks, name).enabled, (vendor, operation.ok().label, name)


@pytest.mark.parametrize("vendor", sorted(CREDENTIALS))
def test_in_process(vendor):
    schema = load(vendor)
    schema.app = app_for_schemathesis()
    assert_clean(run(schema), vendor)


def test_over_the_real_http_server():
    with mockserver.run(api_keys=KEYS) as server:
        for vendor in sorted(CREDENTIALS):
            schema = load(vendor, max_examples=10)
            schema.config.update(base_url=server.base_url(vendor))
            assert_clean(run(schema), vendor)


# An API mounted with no code (`--spec`), from a document the project writes: the same checks, every
# phase, stateful included; made-up credentials refused (`--api-key shop=...`).
SHOP = Path(__file__).parent / "specs" / "shop.yaml"


def test_an_added_api_passes_every_check_in_process():
    config = SchemathesisConfig.from_path(CONFIG)
    schema = schemathesis.openapi.from_path(SHOP, config=config)
    schema.config.update(headers={"X-Shop-Key": "st-shop"})
    schema.app = create_app(Settings(specs=(("shop", SHOP),), api_keys=(("shop", "st-shop"),)))
    assert_clean(run(schema), "shop")
