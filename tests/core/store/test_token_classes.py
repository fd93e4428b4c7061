"""The call log keeps every token class, the kind, the tool-call count and the cache saving, on
SQLite and on Postgres (through parley_record_calls), and still adds nothing to the totals."""
from __future__ import annotations

import psycopg
import pytest

from core.store.postgres import PostgresStore
from core.store.sqlite import SqliteStore
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
    assert rows(store._conn, [r.call_id for r in batch], "?") == EXPECTED
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
