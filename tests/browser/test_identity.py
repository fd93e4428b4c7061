"""In a real browser, team mode (an [auth] section in the secrets): a visitor who has not
signed in sees the login page and nothing else, even when their first request after the
server starts is a deep link to the cost console."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.streamlit_page import open_app

AUTH = """[auth]
redirect_uri = "http://127.0.0.1:8501/oauth2callback"
cookie_secret = "browser-test-cookie-secret"
client_id = "parley-test"
client_secret = "client-secret-for-tests"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
"""


def test_a_visitor_who_is_not_signed_in_sees_only_the_login_page(page, parley_app, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(AUTH, encoding="utf-8")
    app = parley_app(env={"STREAMLIT_SECRETS_FILES": str(secrets)},
                     parley={"admins": ["admin@example.com"]})
    for path in ("/costs", "/usage", "/"):
        open_app(page, f"{app.url}{path}")
        expect(page.get_by_role("heading", name="Parley")).to_be_visible()
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        expect(page.get_by_role("heading")).to_have_count(1)  # "Parley": no page, no "not found"
        expect(page.get_by_test_id("stSidebar")).to_have_count(0)
