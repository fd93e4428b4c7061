"""The Reconciliation and Audit log pages in Chromium, with a bill imported, calls recorded and
admin actions logged: screenshots into .parley/screenshots/ for a person to look at, and no
browser console errors."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys

from playwright.sync_api import expect

from tests.browser.conftest import REPO
from tests.browser.streamlit_page import open_app, settle
from tests.browser.test_screenshots import PAGE_HEIGHT

SHOTS = REPO / ".parley" / "screenshots"
BILL = REPO / "tests" / "fixtures" / "bills" / "anthropic_cost_report.json"


def cli(app, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, env=app.env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_reconciliation_and_audit_pages(page, parley_app, tmp_path):
    app = parley_app(models=("claude", "gemini"))
    for n in range(3):
        cli(app, "ask", f"What is {n} + {n}?", "--model", "claude", "--user", "alice@example.com")
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    bill = tmp_path / "cost_report.json"
    bill.write_text(BILL.read_text().replace("2025-11-03", today).replace("2025-11-04", today))
    cli(app, "reconcile", "import", str(bill), "--provider", "anthropic", "--user", "admin@example.com")
    cli(app, "prices", "set", "gemini", "--input", "0.3", "--output", "2.5", "--user", "admin@example.com")
    cli(app, "keys", "create", "--user", "alice@example.com", "--budget", "20")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 900})
    for name, heading in (("reconciliation", "Reconciliation"), ("audit", "Audit log")):
        logged: list[str] = []
        # Streamlit's frontend first probes the page's own path as its base URL
        # (/audit/_stcore/health), then the root: those 404s are its, not the page's. The
        # console reports every 404 without its URL, so failed loads are judged by response.
        page.on("console", lambda m: m.type == "error" and not m.text.startswith(
            "Failed to load resource") and logged.append(m.text))
        page.on("response", lambda r: r.status >= 400 and f"/{name}/_stcore/" not in r.url
                and logged.append(f"{r.status} {r.url}"))
        open_app(page, f"{app.url}/{name}")
        expect(page.locator("h1").first).to_have_text(heading)
        page.wait_for_timeout(1500)  # charts and tables draw after the script run ends
        settle(page)
        page.screenshot(path=SHOTS / f"audit-{name}.png")
        page.set_viewport_size({"width": 1400, "height": page.evaluate(PAGE_HEIGHT)})
        page.wait_for_timeout(500)
        page.screenshot(path=SHOTS / f"audit-{name}-full.png")
        page.set_viewport_size({"width": 1400, "height": 900})
        assert logged == [], logged
    # The table is drawn on a canvas (glide-data-grid): its cells exist for screen readers.
    assert page.locator('[role="gridcell"]', has_text="prices.set").count() >= 1
