"""Team mode in a real browser with a real OpenID Connect login: ``start_team_app`` runs the app
with Streamlit's [auth] pointing at the local provider (tests/fakes/oidc.py), and ``log_in``
clicks "Log in", signs in on the provider's page and comes back through /oauth2callback, the
way a person does. Nothing here forges Streamlit's auth cookie."""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.browser.streamlit_page import open_app, settle

__all__ = ["ADMIN", "COOKIE_SECRET", "log_in", "log_out", "start_team_app"]

COOKIE_SECRET = "browser-test-cookie-secret"
ADMIN = "admin@example.com"


def start_team_app(parley_app, identity_provider, tmp_path: Path, **options):
    """A team-mode app (``ADMIN`` is its one admin) that signs people in at ``identity_provider``;
    ``options`` go to ``parley_app``."""
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(identity_provider.streamlit_secrets(COOKIE_SECRET), encoding="utf-8")
    env = {"STREAMLIT_SECRETS_FILES": str(secrets), **options.pop("env", {})}
    parley = {"admins": [ADMIN], **options.pop("parley", {})}
    return parley_app(env=env, parley=parley, **options)


def log_in(page, app_url: str, email: str, *, verified: bool = True) -> None:
    """Sign in as ``email`` through the provider's page; return once the app has drawn."""
    open_app(page, app_url)
    login = page.get_by_role("button", name="Log in")
    expect(login).to_be_visible(timeout=60_000)  # a busy machine draws the login page late
    login.click()
    page.get_by_label("Email").fill(email)
    if not verified:
        page.get_by_label("verified").uncheck()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{app_url}/**")
    page.wait_for_selector('[data-testid="stApp"]')
    settle(page)
    expect(page.get_by_role("button", name="Log out")).to_be_visible(timeout=30_000)


def log_out(page) -> None:
    """Click "Log out" in the sidebar and wait for the login page."""
    page.get_by_role("button", name="Log out").click()
    page.wait_for_selector('[data-testid="stApp"]')
    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    settle(page)  # the logged-out run has ended before the next page is opened
