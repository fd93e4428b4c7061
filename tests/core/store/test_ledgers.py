"""The ledgers on SQLite and Postgres alike: a call's price_id and provider_cost are stored
(Postgres through parley_record_calls), a recorded cost cannot be updated, and the checks
behind db verify and reconcile read the same on both."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.core.store.records import make_record
from tests.core.store.test_audit_log import ledger_store  # noqa: F401 - the fixture

DAY = dt.datetime(2025, 11, 3, 12, tzinfo=dt.timezone.utc)


def test_price_id_and_provider_cost_are_stored_and_the_cost_is_final(ledger_store):
    store = ledger_store
    [price_id] = store.add_prices([{"model": "claude", "valid_from": DAY.isoformat(),
                                    "input": 3e-6, "output": 1.5e-5, "source": "litellm"}])
    record = make_record(created_at=DAY, total_cost=0.25, price_id=price_id, provider_cost=0.26)
    store.record_calls([record])
    [row] = store._rows("SELECT price_id, provider_cost, total_cost FROM request_logs "
                        "WHERE litellm_call_id = {p}", [record.call_id])
    assert row == {"price_id": price_id, "provider_cost": pytest.approx(0.26),
                   "total_cost": pytest.approx(0.25)}
    with pytest.raises(Exception, match="never changes"):
        store._ledger_write(store._sql("UPDATE request_logs SET total_cost = 0 WHERE "
                                       "litellm_call_id = {p} RETURNING 1"), [[record.call_id]])
    [entry] = [e for e in store.price_entries("claude") if e["id"] == price_id]
    assert entry["input"] == pytest.approx(3e-6) and entry["tiers"] == {}


def test_verify_and_reconcile_reads(ledger_store):
    store = ledger_store
    records = [make_record(created_at=DAY, total_cost=0.5, provider_model="anthropic/claude-x")
               for _ in range(2)]
    store.record_calls(records)
    ids = [r.call_id for r in records]
    assert store.call_id_counts(ids + ["absent"]) == {ids[0]: 1, ids[1]: 1, "absent": 0}
    assert store.rollup_mismatches() == []
    [day] = [r for r in store.recorded_by_day("2025-11-01") if r["provider_model"] == "anthropic/claude-x"]
    assert str(day["day"])[:10] == "2025-11-03" and day["calls"] == 2
    assert day["cost"] == pytest.approx(1.0)
    store.import_bills([{"provider": "anthropic", "day": "2025-11-03", "model": "claude-x",
                         "token_class": "input", "tokens": 10, "billed": 0.9}], "bill.json")
    assert [b["billed"] for b in store.bills("2025-11-01") if b["model"] == "claude-x"] == [0.9]
