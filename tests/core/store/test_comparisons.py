"""The store reads the playground adds, on SQLite, Postgres and Supabase: the blind-vote
leaderboard and saved comparisons (per user, newest first)."""
from __future__ import annotations

import datetime as dt

import pytest

from core.errors import BadRequestError
from tests.core.store.conftest import (backend, create_database, fake_postgrest, pg_conn,  # noqa: F401
                                  pg_store, pg_url, supabase_store)


@pytest.fixture
def store(backend, request):  # noqa: F811
    if backend.store.backend != "sqlite":
        request.getfixturevalue("pg_conn").execute("truncate comparisons")
    return backend.store


def vote(user, models, winner, costs=None, latencies=None):
    return {"user_id": user, "models": models, "winner": winner, "costs": costs or {},
            "latencies": latencies or {}}


def by_model(rows):
    return {row["model"]: row for row in rows}


def test_the_leaderboard_counts_wins_ties_and_costs_per_model(store):
    store.record_vote(vote("ann", ["claude", "gemini"], "claude", {"claude": 0.02, "gemini": 0.002},
                           {"claude": 900, "gemini": 300}))
    store.record_vote(vote("ann", ["gemini", "claude"], "tie", {"claude": 0.04, "gemini": None},
                           {"claude": 1100, "gemini": 500}))
    store.record_vote(vote("bob", ["gemini", "gpt"], None, {"gemini": 0.004, "gpt": 0.01}))
    rows = store.leaderboard()
    assert [row["model"] for row in rows] == ["claude", "gemini", "gpt"]
    claude, gemini, gpt = (by_model(rows)[m] for m in ("claude", "gemini", "gpt"))
    assert (claude["votes"], claude["wins"], claude["ties"], claude["losses"]) == (2, 1, 1, 0)
    assert claude["win_rate"] == pytest.approx(0.75)
    assert claude["avg_cost"] == pytest.approx(0.03) and claude["avg_latency_ms"] == pytest.approx(1000)
    assert (gemini["votes"], gemini["losses"], gemini["both_bad"], gemini["priced_answers"]) == (3, 1, 1, 2)
    assert gemini["avg_cost"] == pytest.approx(0.003)
    assert (gpt["votes"], gpt["both_bad"], gpt["win_rate"]) == (1, 1, 0.0)


def test_a_model_against_itself_is_not_on_the_leaderboard(store):
    store.record_vote(vote("ann", ["gemini", "gemini"], "gemini"))
    assert store.leaderboard() == []


def test_the_leaderboard_can_be_limited_to_one_users_votes(store, backend):  # noqa: F811
    store.record_vote(vote("ann", ["claude", "gemini"], "claude"))
    store.record_vote(vote("bob", ["claude", "gemini"], "gemini"))
    assert by_model(store.leaderboard(user_id="bob"))["gemini"]["wins"] == 1
    assert by_model(store.leaderboard(user_id="bob"))["claude"]["wins"] == 0
    assert by_model(store.leaderboard(as_user="ann"))["claude"]["votes"] == 1
    backend.make_admin("root")
    assert by_model(store.leaderboard(as_user="root"))["claude"]["votes"] == 2


def saved(cid, user, title, minutes):
    moment = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=minutes)
    return {"id": cid, "user_id": user, "title": title, "updated_at": moment, "created_at": moment,
            "data": {"turns": [{"prompt": title}], "columns": [{"model": "claude"}]}}


def test_saved_comparisons_come_back_newest_first_for_their_user_only(store):
    store.save_comparison(saved("c1", "ann", "first", 0))
    store.save_comparison(saved("c2", "ann", "second", 5))
    store.save_comparison(saved("c3", "bob", "bob's", 1))
    store.save_comparison({**saved("c1", "ann", "first, again", 10)})
    rows = store.comparisons("ann")
    assert [(r["id"], r["title"]) for r in rows] == [("c1", "first, again"), ("c2", "second")]
    assert rows[0]["data"]["turns"] == [{"prompt": "first, again"}]
    assert store.comparisons("ann", limit=1)[0]["id"] == "c1"
    assert store.comparisons("ann", as_user="bob") == []
    assert [r["id"] for r in store.comparisons("bob", as_user="bob")] == ["c3"]


def test_a_comparison_cannot_be_taken_over_by_another_user(store):
    store.save_comparison(saved("c1", "ann", "mine", 0))
    store.save_comparison(saved("c1", "mallory", "hijacked", 5))
    assert [r["title"] for r in store.comparisons("ann")] == ["mine"]
    assert store.comparisons("mallory") == []


def test_malformed_comparisons_are_refused(store):
    with pytest.raises(BadRequestError):
        store.save_comparison({"id": "c1", "user_id": "ann", "data": "not an object"})
    with pytest.raises(BadRequestError):
        store.save_comparison({"id": "c1", "user_id": "ann", "data": {}, "colour": "red"})
    with pytest.raises(BadRequestError):
        store.comparisons("ann", limit=0)
