"""The call log keeps every token class, the kind, the tool-call count and the cache saving, on
SQLite and on Postgres (through parley_record_calls), and still adds nothing to the totals; the
console's sums of them (usage_classes_daily) agree on every backend, per user under RLS."""
from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from core.store.postgres import PostgresStore
from core.store.rollups import RollupQuery
from core.store.sqlite import SqliteStore
from tests.database import connect, sql
from tests.core.store.records import make_record

COLUMNS = ("kind", "input_tokens", "output_tokens", "reasoning_tokens", "cache_read_tokens",
           "cache_write_tokens", "tool_calls", "saved_cost", "total_cost")


def records():
    chat = make_record(input_tokens=10_000, output_tokens=500, total_tokens=10_500, total_cost=0.02355,
                       reasoning_tokens=120, cache_read_tokens=6_000, cache_write_tokens=3_000,
                       tool_calls=2, saved_cost=0.01395)
    image = make_record(model="gpt", kind="image", input_tokens=0, output_tokens=0, total_tokens=0,
                        total_cost=0.08, metadata={"images": 2})
    plain = make_record(total_cost=None)
    return [chat, image, plain]


EXPECTED = [("chat", 10_000, 500, 120, 6_000, 3_000, 2, 0.01395, 0.02355),
            ("image", 0, 0, 0, 0, 0, 0, None, 0.08),
            ("chat", 100, 40, 0, 0, 0, 0, None, None)]


def rows(conn, ids, placeholder: str) -> list[tuple]:
    """The stored columns of each call, in ``ids`` order (Postgres numerics as floats)."""
    query = f"select {', '.join(COLUMNS)} from request_logs where litellm_call_id = {placeholder}"
    return [tuple(float(v) if hasattr(v, "as_tuple") else v for v in conn.execute(query, (call_id,)).fetchone())
            for call_id in ids]


def test_sqlite_keeps_the_token_classes(tmp_path):
    store = SqliteStore(tmp_path / "parley.db")
    batch = records()
    assert store.record_calls(batch) == 3
    assert rows(connect(store), [r.call_id for r in batch], "?") == EXPECTED
    assert sum(row["input_tokens"] for row in store.usage("model")) == 10_100  # classes are parts
    store.close()


def test_postgres_keeps_the_token_classes(fresh_pg_url):
    store = PostgresStore(fresh_pg_url)
    batch = records()
    assert store.record_calls(batch) == 3
    assert store.record_calls(batch) == 0
    with psycopg.connect(fresh_pg_url) as conn:
        assert rows(conn, [r.call_id for r in batch], "%s") == EXPECTED
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("insert into request_logs (litellm_call_id, created_at, user_id, service_type, "
                         "model, provider, status, kind) values ('x', now(), 'u', 's', 'm', 'p', "
                         "'success', 'video')")
    store.close()


def console_records():
    day = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
    return [
        make_record(user_id="ann", created_at=day, reasoning_tokens=120, cache_read_tokens=6_000,
                    cache_write_tokens=3_000, tool_calls=2, saved_cost=0.01395),
        make_record(user_id="ann", created_at=day, model="gemini", reasoning_tokens=1_000,
                    cache_read_tokens=8_000, saved_cost=0.00216),
        make_record(user_id="bob", created_at=day, model="gpt", kind="image", total_cost=0.08,
                    input_tokens=0, output_tokens=0, total_tokens=0, metadata={"images": 2}),
        make_record(user_id="bob", created_at=day, model="gpt", kind="image", status="failure",
                    total_cost=0.0, metadata={"images": 4}),
        make_record(user_id="bob", created_at=day + dt.timedelta(days=3), is_demo=True, tool_calls=5),
        # a response-cache hit: its saving is the console's cache_savings, not prompt caching's
        make_record(user_id="ann", created_at=day, cache_hit=True, total_cost=0.0, saved_cost=0.5),
    ]


def test_the_console_sums_every_class_on_every_backend(backend):
    store = backend.store
    store.record_calls(console_records())
    everything = store.token_classes(RollupQuery())
    assert everything == {"image_calls": 1, "images": 2, "reasoning_tokens": 1_120,
                          "cache_read_tokens": 14_000, "cache_write_tokens": 3_000, "tool_calls": 7,
                          "saved_cost": pytest.approx(0.01611)}
    real = store.token_classes(RollupQuery(until=dt.date(2026, 11, 21), demo=False))
    assert real["tool_calls"] == 2 and real["images"] == 2
    assert store.token_classes(RollupQuery(models=("gemini",)))["cache_read_tokens"] == 8_000
    assert store.token_classes(RollupQuery(since=dt.date(2026, 12, 1))) == {
        "image_calls": 0, "images": 0, "reasoning_tokens": 0, "cache_read_tokens": 0,
        "cache_write_tokens": 0, "tool_calls": 0, "saved_cost": 0.0}


def test_a_user_reads_only_their_own_sums_and_an_admin_everyones(backend):
    store = backend.store
    store.record_calls(console_records())
    assert store.token_classes(RollupQuery(), as_user="bob")["images"] == 2
    assert store.token_classes(RollupQuery(), as_user="bob")["reasoning_tokens"] == 0
    backend.make_admin("root")
    assert store.token_classes(RollupQuery(), as_user="root")["reasoning_tokens"] == 1_120


def test_calls_stored_before_the_migration_are_summed(tmp_path):
    path = tmp_path / "old.db"
    store = SqliteStore(path)
    store.record_calls(console_records())
    sql(store, "DROP TABLE usage_classes_daily")
    sql(store, "DELETE FROM _migrations WHERE name = 'm011_usage_classes'")
    store.close()
    upgraded = SqliteStore(path)
    assert upgraded.upgrade() == ["m011_usage_classes"]
    assert upgraded.token_classes(RollupQuery())["cache_read_tokens"] == 14_000
    assert upgraded.token_classes(RollupQuery())["images"] == 2
    upgraded.close()


def test_postgres_sums_calls_stored_before_its_migration(fresh_pg_url):
    store = PostgresStore(fresh_pg_url)
    store.record_calls(console_records())
    with psycopg.connect(fresh_pg_url, autocommit=True) as conn:
        conn.execute("delete from usage_classes_daily")
        conn.execute("delete from parley_schema_migrations where name = %s",
                     ("20251201000300_parley_usage_classes.sql",))
    assert store.upgrade() == ["20251201000300_parley_usage_classes.sql"]
    totals = store.token_classes(RollupQuery())
    assert (totals["cache_read_tokens"], totals["images"], totals["tool_calls"]) == (14_000, 2, 7)
    store.close()
