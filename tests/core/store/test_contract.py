"""The ``Store`` contract, run on SQLite, Postgres, and Supabase (its real HTTP requests
answered by the same SQL functions on the test Postgres)."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from core.errors import BadRequestError
from core.store.base import USAGE_DIMENSIONS, USAGE_FIELDS, Store
from core.store.rollups import RollupQuery
from tests.core.store.records import BASE_TIME, expected_usage, make_record, random_records


def record_in_batches(store: Store, records, size: int = 500) -> int:
    return sum(store.record_calls(records[i:i + size]) for i in range(0, len(records), size))


def assert_usage_matches(rows: list[dict], expected: dict[str, dict]) -> None:
    assert {row["key"] for row in rows} == set(expected)
    for row in rows:
        want = expected[row["key"]]
        for name in ("calls", "failures", "input_tokens", "output_tokens", "unpriced_calls"):
            assert row[name] == want[name], (row["key"], name)
        assert row["cost"] == pytest.approx(want["cost"], rel=1e-9, abs=1e-12), row["key"]


def test_is_a_store(store):
    assert isinstance(store, Store)
    assert store.backend in ("sqlite", "postgres", "supabase")


def test_record_calls_counts_only_new_call_ids(store):
    records = [make_record() for _ in range(3)]
    assert store.record_calls(records) == 3
    assert store.record_calls(records) == 0
    assert store.record_calls(records[:1] + [make_record()]) == 1
    assert store.record_calls([]) == 0
    assert store.status()["counts"]["request_logs"] == 4


def test_a_batch_mixing_stored_and_new_calls_adds_only_the_new_to_every_rollup(store):
    old = random_records(40, seed=3)
    new = random_records(60, seed=4)
    assert store.record_calls(old) == 40
    assert store.record_calls(old[::2] + new + old[1::2]) == 60
    everything = old + new
    assert_usage_matches(store.usage("model"), expected_usage(everything, "model"))
    for by in (("user",), ("provider", "model", "service"), ("month", "user")):
        rows = store.usage_rollup(RollupQuery(by=by))
        assert sum(row["calls"] for row in rows) == 100, by
    timed = [r for r in everything if r.response_time_ms is not None]
    for by in (("model",), ("user", "model")):
        rows = store.performance_rollup(RollupQuery(by=by))
        assert sum(sum(row["rt"]) for row in rows) == len(timed), by


def test_a_call_id_repeated_within_a_batch_is_stored_once(store):
    record = make_record()
    assert store.record_calls([record, record, make_record()]) == 2
    assert store.usage("user")[0]["calls"] == 2


@pytest.mark.parametrize("by", USAGE_DIMENSIONS)
def test_usage_totals_equal_the_sums_of_the_rows(store, by):
    records = random_records(1200)
    assert record_in_batches(store, records) == 1200
    record_in_batches(store, records[:700])  # a re-shipped backlog changes nothing
    rows = store.usage(by)
    assert_usage_matches(rows, expected_usage(records, by))
    for row in rows:
        assert set(USAGE_FIELDS) | {"unpriced_calls"} <= set(row)


def test_usage_is_sorted_by_cost_and_days_by_date(store):
    store.record_calls([make_record(model="gpt", total_cost=0.5), make_record(model="gemini", total_cost=0.01),
                        make_record(model="claude", total_cost=2.0, created_at=BASE_TIME - dt.timedelta(days=3))])
    assert [row["key"] for row in store.usage("model")] == ["claude", "gpt", "gemini"]
    assert [row["key"] for row in store.usage("day")] == ["2025-03-27", "2025-03-30"]


def test_unknown_prices_are_counted_not_summed_as_zero(store):
    store.record_calls([make_record(model="local", total_cost=None),
                        make_record(model="local", total_cost=None, status="failure"),
                        make_record(model="local", total_cost=0.25)])
    [row] = store.usage("model")
    assert (row["calls"], row["failures"], row["unpriced_calls"]) == (3, 1, 2)
    assert row["cost"] == pytest.approx(0.25)


def test_usage_filters_by_user_and_inclusive_utc_days(store):
    late_local = dt.datetime(2025, 3, 29, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    store.record_calls([
        make_record(user_id="alice@example.com", created_at=late_local),  # UTC: 2025-03-30
        make_record(user_id="alice@example.com", created_at=BASE_TIME - dt.timedelta(days=1)),
        make_record(user_id="bob@example.com", created_at=BASE_TIME),
        make_record(user_id="alice@example.com", created_at=BASE_TIME + dt.timedelta(days=1))])
    day = dt.date(2025, 3, 30)
    assert [(r["key"], r["calls"]) for r in store.usage("day", since=day, until=day)] == [("2025-03-30", 2)]
    rows = store.usage("day", user_id="alice@example.com", since=dt.date(2025, 3, 30))
    assert [(r["key"], r["calls"]) for r in rows] == [("2025-03-30", 1), ("2025-03-31", 1)]
    assert store.usage("user", until=dt.date(2025, 3, 28)) == []


def test_usage_refuses_an_unknown_grouping(store):
    with pytest.raises(BadRequestError, match="grouped by"):
        store.usage("colour")


def test_a_user_reads_only_their_own_usage_and_an_admin_reads_all(backend):
    store = backend.store
    store.record_calls([make_record(user_id="alice@example.com"), make_record(user_id="bob@example.com"),
                        make_record(user_id="bob@example.com")])
    assert [(r["key"], r["calls"]) for r in store.usage("user", as_user="bob@example.com")] == \
        [("bob@example.com", 2)]
    assert store.usage("user", user_id="alice@example.com", as_user="bob@example.com") == []
    backend.make_admin("root@example.com")
    assert {r["key"] for r in store.usage("user", as_user="root@example.com")} == \
        {"alice@example.com", "bob@example.com"}


def test_preferences_default_and_per_service(store):
    assert store.get_preferences("alice@example.com") == {}
    store.set_preference("alice@example.com", "gemini")
    store.set_preference("alice@example.com", "claude", "answer_builder")
    store.set_preference("alice@example.com", "gpt")  # replaces the default
    store.set_preference("bob@example.com", "claude")
    assert store.get_preferences("alice@example.com") == {None: "gpt", "answer_builder": "claude"}
    assert store.status()["counts"]["user_preferences"] == 3


def test_a_user_sets_only_their_own_preferences(store):
    store.set_preference("alice@example.com", "gemini", as_user="alice@example.com")
    assert store.get_preferences("alice@example.com", as_user="alice@example.com") == {None: "gemini"}
    with pytest.raises(BadRequestError):
        store.set_preference("alice@example.com", "claude", as_user="mallory")
    assert store.get_preferences("alice@example.com", as_user="mallory") == {}
    assert store.get_preferences("alice@example.com") == {None: "gemini"}


def test_clearing_a_preference_removes_only_that_one(store):
    store.set_preference("alice@example.com", "gemini")
    store.set_preference("alice@example.com", "claude", "answer_builder")
    store.set_preference("bob@example.com", "claude", "answer_builder")
    assert store.clear_preference("alice@example.com", "answer_builder") is True
    assert store.get_preferences("alice@example.com") == {None: "gemini"}
    assert store.clear_preference("alice@example.com", "answer_builder") is False
    assert store.clear_preference("alice@example.com", "xray") is False
    assert store.clear_preference("alice@example.com") is True  # the default (NULL) one
    assert store.get_preferences("alice@example.com") == {}
    assert store.clear_preference("alice@example.com") is False
    assert store.get_preferences("bob@example.com") == {"answer_builder": "claude"}
    assert store.status()["counts"]["user_preferences"] == 1


def test_a_user_clears_only_their_own_preferences(backend):
    store = backend.store
    store.set_preference("alice@example.com", "gemini", as_user="alice@example.com")
    store.set_preference("alice@example.com", "gpt", "xray", as_user="alice@example.com")
    with pytest.raises(BadRequestError):
        store.clear_preference("alice@example.com", "xray", as_user="mallory")
    with pytest.raises(BadRequestError):  # refused, not "nothing to remove"
        store.clear_preference("alice@example.com", "answer_builder", as_user="mallory")
    backend.make_admin("root@example.com")  # admins read everyone's, but change only their own
    with pytest.raises(BadRequestError):
        store.clear_preference("alice@example.com", as_user="root@example.com")
    assert store.get_preferences("alice@example.com") == {None: "gemini", "xray": "gpt"}
    assert store.clear_preference("alice@example.com", "xray", as_user="alice@example.com") is True
    assert store.get_preferences("alice@example.com", as_user="alice@example.com") == \
        {None: "gemini"}


def test_votes_are_stored_and_checked(store):
    store.record_vote({"user_id": "alice@example.com", "models": ["claude", "gemini"],
                       "winner": "gemini", "prompt_hash": "ab12", "costs": {"claude": 0.01, "gemini": None},
                       "latencies": {"claude": 900, "gemini": 400}})
    store.record_vote({"user_id": "bob@example.com", "models": ["claude", "gpt"], "winner": "tie"})
    assert store.status()["counts"]["votes"] == 2
    with pytest.raises(BadRequestError):
        store.record_vote({"user_id": "alice@example.com", "models": ["claude"], "winner": "gpt"})
    with pytest.raises(BadRequestError):
        store.record_vote({"user_id": "alice@example.com", "models": ["claude"], "colour": "red"})


def test_a_malformed_record_is_refused_as_bad_input(store):
    with pytest.raises(BadRequestError, match="status"):
        store.record_calls([make_record(status="maybe")])
    assert store.status()["counts"]["request_logs"] == 0


def test_status_names_the_backend_and_counts_rows(store):
    store.record_calls([make_record(), make_record(created_at=BASE_TIME + dt.timedelta(days=1))])
    status = store.status()
    assert status["backend"] == store.backend
    assert status["counts"] == {"request_logs": 2, "usage_daily": 2, "user_preferences": 0, "votes": 0}
    assert status["pending_migrations"] in ([], None)


def test_concurrent_writers_store_every_call_once(store):
    if store.backend == "supabase":
        pytest.skip("the fake PostgREST answers on one connection; Postgres itself is tested")
    records = random_records(2000, seed=11)
    errors: list[BaseException] = []

    def ship(offset: int) -> None:
        try:  # overlapping slices: every record is offered by two threads
            record_in_batches(store, records[offset:] + records[:offset], size=250)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=ship, args=(i * 500,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.status()["counts"]["request_logs"] == 2000
    assert_usage_matches(store.usage("model"), expected_usage(records, "model"))
