"""``python -m core demo``: realistic synthetic calls, every one marked as demo data."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest

from core.console import analytics
from core.catalog import Catalog
from core.cli import main
from core.config import ModelConfig, build_settings
from core.console.demo import demo_models, demo_records, fill_demo
from core.errors import BadRequestError
from core.store import open_store

END = dt.datetime(2025, 6, 30, 18, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def catalog():
    models = (ModelConfig("claude", {"model": "anthropic/claude-sonnet-4-5-20250929"}, {}),
              ModelConfig("gemini", {"model": "gemini/gemini-2.5-flash"}, {}),
              ModelConfig("mystery", {"model": "openai/not-a-known-model"}, {}))
    return Catalog(build_settings(models, {}, {}, "test", {}))


def test_demo_calls_look_like_real_usage(catalog):
    records = [r for chunk in demo_records(6000, demo_models(catalog), days=90, end=END, seed=1,
                                           chunk=2500) for r in chunk]
    assert len(records) == 6000 and len({r.call_id for r in records}) == 6000
    assert all(r.is_demo for r in records)
    assert len({r.user_id for r in records}) >= 8
    assert set(Counter(r.model for r in records)) == {"claude", "gemini", "mystery"}
    days = {r.created_at.date() for r in records}
    assert min(days) >= (END - dt.timedelta(days=89)).date() and max(days) <= END.date()
    assert len(days) > 60  # spread over the months, not piled on one day
    failures = [r for r in records if r.status == "failure"]
    assert 0.01 < len(failures) / len(records) < 0.1
    assert all(r.total_cost == 0.0 and r.total_tokens == 0 for r in failures)
    by_id = {r.call_id: r for r in records}
    fallbacks = [r for r in records if r.fallback_of]
    assert fallbacks
    for r in fallbacks:  # each fallback follows a failed call of the same user on another model
        failed = by_id[r.fallback_of]
        assert (failed.status, failed.user_id, r.status) == ("failure", r.user_id, "success")
        assert failed.model != r.model
    claude = next(r for r in records if r.model == "claude" and r.status == "success")
    assert claude.total_cost == pytest.approx(claude.input_tokens * 3e-6 + claude.output_tokens * 15e-6)
    assert all(r.total_cost is None for r in records if r.model == "mystery" and r.status == "success")


def test_too_many_or_too_few_calls_are_refused(catalog):
    for n in (0, -5, 20_000_000):
        with pytest.raises(BadRequestError, match="demo calls"):
            next(demo_records(n, demo_models(catalog)))


def test_without_configured_models_the_demo_brings_its_own():
    names = [m.name for m in demo_models(Catalog(build_settings(
        (ModelConfig("solo", {"model": "openai/gpt-4.1-mini"}, {}),), {}, {}, "test", {})))]
    assert names == ["claude", "gemini", "gpt", "local"]


def test_fill_writes_demo_rows_the_console_labels(tmp_path, catalog):
    store = open_store(f"sqlite:///{tmp_path}/parley.db")
    summary = fill_demo(store, 3000, catalog, ("xray", "chat"), days=30, seed=2, end=END)
    assert summary.calls == 3000
    total = analytics.totals(store, analytics.Filters())
    assert total["calls"] == total["demo_calls"] == 3000
    assert analytics.totals(store, analytics.Filters(include_demo=False))["calls"] == 0
    assert set(analytics.spend_by_service(store, analytics.Filters())["service"]) == {"xray", "chat"}
    store.close()


def test_the_cli_fills_the_configured_store(tmp_path, capsys):
    assert main(["demo", "--calls", "1200", "--days", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["calls"], out["backend"]) == (1200, "sqlite")
    assert main(["usage", "--by", "user", "--json"]) == 0
    assert sum(row["calls"] for row in json.loads(capsys.readouterr().out)) == 1200
    assert main(["demo", "--calls", "0"]) == 2
    assert "--calls must be from 1" in capsys.readouterr().err
