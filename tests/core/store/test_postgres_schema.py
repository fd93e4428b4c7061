"""Postgres migrations (``supabase/migrations``) and the backend's failure modes."""
from __future__ import annotations

import psycopg
import pytest

from core.errors import StoreUnavailableError
from core.store import postgres
from core.store.postgres import PostgresStore, migration_files
from tests.core.store.records import make_record

REQUEST_LOGS = ["id", "litellm_call_id", "created_at", "user_id", "service_type", "model", "provider",
                "provider_model", "status", "error_class", "error", "input_tokens", "output_tokens",
                "total_tokens", "total_cost", "response_time_ms", "ttft_ms", "fallback_of", "is_demo",
                "messages", "response", "metadata", "kind", "reasoning_tokens", "cache_read_tokens",
                "cache_write_tokens", "tool_calls", "saved_cost", "eval_run_id", "key_id", "cache_hit",
                "price_id", "provider_cost", "client"]
PRICE_BOOK = ["id", "model", "provider_model", "valid_from", "input", "output", "cache_read",
              "cache_write", "reasoning", "image", "tiers", "source", "created_by", "created_at"]
AUDIT_LOG = ["id", "created_at", "actor", "action", "target", "before", "after"]
PROVIDER_BILLS = ["id", "provider", "day", "model", "token_class", "tokens", "billed",
                  "source_file", "imported_at"]
API_KEYS = ["id", "user_id", "prefix", "sha256", "name", "service_type", "models", "monthly_budget",
            "rate_limit_per_minute", "expires_at", "revoked_at", "created_at", "created_by"]
USAGE_DAILY = ["day", "user_id", "provider", "model", "service_type", "is_demo", "calls", "failures",
               "input_tokens", "output_tokens", "total_tokens", "cost", "unpriced_calls"]


def columns(url: str, table: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'public' "
            "and table_name = %s order by ordinal_position", (table,))]


def test_migration_files_follow_the_supabase_cli_layout():
    names = [path.name for path in migration_files()]
    assert names and names == sorted(names)
    for name in names:
        stamp, _, rest = name.partition("_")
        assert len(stamp) == 14 and stamp.isdigit() and rest.endswith(".sql"), name


def test_a_blank_database_migrates_to_the_exact_schema(create_database):
    url = create_database()
    store = PostgresStore(url)
    assert store.status()["pending_migrations"] == [path.name for path in migration_files()]
    assert store.upgrade() == [path.name for path in migration_files()]
    assert store.upgrade() == []
    status = store.status()
    assert (status["pending_migrations"], status["counts"]["request_logs"]) == ([], 0)
    assert columns(url, "request_logs") == REQUEST_LOGS
    assert columns(url, "price_book") == PRICE_BOOK
    assert columns(url, "audit_log") == AUDIT_LOG
    assert columns(url, "provider_bills") == PROVIDER_BILLS
    assert columns(url, "api_keys") == API_KEYS
    assert columns(url, "usage_daily") == USAGE_DAILY
    assert columns(url, "user_preferences") == ["user_id", "service_type", "model", "updated_at"]
    assert columns(url, "tokens_usage") == ["month", "user_id", "calls", "input_tokens", "output_tokens",
                                            "cost", "unpriced_calls", "models", "providers"]
    with psycopg.connect(url) as conn:
        indexes = {row[0] for row in conn.execute("select indexname from pg_indexes where schemaname = 'public'")}
    assert {"request_logs_user_created_idx", "request_logs_created_idx", "usage_daily_user_day_idx",
            "votes_user_created_idx"} <= indexes
    store.close()


def test_an_old_database_is_upgraded_and_keeps_its_rows(create_database, monkeypatch):
    url = create_database()
    store = PostgresStore(url)
    every = migration_files()
    monkeypatch.setattr(postgres, "migration_files", lambda: every[:3])
    assert store.upgrade() == [path.name for path in every[:3]]
    store.record_calls([make_record(), make_record()])
    monkeypatch.setattr(postgres, "migration_files", lambda: every)
    assert store.upgrade() == [path.name for path in every[3:]]
    assert store.status()["counts"]["request_logs"] == 2
    store.close()


def test_the_files_can_be_applied_again_as_the_supabase_cli_would(pg_url, pg_conn):  # pg_conn: emptied first
    store = PostgresStore(pg_url)
    store.record_calls([make_record(), make_record(model="gpt", total_cost=None)])
    before = store.usage("model")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for path in migration_files():
            with conn.transaction():
                conn.execute(path.read_text())
    assert store.usage("model") == before  # the rollups are rebuilt from the same rows
    assert store.record_calls([make_record()]) == 1
    assert sum(row["calls"] for row in store.usage("model")) == 3
    store.close()


def test_an_unmigrated_database_says_to_run_the_upgrade(create_database):
    store = PostgresStore(create_database())
    with pytest.raises(StoreUnavailableError, match="db upgrade"):
        store.record_calls([make_record()])
    assert store.status()["counts"] == {}


def test_an_unreachable_server_names_the_backend_and_no_password():
    store = PostgresStore("postgresql://parley:s3cr3t-pw@127.0.0.1:1/parley", connect_timeout_s=2)
    with pytest.raises(StoreUnavailableError) as down:
        store.usage("user")
    message = str(down.value)
    assert "postgres store at 127.0.0.1:1/parley" in message
    assert "s3cr3t-pw" not in message and "parley:" not in message


def test_connections_are_reused_and_released(pg_store):
    for _ in range(5):
        pg_store.usage("model")
    assert pg_store._idle.qsize() == 1
    pg_store.close()
    assert pg_store._idle.qsize() == 0
