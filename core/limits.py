"""Calls started per minute, per name (an API key, a user), and spend per month: in this
process, or shared by every worker and replica through Redis (``PARLEY_REDIS_URL``).

``limiter.acquire(name, per_minute)`` counts one call or raises ``UserRateLimitError`` with
the seconds to wait (nothing counted). The local limiter is a sliding window per name; the
Redis one is a sliding window in a sorted set per name, checked and added in one Lua script,
so N workers together admit ``per_minute`` calls, not N times as many.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque
from typing import Callable

from core.errors import UserRateLimitError

__all__ = ["LocalLimiter", "RedisLimiter", "CallRateLimitError", "limiter_for", "UserLimiter",
           "SpendCounter"]

WINDOW_SECONDS = 60.0

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
    """This process's count. Thread-safe."""

    backend = "local"

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._starts: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def acquire(self, name: str, per_minute: int) -> None:
        now = self._clock()
        with self._lock:
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
