"""Team mode in a real browser, signed in with mocked identity-provider claims: the browser
carries the auth cookie Streamlit itself sets after an OIDC login (the provider's claims,
signed with the app's cookie secret), so the app runs exactly as after a real sign-in.

An unverified email is refused; a user who is not an admin gets no admin data, whatever URL
or query parameters they open."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from core.store import open_store
from tests.browser.streamlit_page import open_app, settle
from tests.core.store.records import make_record

COOKIE_SECRET = "browser-test-cookie-secret"
AUTH = f"""[auth]
redirect_uri = "http://127.0.0.1:8501/oauth2callback"
cookie_secret = "{COOKIE_SECRET}"
client_id = "parley-test"
client_secret = "client-secret-for-tests"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
"""


def sign_in(page, app_url: str, **claims) -> None:
    """Give the browser the cookie Streamlit sets after the provider returned ``claims``."""
    from streamlit.web.server.starlette.starlette_app_utils import create_signed_value

    payload = json.dumps({"origin": app_url, "is_logged_in": True, **claims})
    value = create_signed_value(COOKIE_SECRET, "_streamlit_user", payload).decode("latin-1")
    page.context.add_cookies([{"name": "_streamlit_user", "value": value, "url": app_url}])


@pytest.fixture
def team_app(parley_app, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(AUTH, encoding="utf-8")
    app = parley_app(env={"STREAMLIT_SECRETS_FILES": str(secrets)},
                     parley={"admins": ["admin@example.com"]})
    store = open_store(app.database_url)
    store.record_calls([make_record(user_id="alice@example.com", model="claude"),
                        make_record(user_id="bob@example.com", model="gemini")])
    store.close()
    return app


def test_an_unverified_email_is_refused(page, team_app):
    sign_in(page, team_app.url, email="mallory@example.com", email_verified=False)
    for path in ("/", "/costs", "/usage"):
        open_app(page, f"{team_app.url}{path}")
        expect(page.get_by_text("Your identity provider has not verified mallory@example.com, "
                                "so Parley cannot use it as your user id")).to_be_visible()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        expect(page.get_by_test_id("stSidebar")).to_have_count(0)
        expect(page.get_by_role("heading", name="Compare")).to_have_count(0)


@pytest.mark.parametrize("path", [
    "/costs", "/costs?user=admin@example.com", "/costs?admin=true&role=admin",
    "/usage?user=alice@example.com", "/usage?as_user=admin@example.com&costs_users=alice@example.com",
    "/?page=costs", "/home?admin=1",
])
def test_a_user_gets_no_admin_data_by_url_or_query_parameters(page, team_app, path):
    sign_in(page, team_app.url, email="Bob@Example.com", email_verified=True)
    open_app(page, f"{team_app.url}{path}")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("bob@example.com")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("(user)")
    body = page.locator("body").inner_text()
    assert "alice@example.com" not in body, "another user's data was shown"
    assert "Cost console" not in page.get_by_test_id("stSidebarNav").inner_text()
    if path.startswith("/costs"):
        expect(page.get_by_role("heading", name="Admins only")).to_be_visible()
        assert page.locator(".js-plotly-plot").count() == 0
        assert page.get_by_test_id("stMetric").count() == 0


def test_the_admin_sees_every_users_spend(page, team_app):
    sign_in(page, team_app.url, email="Admin@Example.com", email_verified=True)
    open_app(page, f"{team_app.url}/costs")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("(admin)")
    expect(page.get_by_role("heading", name="Admins only")).to_have_count(0)
    expect(page.get_by_role("heading", name="Cost console")).to_be_visible()


def test_a_plain_user_sees_only_their_own_evaluation_work_and_their_key_limits(page, team_app):
    """Alice's template and dataset are hers: Bob's /evals pickers do not offer or preview
    them, and Bob's /keys says the limits his keys stay within (screenshots for a person)."""
    from core.prompts import variables_of

    store = open_store(team_app.database_url)
    store.upgrade()
    store.evals().save_template({
        "name": "alices-secret-template", "template": "Ask {{ q }}", "system": None,
        "service_type": None, "variables": variables_of(None, "Ask {{ q }}"), "settings": {},
        "created_by": "alice@example.com"})
    store.evals().save_dataset("alices-dataset", ["q"], [{"q": "ALICE-PRIVATE-ROW"}],
                               created_by="alice@example.com")
    store.close()
    shots = team_app.data_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)

    sign_in(page, team_app.url, email="bob@example.com", email_verified=True)
    shown(page, f"{team_app.url}/evals", "Evaluations")
    page.screenshot(path=str(shots / "team-bob-evals.png"), full_page=True)
    body = page.locator("body").inner_text()
    assert "alices-secret-template" not in body and "ALICE-PRIVATE-ROW" not in body
    assert "alices-dataset" not in body
    shown(page, f"{team_app.url}/keys", "API keys")
    expect(page.get_by_text("Keys you make stay within the key policy")).to_be_visible()
    page.screenshot(path=str(shots / "team-bob-keys.png"), full_page=True)

    page.context.clear_cookies()
    sign_in(page, team_app.url, email="alice@example.com", email_verified=True)
    shown(page, f"{team_app.url}/evals", "Evaluations")
    expect(page.get_by_text("alices-secret-template").first).to_be_visible()
    page.screenshot(path=str(shots / "team-alice-evals.png"), full_page=True)


def shown(page, url: str, heading: str) -> None:
    """Open ``url`` and wait until its page has drawn (heading, then the script's last run)."""
    open_app(page, url)
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    settle(page)
    page.wait_for_timeout(1000)  # widgets draw after the run ends
