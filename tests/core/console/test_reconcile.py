"""Reconciliation: each provider's own export (tests/fixtures/bills, in the shapes their docs
give) against recorded calls, with differences computed by hand."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from core.audit import audit_entries
from core.cli import main
from core.console.reconcile import drifted, import_bill, reconcile
from core.errors import BadRequestError
from core.store.sqlite import SqliteStore
from tests.core.store.records import make_record
from tests.paths import REPO

BILLS = REPO / "tests" / "fixtures" / "bills"
DAY = dt.datetime(2025, 11, 3, 12, tzinfo=dt.timezone.utc)


@pytest.fixture
def store(tmp_path):
    store = SqliteStore(tmp_path / "parley.db")
    calls = [  # (model, provider, provider_model, cost, provider_cost)
        ("gpt", "openai", "openai/gpt-4.1-mini", 0.0150, None),
        ("claude", "anthropic", "anthropic/claude-sonnet-4-5-20250929", 9.30, None),
        ("gemini", "gemini", "gemini/gemini-2.5-flash", 0.0031, None),
        ("or-gpt", "openrouter", "openrouter/openai/gpt-4.1", 0.048, 0.05),
    ]
    store.record_calls([make_record(model=m, provider=p, provider_model=pm, total_cost=c,
                                    provider_cost=pc, created_at=DAY) for m, p, pm, c, pc in calls])
    store.record_calls([make_record(model="gpt", provider="openai", provider_model="openai/gpt-4.1-mini",
                                    total_cost=1.0, created_at=DAY, is_demo=True)])  # demo: ignored
    yield store
    store.close()


def by_provider(rows):
    return {row["provider"]: row for row in rows}


def test_each_providers_export_against_the_recorded_cost(store):
    for provider, name in (("openai", "openai_costs.json"), ("anthropic", "anthropic_cost_report.json"),
                           ("gemini", "gcp_billing_export.jsonl"), ("openrouter", "openrouter_activity.json")):
        import_bill(store, BILLS / name, provider, actor="root@example.com")
    rows = by_provider(reconcile(store))
    # OpenAI: 0.012 + 0.0032 + 0.0008 = 0.016 billed; 0.015 recorded
    assert rows["openai"]["model"] == "gpt-4.1-mini" and rows["openai"]["day"] == "2025-11-03"
    assert rows["openai"]["billed"] == pytest.approx(0.016)
    assert rows["openai"]["difference"] == pytest.approx(0.001)
    assert rows["openai"]["percent"] == pytest.approx(6.25)
    assert rows["openai"]["billed_classes"] == pytest.approx({"input": 0.012, "output": 0.0032,
                                                              "cache_read": 0.0008})
    # Anthropic: cents -> 0.03 + 0.06 + 0.005 = 0.095 billed; 9.30 recorded (a 100x mistake)
    assert rows["anthropic"]["model"] == "claude-sonnet-4-5"
    assert rows["anthropic"]["billed"] == pytest.approx(0.095)
    assert rows["anthropic"]["difference"] == pytest.approx(0.095 - 9.30)
    # Gemini: 0.0006 + 0.0025 = 0.0031, Compute Engine left out: no difference
    assert rows["gemini"]["model"] == "gemini-2.5-flash"
    assert rows["gemini"]["difference"] == pytest.approx(0.0) and rows["gemini"]["percent"] == pytest.approx(0)
    assert rows["gemini"]["billed_tokens"] == {"input": 2000, "output": 1000}
    # OpenRouter: 0.05 billed, 0.048 recorded; the response's own usage.cost said 0.05
    assert rows["openrouter"]["model"] == "gpt-4.1"
    assert rows["openrouter"]["difference"] == pytest.approx(0.002)
    assert rows["openrouter"]["percent"] == pytest.approx(4.0)
    assert rows["openrouter"]["provider_reported"] == pytest.approx(0.05)
    assert rows["openrouter"]["recorded_tokens"]["input"] == 100
    assert {r["provider"] for r in drifted(list(rows.values()), 5.0)} == {"openai", "anthropic"}
    imports = audit_entries(store, action="reconcile.import")
    assert len(imports) == 4 and imports[0]["actor"] == "root@example.com"


def test_importing_the_same_export_twice_does_not_double_the_bill(store):
    import_bill(store, BILLS / "openai_costs.json", "openai")
    import_bill(store, BILLS / "openai_costs.json", "openai")
    assert by_provider(reconcile(store))["openai"]["billed"] == pytest.approx(0.016)


def test_a_file_of_the_wrong_shape_says_which_shape_was_expected(store, tmp_path):
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"data": [{"nothing": 1}]}))
    with pytest.raises(BadRequestError, match="Anthropic's cost report"):
        import_bill(store, wrong, "anthropic")
    euros = tmp_path / "eur.json"
    euros.write_text((BILLS / "openai_costs.json").read_text().replace('"usd"', '"eur"'))
    with pytest.raises(BadRequestError, match="only USD"):
        import_bill(store, euros, "openai")


def test_reconcile_cli_imports_and_shows(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["reconcile", "import", str(BILLS / "anthropic_cost_report.json"),
                 "--provider", "anthropic", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lines"] == 3
    assert main(["reconcile", "show", "--since", "2025-11-01", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["billed"] == pytest.approx(0.095) and rows[0]["recorded"] == 0
    assert main(["reconcile", "show"]) == 0
    assert "claude-sonnet-4-5" in capsys.readouterr().out


def test_a_drift_over_the_threshold_raises_an_alert(store):
    from core.config.alerts import AlertSettings
    from core.console.alerts import evaluate
    from core.guards import Budgets

    import_bill(store, BILLS / "openai_costs.json", "openai")
    settings = AlertSettings(webhook="http://127.0.0.1:9/hook", reconcile_drift_pct=5.0)
    alerts = [a for a in evaluate(store, Budgets(), settings, DAY + dt.timedelta(days=1))
              if a["kind"] == "reconcile_drift"]
    assert [a["subject"] for a in alerts] == ["openai:gpt-4.1-mini"]
    assert "+6.3% of the bill" in alerts[0]["message"]  # 6.25, rounded
    quiet = AlertSettings(webhook="http://127.0.0.1:9/hook", reconcile_drift_pct=10.0)
    assert not [a for a in evaluate(store, Budgets(), quiet, DAY) if a["kind"] == "reconcile_drift"]
