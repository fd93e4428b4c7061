"""The console's rollup tables (``core/store/rollups.py``): the same columns on SQLite and
Postgres, built on a blank database, backfilled when an old database is upgraded, kept current
on write (SQLite: in ``record_calls``; Postgres: a statement trigger on request_logs), and
every coarser grain agreeing with the full one."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3

from core.store.sqlite import migrations as sqlite_migrations, rollups as sqlite_console
from core.store.base import utc_iso
from core.store.rollups import (BUCKETS, PERFORMANCE_GRAINS, USAGE_GRAINS, RollupQuery,
                                performance_row, pick_grain, usage_rollup_row)
from core.store.sqlite import SqliteStore, _log_values
from tests.database import connect
from tests.core.store.conftest import create_database, pg_conn, pg_store, pg_url  # noqa: F401
from tests.core.store.records import random_records

PERFORMANCE_DAILY = ["day", "user_id", "provider", "model", "service_type", "is_demo", "fallbacks",
                     *[f"rt_{i:02d}" for i in range(BUCKETS)],
                     *[f"ttft_{i:02d}" for i in range(BUCKETS)]]
BY_ALL = RollupQuery(by=("day", "user", "provider", "model", "service"))
CONSOLE_TABLES = [g.table for g in (*USAGE_GRAINS, *PERFORMANCE_GRAINS) if g.table != "usage_daily"]


def with_fallbacks(records):
    for i, record in enumerate(records):
        if i % 7 == 3:
            record.fallback_of = records[i - 1].call_id
        if i % 11 == 0:
            record.ttft_ms = None
    return records


def key(rows):
    return sorted(rows, key=lambda r: (r["day"], r["user"], r["provider"], r["model"], r["service"]))


def test_sqlite_builds_performance_daily_with_the_postgres_columns(tmp_path, pg_conn):
    conn = sqlite3.connect(tmp_path / "blank.db", isolation_level=None)
    assert "m005_console_rollups" in sqlite_migrations.migrate(conn)
    assert [row[1] for row in conn.execute("PRAGMA table_info(performance_daily)")] == PERFORMANCE_DAILY
    pg_columns = [row[0] for row in pg_conn.execute(
        "select column_name from information_schema.columns where table_schema = 'public' "
        "and table_name = 'performance_daily' order by ordinal_position")]
    assert pg_columns == PERFORMANCE_DAILY


def test_upgrading_an_old_sqlite_database_backfills_performance_daily(tmp_path):
    records = with_fallbacks(random_records(400, seed=3))
    fresh = SqliteStore(tmp_path / "fresh.db")
    fresh.record_calls(records)
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for name, migration in sqlite_migrations.MIGRATIONS:
        if name.startswith("m005"):
            break
        migration(conn)
        sqlite_migrations.applied_migrations(conn)
        conn.execute("INSERT INTO _migrations VALUES (?, 'then')", (name,))
    conn.executemany(
        "INSERT INTO request_logs (litellm_call_id, created_at, user_id, service_type, model, "
        "provider, provider_model, status, error_class, error, input_tokens, output_tokens, "
        "total_tokens, total_cost, response_time_ms, ttft_ms, fallback_of, is_demo, messages, "
        "response, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_log_values(record, utc_iso(record.created_at))[:21] for record in records])
    conn.close()
    old = SqliteStore(path)
    assert "m005_console_rollups" in old.upgrade()
    backfilled = key(old.performance_rollup(BY_ALL))
    assert backfilled == key(fresh.performance_rollup(BY_ALL))
    assert sum(r["fallbacks"] for r in backfilled) == sum(r.fallback_of is not None for r in records)
    fresh.close()
    old.close()


def test_postgres_keeps_performance_daily_current_like_sqlite(tmp_path, pg_store, pg_conn):
    records = with_fallbacks(random_records(400, seed=4))
    lite = SqliteStore(tmp_path / "parley.db")
    for start in range(0, len(records), 150):  # several batches fold into the same rows
        lite.record_calls(records[start:start + 150])
        pg_store.record_calls(records[start:start + 150])
    assert pg_store.record_calls(records[:50]) == 0  # replays change nothing
    assert key(pg_store.performance_rollup(BY_ALL)) == key(lite.performance_rollup(BY_ALL))
    timed = sum(sum(r["rt"]) for r in pg_store.performance_rollup(RollupQuery()))
    assert timed == sum(r.response_time_ms is not None for r in records)
    current = key(pg_store.performance_rollup(BY_ALL))
    pg_conn.execute(f"truncate {', '.join(CONSOLE_TABLES)}")
    pg_conn.execute("select parley_fold_rollups(array(select r from request_logs r))")
    assert key(pg_store.performance_rollup(BY_ALL)) == current


def rounded(rows: list[dict]) -> list[dict]:
    return [{k: round(v, 9) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


def forced(store, kind: str, query: RollupQuery, grain) -> list[dict]:
    """``query`` answered from one particular rollup table."""
    if isinstance(store, SqliteStore):
        read = sqlite_console.usage_rollup if kind == "usage" else sqlite_console.performance_rollup
        conn = connect(store)
        try:
            return read(conn, query, grain)
        finally:
            conn.close()
    rows = store._call(f"select public.parley_console_{kind}(%s::jsonb)",
                       (json.dumps(query.to_json(grain)),))
    return [usage_rollup_row(r) if kind == "usage" else performance_row(r) for r in rows]


def test_every_grain_agrees_with_the_full_rollup(tmp_path, pg_store):
    """Each coarser table answers the queries it is picked for exactly as usage_daily /
    performance_daily would, on both backends."""
    records = with_fallbacks(random_records(500, seed=6))
    lite = SqliteStore(tmp_path / "parley.db")
    march = dict(since=dt.date(2025, 3, 1), until=dt.date(2025, 3, 31))
    for store in (lite, pg_store):
        store.record_calls(records[:200])
        store.record_calls(records[200:])
        for kind, grains in (("usage", USAGE_GRAINS), ("performance", PERFORMANCE_GRAINS)):
            full = grains[-1]
            for grain in grains[:-1]:
                by = tuple(d for d in ("user", "provider", "model", "service") if d in grain.dims)
                for query in (RollupQuery(by=("month", *by), **march),
                              RollupQuery(by=by[:1], demo=False)):
                    if grain.period == "day" or pick_grain(grains, query) == grain:
                        got, want = forced(store, kind, query, grain), forced(store, kind, query, full)
                        assert rounded(got) == rounded(want), (grain.table, query)
    assert pick_grain(USAGE_GRAINS, RollupQuery(by=("day", "model"))).table == "usage_daily_models"
    assert pick_grain(USAGE_GRAINS, RollupQuery(by=("user",))).table == "usage_daily_users"
    assert pick_grain(USAGE_GRAINS, RollupQuery(by=("user", "model"), **march)).table == "usage_monthly"
    assert pick_grain(USAGE_GRAINS, RollupQuery(by=("day", "model"), users=("a",))).table == "usage_daily"
    assert pick_grain(USAGE_GRAINS, RollupQuery(by=("model",)), as_user="a").table == "usage_monthly"
    lite.close()
    lite.close()
