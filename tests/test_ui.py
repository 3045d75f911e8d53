"""The page at /__mock/, rendered by the Flask test client: what it shows, that it escapes, filters
and caps, and that it carries no credential. `test_ui_browser.py` looks at it in a real browser."""

from __future__ import annotations

import hashlib
import re

import pytest
from markupsafe import escape

from mockserver import Settings, create_app
from mockserver.ui import DEFAULT_LIMIT, PROJECTS_SHOWN, TEXT_CAP, tenant_key
from tests.helpers import AMP, ORG

SECRET = "sk-live-0123456789abcdef"  # must never appear in the page
AP = {"Authorization": f"Bearer {SECRET}"}
XSS = "<script>alert('xss')</script>"


def page(client, **query) -> str:
    response = client.get("/__mock/", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def entries(text: str) -> list[str]:
    """The journal entries of the page, in the order shown."""
    return re.findall(r'<details class="entry[^"]*" data-id="\d+">.*?</details>', text, re.S)


def ap_create(client, body, headers=AP):
    return client.post("/api/v1/projects", json=body, headers=headers)


def test_empty_page_shows_vendors_with_base_urls_and_spec_links(client):
    text = page(client)
    assert "<code>http://localhost/api</code>" in text
    assert '<a href="http://localhost/__mock/openapi/activepieces.yaml">activepieces.yaml</a>' in text
    assert '<a href="http://localhost/__mock/openapi/ampersand.yaml">ampersand.yaml</a>' in text
    assert "No tenant yet" in text
    assert "No request yet" in text


def test_the_page_itself_is_not_journaled(client):
    page(client)
    page(client)
    assert client.get("/__mock/requests").get_json()["total"] == 0


def test_tenants_show_masked_credential_count_and_projects(client):
    for name in ("Acme", "Globex"):
        assert ap_create(client, {"displayName": name}).status_code == 201
    created = client.post("/v1/projects", json={"appName": "Mail", "name": "Mail-1", "orgId": ORG}, headers=AMP)
    assert created.status_code == 201
    text = page(client)
    tenant = re.search(r'<div class="tenant" data-vendor="activepieces".*?</table>', text, re.S).group(0)
    assert "<code>sk-l…</code>" in tenant
    assert "2 projects" in tenant
    assert [cells[1] for cells in re.findall(r"<tr><td><code>(\w+)</code></td><td>(.*?)</td>", tenant)] == \
        ["Acme", "Globex"]
    assert "2025-01-01T00:00:01.000Z" in tenant  # created, from the spec's first date-time field
    amp = re.search(r'<div class="tenant" data-vendor="ampersand".*?</table>', text, re.S).group(0)
    assert "1 project<" in amp
    assert f"<td>{created.get_json()['name']}</td>" in amp  # Ampersand's `name` (stored lowercased)
    assert created.get_json()["id"] in amp


def test_no_credential_reaches_the_page(client):
    ap_create(client, {"displayName": "Acme"})
    ap_create(client, {"displayName": {}})
    client.get("/api/v1/projects", headers={"Authorization": f"Bearer {SECRET}", "Cookie": "session=s3cr3t-cookie"})
    text = page(client)
    assert SECRET not in text and "s3cr3t-cookie" not in text
    assert "Authorization: Bearer sk-l…" in text
    # the reset button names the tenant by a digest that the page's script recomputes from /__mock/state
    key = hashlib.sha256(f"activepieces\n{SECRET}".encode()).hexdigest()[:32]
    assert tenant_key("activepieces", SECRET) == key
    assert f'data-tenant="{key}"' in text


def test_project_names_and_bodies_are_escaped(client):
    ap_create(client, {"displayName": XSS})
    ap_create(client, {"displayName": XSS, "externalId": 7})  # rejected: its body is shown too
    client.get("/api/v1/" + "<img src=x onerror=alert(1)>")
    text = page(client)
    assert "<script>alert" not in text and "<img src=x" not in text
    assert f"<td>{escape(XSS)}</td>" in text
    assert escape('"displayName": "' + XSS + '"') in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


def test_script_is_allowed_only_by_its_nonce(client):
    """Defence in depth: should anything slip past escaping, the browser runs no script but the page's."""
    response = client.get("/__mock/")
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", policy).group(1)
    scripts = re.findall(r"<script([^>]*)>", response.get_data(as_text=True))
    assert scripts == [f' nonce="{nonce}"']
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assert client.get("/__mock/").headers["Content-Security-Policy"] != policy  # a fresh nonce per page


def test_journal_newest_first_with_rejected_marked(client):
    ap_create(client, {"displayName": "Acme"})
    ap_create(client, {"displayName": {}})
    client.get("/api/v1/nowhere")
    shown = entries(page(client))
    assert len(shown) == 3
    unmatched, invalid, valid = shown
    assert 'class="entry rejected"' in unmatched and "unmatched" in unmatched and "/api/v1/nowhere" in unmatched
    assert 'class="entry rejected"' in invalid and '<span class="badge">invalid</span>' in invalid
    assert "displayName: {} is not of type &#39;string&#39;" in invalid  # the validation message, in the row
    assert "body/displayName must be string" in invalid  # the vendor's answer, in the details
    assert 'class="entry"' in valid and "createProject" in valid and ">201<" in valid
    assert "&#34;displayName&#34;: &#34;Acme&#34;" in valid  # request body
    assert "&#34;notifyStatus&#34;: &#34;ALWAYS&#34;" in valid  # response body


def test_an_error_answer_says_why_in_its_row_and_the_query_is_shown_as_sent(client):
    ap_create(client, {"displayName": "A", "externalId": "x-1"})
    ap_create(client, {"displayName": "B", "externalId": "x-1"})
    client.get("/api/v1/projects", query_string={"externalId": ["x-1", "a&b"]}, headers=AP)
    listed, conflict, created = entries(page(client))
    assert "/api/v1/projects?externalId=x-1&amp;externalId=a%26b<" in listed
    assert '<span class="why answered">' in conflict and "externalId &#39;x-1&#39; already exists" in conflict
    assert 'class="entry"' in conflict  # a documented answer to a valid request: not rejected
    assert "why" not in created.split("</summary>")[0]


def test_filters_by_vendor_status_class_operation_and_rejection(client):
    ap_create(client, {"displayName": "Acme"})
    ap_create(client, {"displayName": {}})
    client.get("/api/v1/projects", headers=AP)
    client.post("/v1/projects", json={"appName": "Mail", "name": "mail", "orgId": ORG}, headers=AMP)

    def shown(**query) -> list[tuple[str, str]]:
        return [(re.search(r"<span>(\w+)</span>", entry).group(1),
                 re.search(r'class="status s\d">(\d+)<', entry).group(1)) for entry in entries(page(client, **query))]

    assert shown() == [("ampersand", "201"), ("activepieces", "200"), ("activepieces", "400"),
                       ("activepieces", "201")]
    assert shown(vendor="ampersand") == [("ampersand", "201")]
    assert shown(status="4xx") == [("activepieces", "400")]
    assert shown(status="2XX", vendor="activepieces") == [("activepieces", "200"), ("activepieces", "201")]
    assert shown(operationId="listProjects") == [("activepieces", "200")]
    assert shown(rejected="true") == [("activepieces", "400")]
    assert "No request matches these filters" in page(client, status="5XX")
    text = page(client, vendor="ampersand", status="2XX", operationId="createProject", rejected="true")
    assert '<option value="ampersand" selected>' in text and '<option value="2XX" selected>' in text
    assert '<option value="createProject" selected>' in text and 'value="true"\n      checked' in text


@pytest.mark.parametrize("query, named", [
    ({"vendor": "stripe"}, "vendor &#39;stripe&#39; is not served here"),
    ({"status": "404"}, "status must be one of 2XX, 3XX, 4XX, 5XX"),
    ({"limit": "0"}, "limit must be a whole number from 1 to 1000"),
    ({"limit": "lots"}, "limit must be a whole number"),
])
def test_bad_filters_are_a_400_naming_the_parameter(client, query, named):
    response = client.get("/__mock/", query_string=query)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert named in response.get_data(as_text=True)


def test_renders_a_capped_number_of_entries_and_says_so():
    app = create_app(Settings(journal_size=DEFAULT_LIMIT + 20))
    client = app.test_client()
    for number in range(DEFAULT_LIMIT + 30):
        client.get(f"/api/v1/projects/p{number}", headers=AP)
    text = page(client)
    shown = entries(text)
    assert len(shown) == DEFAULT_LIMIT
    assert f"/api/v1/projects/p{DEFAULT_LIMIT + 29}" in shown[0]  # the newest
    assert f"{DEFAULT_LIMIT} shown of {DEFAULT_LIMIT + 20} matching" in text
    assert "the journal keeps the last 120" in text
    assert "20 older matching requests are not shown" in text
    assert 'href="/__mock/?limit=500"' in text
    assert len(entries(page(client, limit="500"))) == DEFAULT_LIMIT + 20
    assert len(entries(page(client, limit="3"))) == 3


def test_a_long_body_is_cut(client):
    ap_create(client, {"displayName": "x" * (TEXT_CAP * 2)})
    text = page(client)
    assert "x" * TEXT_CAP not in text.split("request body")[1].split("</pre>")[0]
    assert "more characters; see /__mock/requests" in text


def test_a_tenant_shows_its_newest_projects_and_counts_them_all(client):
    for number in range(PROJECTS_SHOWN + 3):
        ap_create(client, {"displayName": f"project-{number}"})
    text = page(client)
    assert f"{PROJECTS_SHOWN + 3} projects" in text
    assert "<td>project-0</td>" not in text and f"<td>project-{PROJECTS_SHOWN + 2}</td>" in text
    assert "… and 3 more" in text


def test_admin_token_guards_the_page_as_it_guards_the_control_api():
    client = create_app(Settings(admin_token="t0ken")).test_client()
    refused = client.get("/__mock/")
    assert refused.status_code == 401 and "needs the admin token" in refused.get_data(as_text=True)
    assert client.get("/__mock/", query_string={"token": "wrong"}).status_code == 401
    assert client.get("/__mock/", headers={"X-Mock-Admin-Token": "t0ken"}).status_code == 200
    assert client.get("/__mock/", headers={"Authorization": "Bearer t0ken"}).status_code == 200
    opened = client.get("/__mock/", query_string={"token": "t0ken", "vendor": "ampersand"})
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/__mock/?vendor=ampersand")
    assert "t0ken" not in page(client, vendor="ampersand")  # the cookie opens it; no token in the HTML


def test_mock_without_slash_leads_to_the_page(client):
    response = client.get("/__mock")
    assert response.status_code in (301, 308) and response.headers["Location"].endswith("/__mock/")


# --- the admin token and the page ------------------------------------------------------------------

def test_the_token_in_a_link_becomes_a_cookie_and_leaves_the_url():
    client = create_app(Settings(admin_token="t0ken-secret")).test_client()
    opened = client.get("/__mock/?token=t0ken-secret")
    assert opened.status_code == 303 and "token" not in opened.headers["Location"]
    cookie = opened.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/__mock" in cookie
    assert "t0ken-secret" not in cookie  # a digest, never the token
    shown = client.get("/__mock/")
    assert shown.status_code == 200 and "t0ken-secret" not in shown.get_data(as_text=True)
    assert shown.headers["Referrer-Policy"] == "no-referrer"
    # the page's script uses the control API with the cookie alone
    assert client.get("/__mock/state").status_code == 200
    assert client.post("/__mock/reset", json={}).status_code == 200


def test_a_cookie_for_another_token_opens_nothing():
    from mockserver.admin import PAGE_COOKIE, page_cookie

    client = create_app(Settings(admin_token="t0ken-secret")).test_client()
    client.set_cookie(PAGE_COOKIE, page_cookie("other"), path="/__mock")
    assert client.get("/__mock/").status_code == 401
    assert client.get("/__mock/state").status_code == 401


def test_every_page_answer_sends_no_referrer(client):
    assert client.get("/__mock/").headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/__mock/?limit=0").headers["Referrer-Policy"] == "no-referrer"


def test_a_credential_in_any_header_query_or_body_is_masked_on_the_page(client):
    key = "sk-secret-0123456789"
    client.post(f"/api/v1/projects?apiKey={key}&note=x{key}y", json={"displayName": f"named {key}"},
                headers={"Authorization": f"Bearer {key}", "X-Auth-Token": key, "X-Trace": f"t={key}"})
    text = page(client)
    assert key not in text and "sk-s…" in text


def test_an_added_api_tenant_counts_each_of_its_collections(tmp_path):
    from pathlib import Path

    from mockserver import Settings, create_app

    shop = Path(__file__).parent / "specs" / "shop.yaml"
    client = create_app(Settings(specs=(("shop", shop),))).test_client()
    client.post("/v2/customers", json={"username": "ann", "email": "a@b.co"}, headers={"X-Shop-Key": "k"})
    page = client.get("/__mock/").get_data(as_text=True)
    assert ">0 products, 1 customer<" in page
