"""The cost console in a real browser: ``python -m core demo`` fills the app's database, then
/costs draws its Plotly charts from it and says the data is demo data."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.browser.conftest import REPO
from tests.browser.streamlit_page import open_app, settle


def test_costs_shows_charts_of_demo_data(page, parley_app):
    app = parley_app(models=("claude", "gemini", "gpt"))
    done = subprocess.run([sys.executable, "-m", "core", "demo", "--calls", "3000", "--days", "20",
                           "--json"], cwd=REPO, env=app.env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["calls"] == 3000

    open_app(page, f"{app.url}/costs")
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    settle(page)
    assert page.get_by_text("Cost console", exact=True).first.is_visible()
    assert page.get_by_text("are demo data").first.is_visible()
    assert page.locator(".js-plotly-plot").count() >= 8
    legend = page.locator(".js-plotly-plot .legendtext").all_text_contents()
    assert {"claude", "gemini", "gpt"} <= set(legend)  # spend over time, stacked by model
    assert page.get_by_text("Top 10 users by spend").first.is_visible()

    page.get_by_test_id("stCheckbox").get_by_text("Include demo data").click()  # real calls: none
    page.get_by_text("No calls match these filters yet").first.wait_for()
    settle(page)
    assert page.locator(".js-plotly-plot").count() == 0
