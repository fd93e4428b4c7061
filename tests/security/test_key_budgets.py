"""A key's monthly budget holds while its calls are in flight: each call reserves the most it
may cost before it is sent and settles its real cost after, so at any concurrency at most one
call goes over the budget. With Redis, every worker shares the spend and the reservations;
a crashed worker's reservations expire."""
from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest

from core.errors import BudgetExceededError
from core.keys import ApiKey
from tests.core.api.test_workers import redis_url  # noqa: F401 - the fixture

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
BUDGET, ESTIMATE, COST = 0.001, 0.0003, 0.00026  # the finding: 30 calls on a $0.001 key


def a_key(budget: float | None = BUDGET, spent: float = 0.0) -> ApiKey:
    return ApiKey(id=str(uuid.uuid4()), user_id="alice", prefix="pk-" + uuid.uuid4().hex[:8],
                  monthly_budget=budget, month_spend=spent)


def guards(kind: str, url: str | None, clock=lambda: NOW, **options):
    """Two guards: two workers when they share Redis, one process's guard twice otherwise."""
    from core.key_budgets import KeyBudgetGuard

    if kind == "redis":
        return KeyBudgetGuard(url, now=clock, **options), KeyBudgetGuard(url, now=clock, **options)
    guard = KeyBudgetGuard(None, now=clock, **options)
    return guard, guard


@pytest.fixture(params=["local", "redis"])
def kind_url(request):
    if request.param == "local":
        return "local", None
    return "redis", request.getfixturevalue("redis_url")


def parallel_reserves(guard_pair, key: ApiKey, n: int, estimate: float) -> list:
    """``n`` threads reserve at once, alternating between the two guards; the holds granted."""
    start, holds, lock = threading.Barrier(n), [], threading.Lock()

    def one(i: int) -> None:
        start.wait()
        try:
            hold = guard_pair[i % 2].reserve(key, estimate)
        except BudgetExceededError:
            return
        with lock:
            holds.append((i % 2, hold))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return holds


def test_thirty_parallel_calls_answer_no_more_than_the_budget_allows(kind_url):
    pair = guards(*kind_url)
    key = a_key()

    held = parallel_reserves(pair, key, 30, ESTIMATE)

    assert len(held) == 3  # 3 x $0.0003 fit in $0.001; the 4th would not
    for worker, hold in held:
        pair[1 - worker].settle(hold, COST)  # settled on the other worker
    answered = len(held)
    while True:  # later waves: each finds the rest of the budget, until none is left
        wave = parallel_reserves(pair, key, 30, ESTIMATE)
        if not wave:
            break
        answered += len(wave)
        for worker, hold in wave:
            pair[worker].settle(hold, COST)
    assert answered * COST <= BUDGET + COST  # over by at most one call, not 3.9x
    assert answered * COST > BUDGET - COST


def test_a_call_bigger_than_the_budget_goes_alone_and_then_the_key_is_refused(kind_url):
    pair = guards(*kind_url)
    key = a_key()

    held = parallel_reserves(pair, key, 10, 0.01)  # each call may cost 10x the budget
    assert len(held) == 1  # the one with none in flight; the rest wait for it
    [(worker, hold)] = held
    pair[worker].settle(hold, 0.004)

    with pytest.raises(BudgetExceededError) as refused:
        pair[1 - worker].reserve(key, 0.0)
    assert f"API key {key.prefix} has spent $0.004 of its $0.001 monthly budget" in str(refused.value)
    assert refused.value.retry_after == pytest.approx(10 * 86400 + 12 * 3600)  # to December


def test_a_refusal_is_a_429_budget_exceeded_naming_the_key_with_retry_after(kind_url):
    from core.api.errors import from_parley_error

    first, second = guards(*kind_url)
    key = a_key()
    hold = first.reserve(key, ESTIMATE * 3)
    with pytest.raises(BudgetExceededError) as in_flight:
        second.reserve(key, ESTIMATE)
    first.settle(hold, 0.0)
    spent_key = a_key(spent=BUDGET)
    with pytest.raises(BudgetExceededError) as spent:
        second.reserve(spent_key, 0.0)

    for err, prefix in ((in_flight.value, key.prefix), (spent.value, spent_key.prefix)):
        answer = from_parley_error(err)
        assert (answer.status, answer.code) == (429, "budget_exceeded")
        assert int(answer.headers()["Retry-After"]) >= 1
        assert prefix in answer.message
        assert answer.message.count(". ") == 0 and answer.message.endswith(".")


def test_a_key_without_a_budget_reserves_nothing(kind_url):
    first, _ = guards(*kind_url)
    key = a_key(budget=None, spent=5.0)
    assert first.reserve(key, 1.0) is None
    first.settle(None, 1.0)  # nothing to settle, nothing raised


def test_spend_already_recorded_counts_against_the_budget(kind_url):
    first, _ = guards(*kind_url)
    key = a_key(spent=0.0009)
    hold = first.reserve(key, ESTIMATE)  # none in flight: let through while budget is left
    with pytest.raises(BudgetExceededError):
        first.reserve(key, ESTIMATE)
    first.settle(hold, 0.0)


def test_an_abandoned_calls_hold_is_released_by_settling_its_estimate(kind_url):
    first, second = guards(*kind_url)
    key = a_key()
    hold = first.reserve(key, 0.0006)
    first.settle(hold, 0.0006)  # a stream cut short counts what it may have cost
    hold = second.reserve(key, 0.0003)  # $0.0004 left, none in flight
    with pytest.raises(BudgetExceededError):
        second.reserve(key, 0.0002)
    second.settle(hold, 0.0)


def test_a_crashed_workers_holds_expire(redis_url):  # noqa: F811
    clock = [NOW]
    crashed, alive = guards("redis", redis_url, clock=lambda: clock[0], hold_ttl_s=120)
    key = a_key()
    crashed.reserve(key, 0.0009)  # never settled: the worker died
    with pytest.raises(BudgetExceededError):
        alive.reserve(key, 0.0003)

    clock[0] = NOW + dt.timedelta(seconds=121)
    alive.settle(alive.reserve(key, 0.0003), 0.0)


def test_with_redis_the_settled_spend_is_the_keyrings_shared_spend(redis_url):  # noqa: F811
    from core.guards import SpendCounter

    first, _ = guards("redis", redis_url)
    key = a_key(spent=0.0002)
    first.settle(first.reserve(key, ESTIMATE), COST)

    shared = SpendCounter(redis_url).current(f"key:{key.id}", "2026-11", 0.0002)
    assert shared == pytest.approx(0.0002 + COST)
