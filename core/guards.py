"""What may stop a call before it is sent: the per-user rate limit and hard monthly budgets.

**Rate limit.** At most N calls started by one user in any 60-second window; N is
``parley.rate_limit_per_minute`` (unset: no limit). ``AIService`` takes a slot for every call
once its arguments are valid and its model is chosen, before anything is sent; a refused call
raises ``UserRateLimitError`` (how long to wait, in one sentence), costs nothing and is not
recorded. A comparison counts each column as a call, since each one is a provider call that
costs money. Fallback attempts within a call are not counted again. ``CallLimiter`` counts in
this process only; ``UserLimiter`` on a ``RedisLimiter`` counts for every worker and replica
sharing ``PARLEY_REDIS_URL`` (``AIService.from_env`` picks it when that is set).

**Names' limits and spend across workers.** ``LocalLimiter``/``RedisLimiter``:
``acquire(name, per_minute)`` per name (``key:<prefix>``, ``user:<id>``); the Redis one is a
sliding window in a sorted set per name, checked and added in one Lua script, so N workers
together admit ``per_minute`` calls, not N times as many. ``SpendCounter`` keeps a name's
month-to-date spend in Redis, so a budget spent on one worker is refused by all at once.

**Budgets.** ``parley.budgets`` (USD per user per calendar month, UTC)::

    parley:
      budgets:
        default: 50            # omit for no default
        users: {alice@example.com: 100, bob@example.com: 0}
        hard: false            # true: refuse a user's calls once their budget is spent

Spend is read from the ``usage_daily`` rollup (known prices only; demo rows never count
against a budget). The console's spend-vs-budget report is ``core.console.budgets``.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from core.errors import BudgetExceededError, ConfigError, UserRateLimitError
from core.store import open_store
from core.store.base import UsageReader
from core.store.rollups import RollupQuery

__all__ = ["CallLimiter", "WINDOW_SECONDS", "TEAM_RATE_LIMIT_PER_MINUTE", "Budgets", "BudgetGuard",
           "Hold", "guard_for", "month_query", "LocalLimiter", "RedisLimiter", "CallRateLimitError",
           "limiter_for", "user_limiter", "UserLimiter", "SpendCounter"]

WINDOW_SECONDS = 60.0
TEAM_RATE_LIMIT_PER_MINUTE = 30  # team mode's limit per user when parley.rate_limit_per_minute is unset
_SOURCE = "parley.budgets"


class CallLimiter:
    """A sliding window per user; ``per_minute=None`` means no limit. Thread-safe. A user with
    no call in the last window is forgotten (swept once per window), so memory follows the
    users active in the last minute, not every user ever seen."""

    def __init__(self, per_minute: int | None, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self._clock = clock
        self._starts: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._next_sweep = clock() + WINDOW_SECONDS

    @property
    def tracked_users(self) -> int:
        """How many users the limiter holds call times for."""
        return len(self._starts)

    def acquire(self, user: str) -> None:
        """Count one call for ``user``, or raise ``UserRateLimitError`` (nothing counted)."""
        if self.per_minute is None:
            return
        now = self._clock()
        with self._lock:
            if now >= self._next_sweep:
                self._forget_idle(now)
            starts = self._starts[user]
            while starts and now - starts[0] >= WINDOW_SECONDS:
                starts.popleft()
            if len(starts) >= self.per_minute:
                raise UserRateLimitError(user, self.per_minute, WINDOW_SECONDS - (now - starts[0]))
            starts.append(now)

    def _forget_idle(self, now: float) -> None:
        idle = [user for user, starts in self._starts.items()
                if not starts or now - starts[-1] >= WINDOW_SECONDS]
        for user in idle:
            del self._starts[user]
        self._next_sweep = now + WINDOW_SECONDS


@dataclass(frozen=True)
class Budgets:
    """USD per user per month: ``users`` by user id, else ``default`` (None = no budget)."""

    default: float | None = None
    users: Mapping[str, float] = field(default_factory=dict)
    hard: bool = False

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None, source: str = "configuration") -> "Budgets":
        """Parse ``parley.budgets``; a wrong shape raises ``ConfigError`` naming the key."""
        raw = dict(raw or {})
        unknown = sorted(set(raw) - {"default", "users", "hard"})
        if unknown:
            raise ConfigError(f"has unknown key(s) {unknown}; use default, users and hard",
                              source=source, key=_SOURCE)
        users = raw.get("users") or {}
        if not isinstance(users, Mapping):
            raise ConfigError("must map user ids to monthly USD amounts", source=source,
                              key=f"{_SOURCE}.users")
        hard = raw.get("hard", False)
        if not isinstance(hard, bool):
            raise ConfigError("must be true or false", source=source, key=f"{_SOURCE}.hard")
        default = raw.get("default")
        return cls(default=None if default is None else _amount(default, source, "default"),
                   users={str(u).strip().lower(): _amount(v, source, f"users.{u}")
                          for u, v in users.items()},
                   hard=hard)

    @classmethod
    def from_settings(cls, settings) -> "Budgets":
        return cls.from_config(settings.budgets, settings.source)

    def for_user(self, user_id: str) -> float | None:
        """The user's monthly budget; user ids compare lower-cased (Bob@x.com is bob@x.com)."""
        return self.users.get(user_id.strip().lower(), self.default)

    @property
    def any(self) -> bool:
        return self.default is not None or bool(self.users)


def _amount(value: Any, source: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"must be a number of US dollars, 0 or more, not {value!r}",
                          source=source, key=f"{_SOURCE}.{key}")
    return float(value)


def month_query(today: dt.date, users: tuple[str, ...] | None, demo: bool | None) -> RollupQuery:
    return RollupQuery(by=("user",), since=today.replace(day=1), until=today, users=users, demo=demo)


@dataclass
class _Ledger:
    """One user's spend as this process knows it beyond the store's last read."""

    base: float = 0.0        # spend at the last read (never less than what was known before it)
    read_at: float | None = None  # time.monotonic() of that read; None: never read
    local: float = 0.0       # cost of calls finished here since that read
    reserved: float = 0.0    # the most the calls in flight may still cost
    in_flight: int = 0


@dataclass(frozen=True)
class Hold:
    """What a call reserved of its user's budget; hand it back to ``BudgetGuard.settle``."""

    user: str
    estimate: float


class BudgetGuard:
    """Refuses a user's calls once their hard monthly budget is spent, and holds concurrent
    calls to it.

    Spend is read from the rollups through ``store_opener`` (opened on first use) at most every
    ``ttl_s`` seconds per user; between reads, calls finished in this process are added as they
    end (a read never lowers what was already known, so a call the recorder has not shipped
    yet still counts). Each call ``reserve``s the most it should cost; a call is refused when
    the budget is spent, or when the calls in flight have reserved the rest. A call with none
    in flight is let through while any budget is left, so a burst of concurrent calls overshoots
    a budget by at most one call per process (other processes' unshipped calls are seen at the
    next read)."""

    def __init__(self, budgets: Budgets, store_opener: Callable[[], UsageReader], *, ttl_s: float = 10.0,
                 today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.timezone.utc).date()):
        self.budgets, self._opener, self._ttl, self._today = budgets, store_opener, ttl_s, today
        self._store: UsageReader | None = None
        self._lock = threading.Lock()
        self._ledgers: dict[str, _Ledger] = defaultdict(_Ledger)

    def applies(self, user_id: str) -> bool:
        """Whether ``user_id`` has a hard budget (so their calls are reserved and counted)."""
        return self.budgets.hard and self.budgets.for_user(user_id) is not None

    def _spent(self, user_id: str) -> float:
        ledger = self._ledgers[user_id]
        if ledger.read_at is not None and time.monotonic() - ledger.read_at < self._ttl:
            return ledger.base + ledger.local
        with self._lock:
            if self._store is None:
                self._store = self._opener()
        rows = self._store.usage_rollup(month_query(self._today(), (user_id,), False))
        read = sum(row["cost"] for row in rows)
        with self._lock:
            known = ledger.base + ledger.local if ledger.read_at is not None else 0.0
            ledger.base, ledger.local, ledger.read_at = max(read, known), 0.0, time.monotonic()
            return ledger.base

    def reserve(self, user_id: str, estimate: float = 0.0) -> Hold | None:
        """Before a call: raise ``BudgetExceededError`` (nothing held) when ``user_id``'s hard
        budget is spent or reserved by their calls in flight; else hold ``estimate`` (USD, the
        most the call should cost) until ``settle``. None when no hard budget applies."""
        if not self.applies(user_id):
            return None
        budget = self.budgets.for_user(user_id)
        self._spent(user_id)
        with self._lock:
            ledger = self._ledgers[user_id]
            spent = ledger.base + ledger.local
            if spent >= budget:
                raise BudgetExceededError(
                    f"{user_id} has spent ${spent:,.2f} of a ${budget:,.2f} monthly budget; calls "
                    "are refused until next month unless an admin raises it in parley.budgets.")
            if ledger.in_flight and spent + ledger.reserved + estimate > budget:
                raise BudgetExceededError(
                    f"{user_id}'s calls in progress may use the rest of a ${budget:,.2f} monthly "
                    f"budget (${spent:,.2f} spent); wait for them to finish, then try again.")
            ledger.in_flight += 1
            ledger.reserved += estimate
        return Hold(user_id, estimate)

    def settle(self, hold: Hold | None, cost: float | None) -> None:
        """After a call (answered, failed or abandoned): release its hold and count ``cost``
        (None: an unknown price, which budgets do not count)."""
        if hold is None:
            return
        with self._lock:
            ledger = self._ledgers[hold.user]
            ledger.in_flight -= 1
            ledger.reserved -= hold.estimate
            ledger.local += cost or 0.0

    def check(self, user_id: str) -> None:
        """Raise ``BudgetExceededError`` when budgets are hard and ``user_id``'s is spent."""
        self.settle(self.reserve(user_id), 0.0)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def guard_for(settings, env: Mapping[str, str] | None = None, *,
              store_opener: Callable[[], UsageReader] | None = None) -> BudgetGuard | None:
    """The guard for ``settings`` when ``parley.budgets.hard`` is on, else None; it reads spend
    from the store ``store_opener`` opens (default: the configured one). A wrong
    ``parley.budgets`` raises ``ConfigError`` here, when the service is built."""
    budgets = Budgets.from_settings(settings)
    if not budgets.hard or not budgets.any:
        return None
    return BudgetGuard(budgets, store_opener or (lambda: open_store(
        settings.database_url, data_dir=settings.data_dir, env=env)))


# KEYS[1]: the name's sorted set; ARGV: now (ms), window (ms), limit, member.
# Returns 0 when admitted, else the milliseconds until the oldest call leaves the window.
_SLIDING_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + tonumber(ARGV[2]) - tonumber(ARGV[1]))
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0
"""


class CallRateLimitError(UserRateLimitError):
    """``name`` (``key:<prefix>`` or ``user:<id>``) started ``limit`` calls this minute."""

    def __init__(self, name: str, limit: int, retry_after: float):
        super().__init__(name, limit, retry_after)
        kind, _, who = name.partition(":")
        wait = max(1, round(retry_after))
        what = f"API key {who}" if kind == "key" else who
        self.message = (f"{what} has started {limit} call{'s' if limit != 1 else ''} in the last "
                        f"minute, its limit; try again in {wait} second{'s' if wait != 1 else ''}.")
        self.args = (self.message,)


def _refuse(name: str, limit: int, wait_s: float) -> UserRateLimitError:
    return CallRateLimitError(name, limit, wait_s)


class LocalLimiter:
    """This process's count. Thread-safe. A name (a key or a user) with no call in the last
    window is forgotten (swept once per window), so memory follows the active names."""

    backend = "local"

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._starts: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._swept = clock()

    def __len__(self) -> int:
        return len(self._starts)

    def acquire(self, name: str, per_minute: int) -> None:
        now = self._clock()
        with self._lock:
            if now - self._swept >= WINDOW_SECONDS:
                self._swept = now
                for idle in [n for n, s in self._starts.items() if not s or now - s[-1] >= WINDOW_SECONDS]:
                    del self._starts[idle]
            starts = self._starts[name]
            while starts and now - starts[0] >= WINDOW_SECONDS:
                starts.popleft()
            if len(starts) >= per_minute:
                raise _refuse(name, per_minute, WINDOW_SECONDS - (now - starts[0]))
            starts.append(now)


class RedisLimiter:
    """One count for every process using the same Redis (keys ``parley:rate:<name>``)."""

    backend = "redis"

    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._redis.register_script(_SLIDING_WINDOW)

    def acquire(self, name: str, per_minute: int) -> None:
        now_ms = int(time.time() * 1000)
        wait_ms = int(self._script(keys=[f"parley:rate:{name}"],
                                   args=[now_ms, int(WINDOW_SECONDS * 1000), per_minute,
                                         f"{now_ms}-{uuid.uuid4().hex}"]))
        if wait_ms:
            raise _refuse(name, per_minute, wait_ms / 1000)


def limiter_for(redis_url: str | None):
    """The Redis limiter when ``redis_url`` is set, else a local one."""
    return RedisLimiter(redis_url) if redis_url else LocalLimiter()


def user_limiter(settings, team: bool = False):
    """Each user's calls per minute: ``parley.rate_limit_per_minute`` (in team mode
    ``TEAM_RATE_LIMIT_PER_MINUTE`` when unset), one count for every worker through Redis."""
    per_minute = settings.rate_limit_per_minute
    if team and not per_minute:
        per_minute = TEAM_RATE_LIMIT_PER_MINUTE
    if settings.redis_url:
        return UserLimiter(per_minute, RedisLimiter(settings.redis_url))
    return CallLimiter(per_minute)


class UserLimiter:
    """``AIService``'s per-user limit (``parley.rate_limit_per_minute``) on a limiter above:
    ``acquire(user)``; ``per_minute=None`` admits everything."""

    def __init__(self, per_minute: int | None, limiter):
        self.per_minute, self._limiter = per_minute, limiter

    def acquire(self, user: str) -> None:
        if self.per_minute is not None:
            self._limiter.acquire(f"user:{user}", self.per_minute)


class SpendCounter:
    """Month-to-date spend per name shared through Redis (``parley:spend:<name>:<YYYY-MM>``),
    so every worker sees every worker's calls at once, not when the store catches up.

    ``current(name, month, stored)`` seeds the counter from the store's figure the first time
    and returns the larger of the two; ``add`` counts a call's cost."""

    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def current(self, name: str, month: str, stored: float) -> float:
        key = f"parley:spend:{name}:{month}"
        if self._redis.set(key, repr(float(stored)), nx=True, ex=40 * 86400):
            return float(stored)
        return max(float(self._redis.get(key) or 0), float(stored))

    def add(self, name: str, month: str, cost: float) -> None:
        if cost:
            self._redis.incrbyfloat(f"parley:spend:{name}:{month}", cost)
