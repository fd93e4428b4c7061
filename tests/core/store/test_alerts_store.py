"""Alerts in every backend: raised once per (kind, subject, period), leased to one deliverer
at a time, retried after a failure, and key spend summed per key."""
from __future__ import annotations

import datetime as dt
import time

from tests.core.store.records import make_record

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)


def alert(**fields):
    return {"id": fields.pop("id", "a1"), "kind": "budget_80", "subject": "user:alice",
            "period": "2026-11", "message": "alice has spent $41 of $50.", "details": {"spent": 41},
            **fields}


def test_an_alert_is_raised_once_per_period(store):
    assert store.raise_alert(alert()) is True
    assert store.raise_alert(alert(id="a2")) is False
    assert store.raise_alert(alert(id="a3", period="2026-12")) is True
    assert sorted(a["period"] for a in store.list_alerts()) == ["2026-11", "2026-12"]


def test_a_leased_alert_is_not_handed_out_twice_and_a_failure_is_retried(store):
    store.raise_alert(alert())
    [leased] = store.lease_alerts(10, 60)
    assert leased["attempts"] == 1 and leased["details"] == {"spent": 41}
    assert store.lease_alerts(10, 60) == []  # leased to the first caller
    store.alert_attempted("a1", "webhook: HTTPStatusError HTTP 500", 0)
    time.sleep(0.01)
    [again] = store.lease_alerts(10, 60)
    assert again["attempts"] == 2
    assert again["last_error"] == "webhook: HTTPStatusError HTTP 500"  # the channel still owed
    store.alert_attempted("a1", None, 0)
    assert store.lease_alerts(10, 0) == []
    [row] = store.list_alerts()
    assert row["delivered_at"] is not None and row["last_error"] is None and row["attempts"] == 2


def test_key_spend_sums_each_keys_calls_since_a_time(store):
    store.record_calls([make_record(key_id="k1", total_cost=0.5, created_at=NOW),
                        make_record(key_id="k1", total_cost=0.25, created_at=NOW),
                        make_record(key_id="k2", total_cost=1.0, created_at=NOW - dt.timedelta(days=40)),
                        make_record(total_cost=3.0, created_at=NOW)])
    assert store.key_spend(NOW - dt.timedelta(days=1)) == {"k1": 0.75}


def test_cache_savings_per_user_and_model(store):
    day = NOW.date()
    store.record_calls([
        make_record(user_id="ann", model="claude", cache_hit=True, total_cost=0.0, saved_cost=0.25, created_at=NOW),
        make_record(user_id="ann", model="claude", cache_hit=True, total_cost=0.0, saved_cost=0.5, created_at=NOW),
        make_record(user_id="bo", model="gpt", cache_hit=True, total_cost=0.0, saved_cost=0.1, created_at=NOW),
        make_record(user_id="bo", model="gpt", total_cost=0.3, created_at=NOW),  # not a hit
        make_record(user_id="cy", model="gpt", cache_hit=True, total_cost=0.0, saved_cost=9.0,
                    created_at=NOW - dt.timedelta(days=3))])
    assert store.cache_savings(day, day) == [
        {"user": "ann", "model": "claude", "hits": 2, "saved": 0.75},
        {"user": "bo", "model": "gpt", "hits": 1, "saved": 0.1}]
