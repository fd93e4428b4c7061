"""Budgets: the parley.budgets shape, spend against budget with a month-end forecast and the
80 % / 100 % flags, and the hard limit that refuses a user's calls once their budget is spent."""
from __future__ import annotations

import datetime as dt

import pytest

from core.console.budgets import budget_report, forecast
from core.guards import BudgetGuard, Budgets, guard_for
from core.config import build_settings
from core.errors import BudgetExceededError, ConfigError
from core.store.sqlite import SqliteStore
from tests.emulated import make_service, three_models
from tests.core.console.test_analytics import CALLS, call

TODAY = dt.date(2025, 3, 10)  # CALLS are on March 3-5, 2025; March has 31 days


@pytest.fixture
def store(tmp_path):
    store = SqliteStore(tmp_path / "parley.db")
    store.record_calls(CALLS)
    yield store
    store.close()


def test_the_budgets_section_is_read_and_checked():
    budgets = Budgets.from_config({"default": 50, "users": {"alice": 100}, "hard": True})
    assert (budgets.for_user("alice"), budgets.for_user("zoe"), budgets.hard) == (100.0, 50.0, True)
    assert Budgets.from_config(None).for_user("alice") is None
    for bad, key in (({"default": -1}, "parley.budgets.default"),
                     ({"users": {"bob": "lots"}}, "parley.budgets.users.bob"),
                     ({"users": ["bob"]}, "parley.budgets.users"),
                     ({"hard": "yes"}, "parley.budgets.hard"),
                     ({"monthly": 5}, "parley.budgets")):
        with pytest.raises(ConfigError) as caught:
            Budgets.from_config(bad, "parley.yaml")
        assert caught.value.key == key


def test_forecast_extends_the_run_rate_to_month_end():
    assert forecast(10.0, TODAY) == pytest.approx(10.0 / 10 * 31)
    assert forecast(0.0, dt.date(2025, 2, 28)) == 0.0


def test_report_flags_users_at_80_and_100_percent(store):
    budgets = Budgets(default=0.01, users={"alice": 0.008, "dave": 5.0})
    report = {row["user"]: row for row in budget_report(store, budgets, TODAY).to_dict("records")}
    assert set(report) == {"alice", "bob", "dave"}  # carol's calls are demo data: not counted
    assert report["bob"]["status"] == "over" and report["bob"]["spent_pct"] == pytest.approx(135)
    assert report["alice"]["status"] == "warning" and report["alice"]["spent_pct"] == pytest.approx(80)
    assert report["alice"]["forecast"] == pytest.approx(0.0064 / 10 * 31)
    assert (report["dave"]["spent"], report["dave"]["status"]) == (0.0, "on track")
    with_demo = budget_report(store, budgets, TODAY, include_demo=True)
    assert "carol" in set(with_demo["user"])
    assert budget_report(store, Budgets(), TODAY, users=("alice",))["status"].tolist() == ["no budget"]


def test_a_hard_budget_refuses_calls_once_spent(store):
    guard = BudgetGuard(Budgets(default=0.01, hard=True), lambda: store, today=lambda: TODAY)
    guard.check("alice")  # $0.0064 of $0.01
    with pytest.raises(BudgetExceededError, match=r"bob has spent \$0\.01 of a \$0\.01 monthly budget"):
        guard.check("bob")
    BudgetGuard(Budgets(default=0.01, hard=False), lambda: store, today=lambda: TODAY).check("bob")


def test_the_guard_sees_new_spend_after_its_cache_expires(store):
    guard = BudgetGuard(Budgets(default=0.01, hard=True), lambda: store, ttl_s=0, today=lambda: TODAY)
    guard.check("alice")
    store.record_calls([call("a9", "alice", "claude", "xray", TODAY, tokens=(10, 10), cost=0.004)])
    with pytest.raises(BudgetExceededError):
        guard.check("alice")


def test_the_service_refuses_before_calling_any_provider(emulator, store):
    svc = make_service(emulator)
    svc.budget = BudgetGuard(Budgets(users={"bob": 0.001}, hard=True), lambda: store,
                             today=lambda: TODAY)
    with pytest.raises(BudgetExceededError, match="monthly budget"):
        svc.generate_sync("Hello", user_id="bob", model="claude")
    assert emulator.requests == []
    svc.close()


def test_guard_for_builds_a_guard_only_for_hard_budgets(emulator):
    def settings(budgets):
        return build_settings(tuple(three_models(emulator)), {}, {"budgets": budgets}, "test", {})
    assert guard_for(settings({"default": 5})) is None
    assert isinstance(guard_for(settings({"default": 5, "hard": True})), BudgetGuard)
    with pytest.raises(ConfigError):
        guard_for(settings({"default": "five"}))


async def test_a_hard_budget_holds_under_20_concurrent_calls(emulator, store):
    """20 calls at once, by one user whose budget covers about 5: the calls in flight reserve
    what each may cost, so the budget is overshot by at most one call (per process)."""
    import asyncio

    from core.errors import BudgetExceededError
    from tests.fakes.script import Reply

    svc = make_service(emulator)
    emulator.set_default("*", Reply(text=" ".join(["word"] * 50)))
    probe = await svc.generate("How much?", user_id="probe", model="claude", max_tokens=60)
    one_call = probe.cost
    budget = 5.5 * one_call
    svc.budget = BudgetGuard(Budgets(users={"newcomer": budget}, hard=True), lambda: store,
                             today=lambda: TODAY)
    try:
        outcomes = await asyncio.gather(*(svc.generate("How much?", user_id="newcomer", model="claude",
                                                       max_tokens=60) for _ in range(20)),
                                        return_exceptions=True)
        answered = [o for o in outcomes if not isinstance(o, Exception)]
        refused = [o for o in outcomes if isinstance(o, BudgetExceededError)]
        assert len(answered) + len(refused) == 20 and answered and refused
        burst = sum(o.cost for o in answered)
        later = []  # then one at a time until the budget refuses
        for _ in range(10):
            try:
                later.append(await svc.generate("How much?", user_id="newcomer", model="claude",
                                                max_tokens=60))
            except BudgetExceededError:
                break
        else:
            pytest.fail("the budget never refused a call")
    finally:
        svc.close()
    spent = burst + sum(o.cost for o in later)
    print(f"\n20 concurrent calls on a ${budget:.6f} budget (5.5 calls): {len(answered)} answered "
          f"(${burst:.6f}, {burst / budget:.0%} of it); then {len(later)} more one at a time: "
          f"${spent:.6f} = {spent / budget:.0%} of the budget, {(spent - budget) / one_call:+.2f} calls")
    assert burst <= budget + one_call
    assert spent <= budget + one_call
