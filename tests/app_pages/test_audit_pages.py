"""The Reconciliation and Audit log pages, as an admin sees them (AppTest), and the cost
console's side-by-side re-pricing."""
from __future__ import annotations

import datetime as dt

from core.console.reconcile import import_bill
from core.store import open_store
from tests.app_pages.test_console import RECENT, app  # noqa: F401 - the fixture
from tests.core.console.test_analytics import call
from tests.paths import REPO

BILL = REPO / "tests" / "fixtures" / "bills" / "anthropic_cost_report.json"


def with_store(tmp_path, work) -> None:
    store = open_store("", data_dir=tmp_path / ".parley")
    try:
        work(store)
    finally:
        store.close()


def test_reconciliation_shows_counters_table_and_drift(app, tmp_path):
    day = dt.date(2025, 11, 3)
    at = app("reconciliation", calls=[call("a1", "alice@example.com", "claude", "xray", day,
                                            tokens=(1000, 200), cost=0.05)])
    with_store(tmp_path, lambda s: import_bill(s, BILL, "anthropic", actor="admin@example.com"))
    at.session_state["reconcile_since"] = dt.date(2025, 11, 1)
    at.run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels == ["Answered", "Recorded", "Pending", "Failed to record"]
    table = at.dataframe[0].value
    assert list(table["Billed"]) and "claude" in " ".join(map(str, table["Model"]))
    assert any("off the bill by more than 5%" in w.value for w in at.warning)


def test_reconciliation_without_a_bill_says_how_to_import(app):
    at = app("reconciliation").run()
    assert not at.exception
    assert "reconcile import" in at.info[0].value


def test_audit_log_lists_and_filters(app, tmp_path):
    at = app("audit")
    with_store(tmp_path, lambda s: (
        s.append_audit("admin@example.com", "prices.set", "claude", None, {"input": 3.0}),
        s.append_audit("admin@example.com", "keys.create", "pk-abc123", None, {"user": "ann"})))
    at.run()
    assert not at.exception
    frame = at.dataframe[0].value
    by_admin = [a for a, who in zip(frame["Action"], frame["Who"]) if who == "admin@example.com"]
    assert by_admin == ["keys.create", "prices.set"]
    assert "admins.sync" in set(frame["Action"])  # the app synced parley.admins on start
    at.selectbox(key="audit_action").select("prices.").run()
    filtered = at.dataframe[0].value
    assert "prices.set" in set(filtered["Action"])
    assert {a.split(".")[0] for a in filtered["Action"]} == {"prices"}  # the start's seeds too


def test_costs_page_reprices_side_by_side(app):
    at = app("costs", calls=RECENT).run()
    assert not at.exception
    lines = [m.value for m in at.markdown if "as recorded" in m.value]
    assert {line.split("**")[1] for line in lines} >= {"claude", "gemini"}
    claude = next(line for line in lines if "**claude**" in line)
    assert "$4.00 as recorded" in claude  # 1.25 + 2.00 + 0.75 (demo counts by default) and "at today's prices" in claude and "on claude" in claude
