"""An API key's monthly budget, held while its calls are in flight.

``KeyRing.authenticate`` refuses a key whose known spend has reached its budget, but a burst
of calls on a key with budget left would all pass that check before any of them is priced.
``KeyBudgetGuard`` closes that gap the way ``BudgetGuard`` does for users:

    hold = guard.reserve(key, estimate)   # before the call: the most it may cost (USD)
    ...                                   # the call, answered, failed or abandoned
    guard.settle(hold, cost)              # after it: release the hold, count the real cost

A call with none in flight on its key is let through while any budget is left; another is
refused while ``spent + reserved + estimate > budget``. So with worst-case estimates at most
ONE call goes over a key's budget, at any concurrency. A refusal is ``KeyBudgetExceededError``
(the API answers 429 ``budget_exceeded`` with ``Retry-After``).

**Across workers.** With a Redis URL, the month's spend is the counter ``SpendCounter`` keeps
(``parley:spend:key:<id>:<YYYY-MM>``, the one ``KeyRing`` reads), and the reservations a sorted
set of hold ids by expiry plus a hash of their estimates; one Lua script checks and reserves
atomically, another releases and counts. A hold expires after ``hold_ttl_s`` (a crashed
worker's holds vanish). Without Redis, the guard counts in this process only.
"""
from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass, field
from typing import Callable

from core.errors import BudgetExceededError

__all__ = ["KeyBudgetGuard", "KeyHold", "KeyBudgetExceededError", "IN_FLIGHT_RETRY_S"]

IN_FLIGHT_RETRY_S = 5.0  # a refused call's wait while the key's other calls finish
_SPEND_TTL_S = 40 * 86400  # as SpendCounter's


class KeyBudgetExceededError(BudgetExceededError):
    """A key's budget is spent, or reserved by its calls in flight; ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class KeyHold:
    """What a call reserved of its key's budget; hand it back to ``KeyBudgetGuard.settle``."""

    key_id: str
    month: str  # YYYY-MM (UTC) the hold and its cost count in
    estimate: float
    hold_id: str = field(default_factory=lambda: uuid.uuid4().hex)


class KeyBudgetGuard:
    """Reserves and settles keys' budgets: in this process (``redis_url`` None) or shared by
    every worker on ``redis_url``. ``now`` gives the UTC time (the month, holds' expiry)."""

    def __init__(self, redis_url: str | None = None, *, hold_ttl_s: float = 900.0,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)):
        self._now = now
        self._holds = _RedisHolds(redis_url, hold_ttl_s) if redis_url else _LocalHolds()

    @property
    def backend(self) -> str:
        return self._holds.backend

    def reserve(self, key, estimate: float) -> KeyHold | None:
        """Before a call on ``key`` (a ``core.keys.ApiKey``): hold ``estimate`` USD of its
        monthly budget until ``settle``, or raise ``KeyBudgetExceededError`` (nothing held).
        ``key.month_spend`` (the store's figure) is a floor for the month's spend. None when
        the key has no budget."""
        if key.monthly_budget is None:
            return None
        now = self._now()
        hold = KeyHold(key.id, now.strftime("%Y-%m"), max(0.0, float(estimate)))
        verdict, spent = self._holds.reserve(hold, float(key.month_spend), float(key.monthly_budget),
                                             now.timestamp())
        if verdict == "spent":
            raise KeyBudgetExceededError(
                f"API key {key.prefix} has spent {_usd(spent)} of its {_usd(key.monthly_budget)} "
                "monthly budget, so calls are refused until next month unless its budget is raised.",
                _seconds_to_next_month(now))
        if verdict == "reserved":
            raise KeyBudgetExceededError(
                f"API key {key.prefix}'s calls in progress may use the rest of its "
                f"{_usd(key.monthly_budget)} monthly budget ({_usd(spent)} spent), so wait for "
                "them to finish and try again.", IN_FLIGHT_RETRY_S)
        return hold

    def settle(self, hold: KeyHold | None, cost: float | None) -> None:
        """After the call (answered, failed or abandoned): release ``hold`` and count ``cost``
        in the key's month (None: an unknown price, which budgets do not count; an abandoned
        stream should pass its estimate). Settling a hold that expired still counts the cost."""
        if hold is not None:
            self._holds.settle(hold, max(0.0, cost or 0.0))


@dataclass
class _Ledger:
    spent: float = 0.0  # the most this process knows the key spent this month
    holds: dict[str, float] = field(default_factory=dict)  # hold id -> estimate


class _LocalHolds:
    """One process's ledgers, by (key id, month). Thread-safe."""

    backend = "local"

    def __init__(self):
        self._lock = threading.Lock()
        self._ledgers: dict[tuple[str, str], _Ledger] = {}

    def reserve(self, hold: KeyHold, known: float, budget: float, now_s: float) -> tuple[str, float]:
        with self._lock:
            ledger = self._ledgers.setdefault((hold.key_id, hold.month), _Ledger())
            ledger.spent = max(ledger.spent, known)
            if ledger.spent >= budget:
                return "spent", ledger.spent
            if ledger.holds and ledger.spent + sum(ledger.holds.values()) + hold.estimate > budget:
                return "reserved", ledger.spent
            ledger.holds[hold.hold_id] = hold.estimate
            return "held", ledger.spent

    def settle(self, hold: KeyHold, cost: float) -> None:
        with self._lock:
            ledger = self._ledgers.setdefault((hold.key_id, hold.month), _Ledger())
            ledger.holds.pop(hold.hold_id, None)
            ledger.spent += cost


# KEYS: spend counter, holds (sorted set: id -> expiry ms), estimates (hash: id -> USD).
# ARGV: now ms, hold ttl ms, known spend, budget, estimate, hold id, spend ttl s.
# Returns {0 held | 1 spent | 2 reserved, spent as a string}.
_RESERVE = """
local now = tonumber(ARGV[1])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('HDEL', KEYS[3], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local known = tonumber(ARGV[3])
local counted = redis.call('GET', KEYS[1])
if not counted then
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[7])
  counted = known
end
local spent = math.max(tonumber(counted), known)
local budget = tonumber(ARGV[4])
if spent >= budget then return {1, tostring(spent)} end
local reserved = 0
for _, v in ipairs(redis.call('HVALS', KEYS[3])) do reserved = reserved + tonumber(v) end
if redis.call('ZCARD', KEYS[2]) > 0 and spent + reserved + tonumber(ARGV[5]) > budget then
  return {2, tostring(spent)}
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[6])
redis.call('HSET', KEYS[3], ARGV[6], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return {0, tostring(spent)}
"""

# KEYS as above; ARGV: hold id, cost, spend ttl s.
_SETTLE = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if tonumber(ARGV[2]) > 0 then
  redis.call('INCRBYFLOAT', KEYS[1], ARGV[2])
  if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
end
return 0
"""

_VERDICTS = {0: "held", 1: "spent", 2: "reserved"}


class _RedisHolds:
    """Every worker's ledgers in one Redis; each step is one atomic script."""

    backend = "redis"

    def __init__(self, url: str, hold_ttl_s: float):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._reserve = self._redis.register_script(_RESERVE)
        self._settle = self._redis.register_script(_SETTLE)
        self._ttl_ms = max(1, int(hold_ttl_s * 1000))

    @staticmethod
    def _keys(hold: KeyHold) -> list[str]:
        holds = f"parley:keyholds:{hold.key_id}:{hold.month}"
        return [f"parley:spend:key:{hold.key_id}:{hold.month}", holds, f"{holds}:estimates"]

    def reserve(self, hold: KeyHold, known: float, budget: float, now_s: float) -> tuple[str, float]:
        code, spent = self._reserve(keys=self._keys(hold), args=[
            int(now_s * 1000), self._ttl_ms, repr(known), repr(budget), repr(hold.estimate),
            hold.hold_id, _SPEND_TTL_S])
        return _VERDICTS[int(code)], float(spent)

    def settle(self, hold: KeyHold, cost: float) -> None:
        self._settle(keys=self._keys(hold), args=[hold.hold_id, repr(cost), _SPEND_TTL_S])


def _usd(amount: float) -> str:
    """Dollars to the cent, or to the significant digit for amounts under a cent ($0.001)."""
    if amount == 0 or abs(amount) >= 0.01:
        return f"${amount:,.2f}"
    return "$" + f"{amount:.6f}".rstrip("0")


def _seconds_to_next_month(now: dt.datetime) -> float:
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return (following - now).total_seconds()
