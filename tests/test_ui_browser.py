"""The page at /__mock/ in a real browser: headless Chromium (Debian's `chromium`, driven by
Playwright's Python package, never a browser Playwright downloads) against the real CLI on a free
port. It asserts what a person sees, and that nothing a client sent runs as script.

`python -m tests.test_ui_browser docs/ui.png` makes the README's screenshot the same way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.helpers import ORG, cli_server

# Long enough that the page script's SHA-256 of "vendor\ncredential" spans two blocks.
KEY = "sk-browser-" + "0123456789abcdef" * 4
AP = {"Authorization": f"Bearer {KEY}"}
AMP = {"X-Api-Key": "key-untouched"}
XSS_NAME = '<script>window.__xss = 1; alert("name")</script>'
XSS_BODY = "<img src=x onerror=alert('body')>"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 5_000


def chromium() -> str | None:
    return os.environ.get("MOCKSERVER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Seen:
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt messages: none expected
    errors: list[str] = field(default_factory=list)  # uncaught script errors


@contextlib.contextmanager
def browser_page(profile: Path):
    """A page of a fresh headless Chromium (its own user-data dir), with every dialog recorded."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=chromium(), args=LAUNCH_ARGS, headless=True,
            viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            seen = Seen()
            page.on("dialog", lambda dialog: (seen.dialogs.append(dialog.message), dialog.dismiss()))
            page.on("pageerror", lambda error: seen.errors.append(str(error)))
            yield page, seen
        finally:
            context.close()


def make_requests(base: str) -> None:
    """A valid create, a rejected one, and a project of another tenant."""
    def post(url, body, headers):
        return requests.post(base + url, json=body, headers=headers, timeout=5)

    assert post("/api/v1/projects", {"displayName": XSS_NAME, "externalId": "acme-1"}, AP).status_code == 201
    assert post("/api/v1/projects", {"displayName": {}, "note": XSS_BODY}, AP).status_code == 400
    assert post("/v1/projects", {"appName": "MailMonkey", "name": "mailmonkey", "orgId": ORG}, AMP).status_code == 201


@pytest.fixture(scope="module")
def browser_ready():
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')")
    if chromium() is None:
        pytest.skip("no Chromium here: `apt-get install chromium` (make test does it as root on Debian)")


def test_a_person_sees_requests_rejections_tenants_and_resets_one(browser_ready, tmp_path):
    with cli_server() as (_, base), browser_page(tmp_path / "profile") as (page, seen):
        make_requests(base)
        page.goto(base + "/__mock/")

        # both creates are listed, newest first; the rejected one stands out with its validation message
        entries = page.locator("details.entry")
        assert entries.count() == 3
        rejected = page.locator("details.entry.rejected")
        assert rejected.count() == 1
        assert "rejected" in entries.nth(1).get_attribute("class")
        summary = rejected.locator("summary").inner_text()
        assert "createProject" in summary and "400" in summary and "invalid" in summary
        assert "displayName: {} is not of type 'string'" in summary
        assert rejected.evaluate("e => getComputedStyle(e).backgroundColor") != \
            entries.nth(2).evaluate("e => getComputedStyle(e).backgroundColor")
        valid = entries.nth(2).locator("summary").inner_text()
        assert "createProject" in valid and "201" in valid and "POST" in valid and "/api/v1/projects" in valid

        # expanded: masked headers, the body as sent (as text), the vendor's answer
        assert not rejected.locator(".detail").is_visible()
        rejected.locator("summary").click()
        detail = rejected.locator(".detail")
        assert detail.is_visible()
        assert "Authorization: Bearer sk-b…" in detail.inner_text()
        assert XSS_BODY in detail.inner_text()
        assert "body/displayName must be string" in detail.inner_text()

        # tenants: masked credential and project count; the names are text
        tenant = page.locator(".tenant[data-vendor=activepieces]")
        assert "sk-b…" in tenant.locator(".head").inner_text()
        assert "1 project" in tenant.locator(".count").inner_text()
        assert tenant.get_by_role("cell", name=XSS_NAME, exact=True).is_visible()
        assert KEY not in page.content()

        # nothing a client sent ran
        assert seen.dialogs == [] and page.evaluate("window.__xss") is None and seen.errors == []

        # the filters narrow the journal
        page.select_option("select[name=vendor]", "ampersand")
        page.wait_for_url("**vendor=ampersand**")
        assert page.locator("details.entry").count() == 1
        page.goto(base + "/__mock/?status=4XX")
        assert page.locator("details.entry").count() == 1 and page.locator("details.entry.rejected").count() == 1

        # reset empties that tenant, and only that one
        page.goto(base + "/__mock/")
        with page.expect_navigation():
            tenant.get_by_role("button", name="Reset tenant").click()
        assert page.locator(".tenant[data-vendor=activepieces]").count() == 0
        assert "1 project" in page.locator(".tenant[data-vendor=ampersand] .count").inner_text()
        assert page.locator("details.entry").count() == 1  # the tenant's requests went with it
        state = requests.get(base + "/__mock/state", timeout=5).json()
        assert [(t["vendor"], len(t["projects"])) for t in state["tenants"]] == [("ampersand", 1)]
        assert seen.dialogs == [] and seen.errors == []

        # opening the page asked the mock nothing it journaled (no favicon 404, no stray request)
        assert requests.get(base + "/__mock/requests", timeout=5).json()["total"] == 1

        # follow: a new request shows up without a click
        page.check("#follow")
        requests.get(base + "/v1/projects", headers=AMP, timeout=5)
        page.locator("details.entry").nth(1).wait_for(timeout=15_000)
        assert "listProjects" in page.locator("details.entry").first.inner_text()
        assert page.is_checked("#follow")  # still on after the reload


def test_with_an_admin_token_the_page_takes_it_from_its_url_and_resets(browser_ready, tmp_path):
    with cli_server("--admin-token", "t0ken") as (_, base), browser_page(tmp_path / "profile") as (page, seen):
        make_requests(base)
        assert page.goto(base + "/__mock/").status == 401
        page.goto(base + "/__mock/?token=t0ken")
        assert page.locator("details.entry").count() == 3
        with page.expect_navigation():
            page.locator(".tenant[data-vendor=activepieces]").get_by_role("button", name="Reset tenant").click()
        assert page.locator(".tenant[data-vendor=activepieces]").count() == 0
        assert page.locator(".tenant[data-vendor=ampersand]").count() == 1
        assert seen.dialogs == [] and seen.errors == []


def screenshot(path: Path) -> None:
    """The README's picture: a few requests, one rejected and open."""
    with cli_server() as (_, base), tempfile.TemporaryDirectory() as profile, browser_page(Path(profile)) as (page, _):
        def post(url, body, headers):
            requests.post(base + url, json=body, headers=headers, timeout=5)

        acme = {"Authorization": "Bearer sk-test-acme"}
        post("/api/v1/projects", {"displayName": "Acme", "externalId": "acme-1"}, acme)
        post("/api/v1/projects", {"displayName": "Globex"}, acme)
        post("/api/v1/projects", {"displayName": "Initech", "externalId": "acme-1"}, acme)
        post("/api/v1/projects", {"externalId": "hooli"}, acme)
        amp = {"X-Api-Key": "amp-key-demo"}
        post("/v1/projects", {"appName": "MailMonkey", "name": "mailmonkey", "orgId": ORG}, amp)
        post("/v1/projects", {"appName": "Mail Monkey", "name": "-mail", "orgId": ORG}, amp)
        requests.get(base + "/v1/projects", headers=amp, timeout=5)
        page.goto(base + "/__mock/")
        page.locator("details.entry.rejected").first.locator("summary").click()
        page.screenshot(path=str(path), full_page=True)


if __name__ == "__main__":
    screenshot(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/ui.png"))
