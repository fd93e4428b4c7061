"""The cost console's numbers, checked against sums worked out by hand from six calls, on
SQLite, Postgres and Supabase (REST to the same SQL functions). Every figure is read from the
rollups (``test_the_console_never_reads_request_logs`` empties request_logs to prove it)."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from core.console import analytics
from core.catalog import Catalog
from core.config import ModelConfig, build_settings
from core.errors import BadRequestError
from core.results import CallRecord
from core.store.rollups import RollupQuery
from core.store.sqlite import SqliteStore
from tests.database import sql
from tests.core.store.conftest import (create_database, fake_postgrest, pg_conn, pg_store,  # noqa: F401
                                  pg_url, supabase_store)

D1, D2, D3 = dt.date(2025, 3, 3), dt.date(2025, 3, 4), dt.date(2025, 3, 5)
PROVIDER = {"claude": "anthropic", "gemini": "gemini", "local": "ollama"}


def call(call_id, user, model, service, day, *, status="success", tokens=(0, 0), cost=None,
         rt=None, ttft=None, fallback_of=None, demo=False) -> CallRecord:
    return CallRecord(call_id=call_id, user_id=user, service_type=service, model=model,
                      provider=PROVIDER[model], provider_model=model, status=status,
                      created_at=dt.datetime.combine(day, dt.time(12), dt.timezone.utc),
                      input_tokens=tokens[0], output_tokens=tokens[1],
                      total_tokens=sum(tokens), total_cost=cost, response_time_ms=rt,
                      ttft_ms=ttft, fallback_of=fallback_of, is_demo=demo)


CALLS = [
    call("a1", "alice", "claude", "xray", D1, tokens=(1000, 200), cost=0.006, rt=800, ttft=300),
    call("a2", "alice", "gemini", "xray", D1, tokens=(500, 100), cost=0.0004, rt=250, ttft=120),
    call("a3", "alice", "gemini", "answer_builder", D2, status="failure", cost=0.0, rt=1200),
    call("b1", "bob", "claude", "answer_builder", D2, tokens=(2000, 500), cost=0.0135, rt=2500,
         ttft=900, fallback_of="a3"),
    call("b2", "bob", "local", "xray", D3, tokens=(300, 50), cost=None, rt=4000, ttft=350),
    call("c1", "carol", "claude", "xray", D3, tokens=(100, 10), cost=0.001, rt=900, demo=True),
]
ALL = analytics.Filters()


@pytest.fixture(params=["sqlite", "postgres", "supabase"])
def store(request, tmp_path):
    """A store holding ``CALLS``; alice and bob are plain users (nobody is an admin).
    Supabase: its REST calls to the same SQL functions, through the PostgREST fake."""
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "parley.db")
    else:
        store = request.getfixturevalue(f"{'pg' if request.param == 'postgres' else 'supabase'}_store")
    assert store.record_calls(CALLS) == len(CALLS)
    yield store
    if request.param == "sqlite":
        store.close()


def by_key(frame, key):
    return {row[key]: row for row in frame.to_dict("records")}


def test_spend_per_user_is_the_sum_of_their_priced_calls(store):
    users = analytics.spend_by_user(store, ALL)
    assert users["user"].tolist() == ["bob", "alice", "carol"]  # most expensive first
    rows = by_key(users, "user")
    assert rows["alice"]["cost"] == pytest.approx(0.0064)
    assert (rows["alice"]["calls"], rows["alice"]["failures"]) == (3, 1)
    assert rows["bob"]["cost"] == pytest.approx(0.0135)  # b2's price is unknown, not $0
    assert rows["bob"]["unpriced_calls"] == 1
    assert rows["carol"]["demo_calls"] == 1
    assert rows["bob"]["total_tokens"] == 2850


def test_filters_narrow_every_figure(store):
    total = analytics.totals(store, analytics.Filters(models=("claude",)))
    assert (total["calls"], total["input_tokens"]) == (3, 3100)
    assert total["cost"] == pytest.approx(0.0205)
    assert analytics.totals(store, analytics.Filters(include_demo=False))["calls"] == 5
    one_day = analytics.Filters(since=D2, until=D2)
    assert analytics.spend_by_user(store, one_day)["user"].tolist() == ["bob", "alice"]
    by_service = analytics.spend_by_service(store, analytics.Filters(users=("alice",),
                                                                      providers=("gemini",)))
    assert by_key(by_service, "service")["answer_builder"]["failures"] == 1
    assert analytics.totals(store, analytics.Filters(services=("nothing",)))["calls"] == 0


def test_spend_over_time_stacks_by_provider(store):
    frame = analytics.spend_by_day(store, ALL, by="provider")
    cells = {(row["day"].date(), row["provider"]): row["cost"] for row in frame.to_dict("records")}
    assert cells == pytest.approx({(D1, "anthropic"): 0.006, (D1, "gemini"): 0.0004,
                                   (D2, "anthropic"): 0.0135, (D2, "gemini"): 0.0,
                                   (D3, "anthropic"): 0.001, (D3, "ollama"): 0.0})


def test_spend_over_time_stacks_by_kind_of_call(store):
    """Image spend is its own kind: here gemini stands for an image model."""
    frame = analytics.spend_by_kind_day(store, ALL, {"gemini"})
    rows = frame.to_dict("records")
    cost = {(row["day"].date(), row["kind"]): row["cost"] for row in rows}
    calls = {(row["day"].date(), row["kind"]): row["calls"] for row in rows}
    assert cost == pytest.approx({(D1, "chat"): 0.006, (D1, "image"): 0.0004,
                                  (D2, "chat"): 0.0135, (D2, "image"): 0.0, (D3, "chat"): 0.001})
    assert calls == {(D1, "chat"): 1, (D1, "image"): 1, (D2, "chat"): 1, (D2, "image"): 1,
                     (D3, "chat"): 2}


def test_model_summary_counts_failures_and_fallbacks(store):
    models = by_key(analytics.model_summary(store, ALL), "model")
    assert models["claude"]["fallbacks"] == 1 and models["claude"]["fallback_rate"] == pytest.approx(1 / 3)
    assert models["gemini"]["failure_rate"] == pytest.approx(0.5)
    assert models["claude"]["output_tokens"] == 710
    assert models["local"]["provider"] == "ollama"


def test_latency_percentiles_come_from_the_histograms(store):
    latency = by_key(analytics.latency_by_model(store, ALL), "model")
    # claude: 800 and 900 ms fall in the 750-1000 bucket, 2500 in 2000-3000; the median
    # (rank 1.5 of 3) lies 1.5/2 of the way through 750-1000 ms
    assert latency["claude"]["p50_ms"] == pytest.approx(937.5)
    assert latency["claude"]["p95_ms"] == pytest.approx(2000 + 1000 * (2.85 - 2))
    assert latency["claude"]["timed_calls"] == 3
    # claude's first tokens: 300 ms (bucket 300-500) and 900 ms: the median is rank 1 of 2
    assert latency["claude"]["ttft_p50_ms"] == pytest.approx(500)
    assert latency["local"]["ttft_p95_ms"] == pytest.approx(300 + 200 * 0.95)  # one value: 350
    assert latency["gemini"]["ttft_p50_ms"] == pytest.approx(100 + 100 * 0.5)  # one value: 120


def test_month_tokens_per_user_by_model_and_provider(store):
    march = analytics.month_tokens_by_user(store, analytics.Filters(since=D3), D1)
    cells = {(r["user"], r["model"]): r["total_tokens"] for r in march.to_dict("records")}
    assert cells == {("alice", "claude"): 1200, ("alice", "gemini"): 600,
                     ("bob", "claude"): 2500, ("bob", "local"): 350, ("carol", "claude"): 110}
    assert analytics.month_tokens_by_user(store, ALL, dt.date(2025, 4, 1)).empty


def test_a_user_reads_only_their_own_rows(store):
    mine = analytics.spend_by_user(store, ALL, as_user="alice")
    assert mine["user"].tolist() == ["alice"]
    assert analytics.totals(store, analytics.Filters(users=("bob",)), as_user="alice")["calls"] == 0
    assert set(analytics.latency_by_model(store, ALL, as_user="bob")["model"]) == {"claude", "local"}


def test_export_has_one_row_per_day_user_provider_model_service(store):
    frame = analytics.export_frame(store, analytics.Filters(include_demo=False))
    assert len(frame) == 5 and frame["calls"].sum() == 5
    assert frame["cost"].sum() == pytest.approx(0.0199)
    assert "carol" not in set(frame["user"])


def test_reprice_uses_recorded_tokens_and_each_models_prices(store):
    settings = build_settings((
        ModelConfig("cheap", {"model": "openai/cheap-x"},
                    {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}),
        ModelConfig("mystery", {"model": "openai/not-a-known-model"}, {})),
        {}, {}, "test", {})
    frame = by_key(analytics.reprice(store, ALL, Catalog(settings)), "model")
    # 3,900 input and 860 output tokens were recorded
    assert frame["cheap"]["would_cost"] == pytest.approx(3900e-6 + 860 * 2e-6)
    assert frame["cheap"]["difference"] == pytest.approx(3900e-6 + 1720e-6 - 0.0209)
    assert math.isnan(frame["mystery"]["would_cost"]) and not frame["mystery"]["price_known"]


def test_the_console_never_reads_request_logs(tmp_path):
    store = SqliteStore(tmp_path / "parley.db")
    store.record_calls(CALLS)
    sql(store, "DELETE FROM request_logs")
    assert analytics.totals(store, ALL)["calls"] == 6
    assert len(analytics.latency_by_model(store, ALL)) == 3
    store.close()


def test_bad_slices_are_refused_with_a_sentence():
    with pytest.raises(BadRequestError, match="grouped by"):
        RollupQuery(by=("week",))
    with pytest.raises(BadRequestError, match="after the last"):
        RollupQuery(since=D3, until=D1)


def test_percentile_of_an_empty_histogram_is_none():
    assert analytics.percentile_from_histogram([0] * 17, 0.5) is None
