"""Every page at 1400x900, as a new user first sees it (only the bundled model, nothing
recorded) and after `python -m core demo`: screenshots into .parley/screenshots/ (not
committed; ``PARLEY_SCREENSHOTS`` names another folder) for a person to look at, and what a browser console would show on load. The same
again in team mode as a plain user, signed in through the local OpenID Connect provider
(``team-user-empty-*`` and ``team-user-demo-*``: their own demo calls among everyone's), and as
its admin (``team-admin-empty-*``, ``team-admin-demo-*``).

Each page gets two files: ``<state>-<page>.png`` (the first screen) and
``<state>-<page>-full.png`` (the whole page, the window stretched to its height).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import REPO
from tests.browser.streamlit_page import open_app, settle
from tests.browser.team import ADMIN, log_in, log_out, start_team_app

SHOTS = Path(os.environ.get("PARLEY_SCREENSHOTS") or REPO / ".parley" / "screenshots")
PAGES = ("compare", "chat", "images", "preferences", "usage", "evals", "calls", "providers",
         "keys", "costs", "reconciliation", "audit")
OUT_OF_THE_BOX = {"PARLEY_CONFIG": "", "ANTHROPIC_API_KEY": "", "GEMINI_API_KEY": "",
                  "GOOGLE_API_KEY": "", "OPENAI_API_KEY": ""}
PAGE_HEIGHT = """() => Math.max(...[...document.querySelectorAll(
  '[data-testid="stMain"], [data-testid="stAppScrollToBottomContainer"], [data-testid="stMainBlockContainer"]'
)].map(e => e.scrollHeight), 900)"""


def shoot(page, url: str, state: str) -> dict[str, list[str]]:
    """Screenshot every page; return the console errors each logged while loading."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: dict[str, list[str]] = {}
    for name in PAGES:
        logged: list[str] = []
        listener = lambda message: message.type == "error" and logged.append(message.text)  # noqa: E731
        page.on("console", listener)
        open_app(page, f"{url}/{name}")
        expect(page.locator("h1").first).to_be_visible()
        page.wait_for_timeout(1500)  # charts and tables draw after the script run ends
        settle(page)
        page.screenshot(path=SHOTS / f"{state}-{name}.png")
        page.set_viewport_size({"width": 1400, "height": page.evaluate(PAGE_HEIGHT)})
        page.wait_for_timeout(500)
        page.screenshot(path=SHOTS / f"{state}-{name}-full.png")
        page.set_viewport_size({"width": 1400, "height": 900})
        page.remove_listener("console", listener)
        errors[f"{state}-{name}"] = logged
    return errors


def test_every_page_empty_and_after_demo(page, parley_app):
    app = parley_app(models=(), env=OUT_OF_THE_BOX, script="server.py")  # as scripts/app runs it
    page.set_viewport_size({"width": 1400, "height": 900})
    empty = shoot(page, app.url, "empty")
    demo = subprocess.run([sys.executable, "-m", "core", "demo", "--calls", "3000"], cwd=REPO,
                          env={**app.env}, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    filled = shoot(page, app.url, "demo")
    assert all((SHOTS / f"{state}-{name}.png").stat().st_size > 10_000
               for state in ("empty", "demo") for name in PAGES)
    assert {name: logged for name, logged in {**empty, **filled}.items() if logged} == {}
    assert os.path.getsize(SHOTS / "demo-costs-full.png") > os.path.getsize(SHOTS / "empty-costs-full.png")


def test_every_page_as_a_plain_user_in_team_mode(page, parley_app, identity_provider, tmp_path):
    app = start_team_app(parley_app, identity_provider, tmp_path, script="server.py")
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, app.url, ADMIN)
    empty = shoot(page, app.url, "team-admin-empty")
    log_out(page)
    log_in(page, app.url, "bob@example.com")
    empty |= shoot(page, app.url, "team-user-empty")
    demo = subprocess.run([sys.executable, "-m", "core", "demo", "--calls", "3000"], cwd=REPO,
                          env={**app.env, "PARLEY_USER": "bob@example.com"},
                          capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    filled = shoot(page, app.url, "team-user-demo")
    log_out(page)
    log_in(page, app.url, ADMIN)
    filled |= shoot(page, app.url, "team-admin-demo")
    assert {name: logged for name, logged in {**empty, **filled}.items() if logged} == {}
    assert os.path.getsize(SHOTS / "team-user-demo-usage-full.png") > \
        os.path.getsize(SHOTS / "team-user-empty-usage-full.png")
