"""``spend_by_client`` on SQLite, Postgres and Supabase: spend per client (``request_logs.client``,
generated from the call's metadata) and user, over whole days, under the reader's identity."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.core.store.records import BASE_TIME, make_record


def test_spend_is_grouped_by_client_and_user(backend):
    store = backend.store
    day = BASE_TIME.date()
    store.record_calls([
        make_record(user_id="alice@example.com", metadata={"client": "claude-code"}, total_cost=0.5),
        make_record(user_id="alice@example.com", metadata={"client": "claude-code"}, total_cost=0.25),
        make_record(user_id="bob@example.com", metadata={"client": "claude-code"}, total_cost=0.125),
        make_record(user_id="bob@example.com", metadata={"client": "openai-python"}, total_cost=None),
        make_record(user_id="bob@example.com", metadata={"client": "openai-python"}, status="failure",
                    total_cost=0.0),
        make_record(user_id="carol", metadata={}, total_cost=0.01),
        make_record(user_id="carol", metadata={"via": "api"}, total_cost=0.001),
        make_record(user_id="carol", metadata={"client": "curl"}, total_cost=1.0,
                    created_at=BASE_TIME - dt.timedelta(days=3)),
    ])
    rows = store.spend_by_client(since=day, until=day)
    assert [(r["client"], r["user"]) for r in rows] == [
        ("claude-code", "alice@example.com"), ("claude-code", "bob@example.com"),
        ("parley", "carol"), ("unknown", "carol"), ("openai-python", "bob@example.com")]
    first = rows[0]
    assert (first["calls"], first["failures"], first["input_tokens"]) == (2, 0, 200)
    assert first["cost"] == pytest.approx(0.75)
    sdk = rows[-1]
    assert (sdk["calls"], sdk["failures"], sdk["unpriced_calls"]) == (1, 1, 1)
    assert {r["client"] for r in store.spend_by_client()} >= {"curl"}
    assert {r["user"] for r in store.spend_by_client(user_id="carol")} == {"carol"}


def test_a_user_reads_only_their_own_clients_spend(backend):
    store = backend.store
    store.record_calls([make_record(user_id="alice@example.com", metadata={"client": "claude-code"}),
                        make_record(user_id="bob@example.com", metadata={"client": "claude-code"})])
    assert {r["user"] for r in store.spend_by_client(as_user="bob@example.com")} == {"bob@example.com"}
    backend.make_admin("root@example.com")
    assert {r["user"] for r in store.spend_by_client(as_user="root@example.com")} == {
        "alice@example.com", "bob@example.com"}
