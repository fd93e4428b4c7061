"""In a real browser: on /preferences a user picks a default model, sees it confirmed, reloads
and finds it kept; then a call that names no model, made outside the app for the same user,
is served by that model. Choosing "Use the app default" removes it again."""
from __future__ import annotations

import json
import re
import subprocess
import sys

from playwright.sync_api import expect

from tests.browser.conftest import REPO
from tests.browser.streamlit_page import open_app, settle


def test_a_default_set_in_the_browser_is_kept_and_serves_calls(page, parley_app):
    app = parley_app(models=("claude", "gemini"))  # parley.default_model: claude
    user = app.env["PARLEY_USER"]
    open_app(page, f"{app.url}/preferences")  # a deep link as the server's first visit
    expect(page.get_by_test_id("stSidebar")).to_contain_text(f"Local mode · admin {user}")
    expect(page.get_by_test_id("stSidebar").locator("a[href^='mailto:']")).to_have_count(0)
    default = page.get_by_role("combobox", name="Default model")
    expect(default).to_have_value("Use the app default: Claude (Anthropic)")

    default.click()
    claude = re.compile(r"^Claude \(Anthropic\) · \$3\.00 \/ \$15\.00 per 1M tokens · "
                        r"typical request \$")  # "\/": Playwright's selector parser needs it
    expect(page.get_by_role("option", name=claude)).to_be_visible()
    page.get_by_role("option", name=re.compile(r"^Gemini \(Google\)")).click()
    expect(page.get_by_text("Saved: Gemini (Google) is now your default model.")).to_be_visible()

    page.reload()
    page.wait_for_selector('[data-testid="stApp"]')
    settle(page)
    expect(page.get_by_role("combobox", name="Default model")).to_have_value(
        re.compile(r"^Gemini \(Google\)"))
    expect(page.get_by_text("Saved:")).to_have_count(0)

    answer = subprocess.run([sys.executable, "-m", "core", "ask", "hi", "--user", user, "--json"],
                            cwd=REPO, env=app.env, capture_output=True, text=True, timeout=60)
    assert answer.returncode == 0, answer.stderr
    result = json.loads(answer.stdout)
    assert result["model"] == "gemini" and result["served_by"] == "gemini" and result["error"] is None

    page.get_by_role("combobox", name="Default model").click()
    page.get_by_role("option", name="Use the app default: Claude (Anthropic)").click()
    expect(page.get_by_text("Saved: you now use the app default model: Claude (Anthropic).")
           ).to_be_visible()
    now = subprocess.run([sys.executable, "-m", "core", "prefs", "get", "--user", user, "--json"],
                         cwd=REPO, env=app.env, capture_output=True, text=True, timeout=60)
    assert now.returncode == 0, now.stderr
    assert json.loads(now.stdout) == {"user": user, "service": None, "model": "claude",
                                      "source": "default"}
