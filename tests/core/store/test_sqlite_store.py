"""SQLite: the migrations (a blank database, an old one), WAL, and several writers at once."""
from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from core.errors import StoreUnavailableError
from core.store.sqlite import migrations as sqlite_migrations
from core.store.base import utc_iso
from core.store.sqlite import SqliteStore, _log_values
from tests.database import sql
from tests.core.store.records import expected_usage, make_record, random_records
from tests.core.store.test_contract import assert_usage_matches, record_in_batches
from tests.core.store.test_postgres_schema import (API_KEYS, AUDIT_LOG, PRICE_BOOK, PROVIDER_BILLS,
                                                   REQUEST_LOGS, USAGE_DAILY)


def blank(path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_xinfo({table})")]  # generated too


def test_a_blank_database_migrates_to_the_exact_schema(tmp_path):
    conn = blank(tmp_path / "blank.db")
    assert sqlite_migrations.migrate(conn) == ["m001_request_logs", "m002_usage_rollups",
                                               "m003_preferences_votes_admins",
                                               "m004_compare_comparisons", "m005_console_rollups",
                                               "m006_token_classes", "m007_evals",
                                               "m008_calls_explorer", "m009_api_keys", "m010_alerts",
                                               "m011_usage_classes", "m012_tenancy",
                                               "m013_price_book", "m014_audit_log",
                                               "m015_clients_and_embeddings"]
    assert sqlite_migrations.migrate(conn) == []
    assert columns(conn, "api_keys") == API_KEYS
    assert columns(conn, "request_logs") == REQUEST_LOGS  # the same columns as Postgres
    assert columns(conn, "usage_daily") == USAGE_DAILY
    assert columns(conn, "price_book") == PRICE_BOOK
    assert columns(conn, "audit_log") == AUDIT_LOG
    assert columns(conn, "provider_bills") == PROVIDER_BILLS
    assert columns(conn, "user_preferences") == ["user_id", "service_type", "model", "updated_at"]
    assert columns(conn, "votes") == ["id", "created_at", "user_id", "prompt_hash", "prompt", "models",
                                      "settings", "costs", "latencies", "winner", "is_demo", "metadata"]
    assert columns(conn, "tokens_usage") == ["month", "user_id", "calls", "input_tokens", "output_tokens",
                                             "cost", "unpriced_calls", "models", "providers"]
    assert columns(conn, "parley_admins") == ["user_id", "created_at"]
    assert columns(conn, "eval_results")[:6] == ["run_id", "row_index", "model", "created_at",
                                                 "status", "answer"]
    assert columns(conn, "prompt_templates") == ["id", "name", "version", "service_type", "system",
                                                 "template", "variables", "settings", "created_by",
                                                 "created_at", "owner"]
    assert columns(conn, "eval_shares") == ["token_sha256", "run_id", "created_by", "created_at"]
    assert columns(conn, "parley_key_policy") == ["user_id", "monthly_budget", "models",
                                                  "rate_limit_per_minute", "expiry_days",
                                                  "max_keys", "updated_at"]
    assert [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY rowid")] == \
        [name for name, _ in sqlite_migrations.MIGRATIONS]


def test_an_old_database_is_upgraded_and_its_logs_rolled_up(tmp_path):
    path = tmp_path / "old.db"
    conn = blank(path)
    sqlite_migrations.applied_migrations(conn)
    first_name, first = sqlite_migrations.MIGRATIONS[0]
    first(conn)
    conn.execute("INSERT INTO _migrations VALUES (?, 'then')", (first_name,))
    records = random_records(300, seed=5)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO request_logs (litellm_call_id, created_at, user_id, service_type, model, provider, "
        "provider_model, status, error_class, error, input_tokens, output_tokens, total_tokens, total_cost, "
        "response_time_ms, ttft_ms, fallback_of, is_demo, messages, response, metadata) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_log_values(record, utc_iso(record.created_at))[:21] for record in records])
    conn.execute("COMMIT")
    conn.close()
    store = SqliteStore(path)
    assert store.upgrade() == ["m002_usage_rollups", "m003_preferences_votes_admins",
                               "m004_compare_comparisons", "m005_console_rollups", "m006_token_classes",
                               "m007_evals", "m008_calls_explorer", "m009_api_keys", "m010_alerts",
                               "m011_usage_classes", "m012_tenancy", "m013_price_book", "m014_audit_log",
                                               "m015_clients_and_embeddings"]
    for by in ("user", "day", "model"):
        assert_usage_matches(store.usage(by), expected_usage(records, by))
    assert store.record_calls(records) == 0


def test_the_file_is_in_wal_mode_and_a_write_waits_for_another_writer(tmp_path):
    store = SqliteStore(tmp_path / "deep" / "er" / "parley.db")
    store.record_calls([make_record()])
    assert sql(store, "PRAGMA journal_mode") == [("wal",)]
    other = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock for a moment
    threading.Timer(0.3, other.execute, ("COMMIT",)).start()
    assert store.record_calls([make_record()]) == 1  # waited (busy timeout), not "locked"
    other.close()
    store.close()


def test_several_stores_on_one_file_write_at_once(tmp_path):
    """Like several processes (the app and the CLI) sharing .parley/parley.db."""
    path = tmp_path / "shared.db"
    SqliteStore(path).upgrade()
    records = random_records(1600, seed=9)
    stores = [SqliteStore(path) for _ in range(4)]
    errors: list[BaseException] = []

    def ship(store: SqliteStore, offset: int) -> None:
        try:
            record_in_batches(store, records[offset:] + records[:offset], size=200)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=ship, args=(store, i * 400)) for i, store in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert_usage_matches(stores[0].usage("service"), expected_usage(records, "service"))


def test_an_unusable_file_is_reported_as_unavailable(tmp_path):
    (tmp_path / "a-directory.db").mkdir()
    with pytest.raises(StoreUnavailableError, match="SQLite store at .*a-directory.db"):
        SqliteStore(tmp_path / "a-directory.db").usage("user")


def test_monthly_tokens_usage_adds_up_to_the_daily_rollups(tmp_path):
    store = SqliteStore(tmp_path / "parley.db")
    records = random_records(800, seed=4)
    record_in_batches(store, records)
    rows = sql(store, "SELECT user_id, calls, cost, models, providers FROM tokens_usage")
    assert sum(row[1] for row in rows) == 800
    for user_id, calls, cost, models, providers in rows:
        assert sum(m["calls"] for m in json.loads(models).values()) == calls
        assert sum(p["cost"] for p in json.loads(providers).values()) == pytest.approx(cost)
    by_user = {row["key"]: row for row in store.usage("user")}
    for user_id in by_user:
        assert sum(row[1] for row in rows if row[0] == user_id) == by_user[user_id]["calls"]
