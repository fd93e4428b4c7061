"""Team mode in a real browser, signed in through a real OpenID Connect login: the app's
"Log in" button goes to the local provider (tests/fakes/oidc.py), which signs the person in
and sends the browser back through Streamlit's /oauth2callback, as Google or Okta would.

An unverified email is refused; a user who is not an admin gets no admin data, on any page and
whatever URL or query parameters they open; an admin sees everyone's spend."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.store import open_store
from tests.browser.streamlit_page import open_app, settle
from tests.browser.team import log_in, log_out, start_team_app
from tests.core.store.records import make_record

PAGES = {"compare": "Compare", "chat": "Chat", "images": "Images", "preferences": "Preferences",
         "usage": "Your usage", "evals": "Evaluations",
         "providers": "Providers", "keys": "API keys", "calls": "Calls"}
ADMIN_PAGES = ("costs", "reconciliation", "audit")


@pytest.fixture
def team_app(parley_app, identity_provider, tmp_path):
    app = start_team_app(parley_app, identity_provider, tmp_path)
    store = open_store(app.database_url)
    store.record_calls([make_record(user_id="alice@example.com", model="claude"),
                        make_record(user_id="bob@example.com", model="gemini")])
    store.close()
    return app


def test_an_unverified_email_is_refused(page, team_app):
    log_in(page, team_app.url, "mallory@example.com", verified=False)
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
    log_in(page, team_app.url, "Bob@Example.com")
    open_app(page, f"{team_app.url}{path}")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("bob@example.com")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Signed in · user")
    body = page.locator("body").inner_text()
    assert "alice@example.com" not in body, "another user's data was shown"
    assert "Cost console" not in page.get_by_test_id("stSidebarNav").inner_text()
    if path.startswith("/costs"):
        expect(page.get_by_role("heading", name="Admins only")).to_be_visible()
        assert page.locator(".js-plotly-plot").count() == 0
        assert page.get_by_test_id("stMetric").count() == 0


def test_the_admin_sees_every_users_spend(page, team_app, identity_provider):
    log_in(page, team_app.url, "Admin@Example.com")
    open_app(page, f"{team_app.url}/costs")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Signed in · admin")
    expect(page.get_by_role("heading", name="Admins only")).to_have_count(0)
    expect(page.get_by_role("heading", name="Cost console")).to_be_visible()
    nav = page.get_by_test_id("stSidebarNav")
    for title in ("Cost console", "Reconciliation", "Audit log"):
        expect(nav.get_by_text(title, exact=True)).to_be_visible()
    shown(page, f"{team_app.url}/calls", "Calls")
    expect(page.get_by_text("You see everyone's calls (admin).")).to_be_visible()
    assert {"alice@example.com", "bob@example.com"} <= set(grid_cells(page))
    assert identity_provider.signed_in[-1] == "Admin@Example.com"
    assert identity_provider.refusals == []


def test_a_plain_user_signs_in_and_sees_only_their_own_on_every_page(page, team_app,
                                                                    identity_provider):
    """Bob, not an admin, logs in through the provider: every page he has opens on his own
    data (never Alice's); the admin pages are not in his menu and say "Admins only" when
    opened by address; logging out brings the login page back."""
    log_in(page, team_app.url, "bob@example.com")
    assert identity_provider.signed_in[-1] == "bob@example.com"
    nav = page.get_by_test_id("stSidebarNav").inner_text()
    # /images is listed once an image model is configured (this app has none)
    assert all(title in nav for path, title in PAGES.items() if path != "images"), nav
    assert not any(title in nav for title in ("Images", "Cost console", "Reconciliation",
                                              "Audit log")), nav
    for path, heading in PAGES.items():
        shown(page, f"{team_app.url}/{path}", heading)
        expect(page.get_by_test_id("stSidebar")).to_contain_text("Signed in · user bob@example.com")
        expect(page.get_by_test_id("stSidebar").locator("a[href^='mailto:']")).to_have_count(0)
        body = page.locator("body").inner_text()
        assert "alice@example.com" not in body, f"/{path} showed another user's data"
        assert page.get_by_test_id("stException").count() == 0, f"/{path} raised"
    assert "alice@example.com" not in grid_cells(page) and "bob@example.com" in grid_cells(page)
    for path in ADMIN_PAGES:
        shown(page, f"{team_app.url}/{path}", "Admins only")
        assert "alice@example.com" not in page.locator("body").inner_text()
        assert page.locator(".js-plotly-plot").count() == 0
        assert page.get_by_test_id("stDataFrame").count() == 0
    log_out(page)
    open_app(page, f"{team_app.url}/usage")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)
    assert identity_provider.refusals == []


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

    log_in(page, team_app.url, "bob@example.com")
    shown(page, f"{team_app.url}/evals", "Evaluations")
    page.screenshot(path=str(shots / "team-bob-evals.png"), full_page=True)
    body = page.locator("body").inner_text()
    assert "alices-secret-template" not in body and "ALICE-PRIVATE-ROW" not in body
    assert "alices-dataset" not in body
    shown(page, f"{team_app.url}/keys", "API keys")
    expect(page.get_by_text("Keys you make stay within the key policy")).to_be_visible()
    page.screenshot(path=str(shots / "team-bob-keys.png"), full_page=True)

    log_out(page)
    log_in(page, team_app.url, "alice@example.com")
    shown(page, f"{team_app.url}/evals", "Evaluations")
    expect(page.get_by_text("alices-secret-template").first).to_be_visible()
    page.screenshot(path=str(shots / "team-alice-evals.png"), full_page=True)


def shown(page, url: str, heading: str) -> None:
    """Open ``url`` and wait until its page has drawn (heading, then the script's last run)."""
    open_app(page, url)
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    settle(page)
    page.wait_for_timeout(1000)  # widgets draw after the run ends


def grid_cells(page) -> list[str]:
    """The text of every cell of the page's data grids (drawn on a canvas; Streamlit's grid
    keeps an accessible table of the cells beside it)."""
    cells = page.locator('[data-testid="stDataFrame"] [role="gridcell"]')
    expect(cells.first).to_be_attached()
    return [text.strip() for text in cells.all_text_contents()]
