"""Per-user call limit: at most N calls started by one user in any 60-second window.

N is ``parley.rate_limit_per_minute`` (unset: no limit). ``AIService`` takes a slot for every
call once its arguments are valid and its model is chosen, before anything is sent; a refused
call raises ``UserRateLimitError`` (how long to wait, in one sentence), costs nothing and is
not recorded. A comparison counts each column as a call, since each one is a provider call
that costs money: columns past the limit carry the error, the others answer. Fallback attempts
within a call are not counted again.

``CallLimiter`` counts in this process only (Streamlit serves an app from one process), which
is what a guard against runaway clicking and scripts needs; it is not a billing control.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from typing import Callable

from core.errors import UserRateLimitError

__all__ = ["CallLimiter", "WINDOW_SECONDS"]

WINDOW_SECONDS = 60.0


class CallLimiter:
    """A sliding window per user; ``per_minute=None`` means no limit. Thread-safe."""

    def __init__(self, per_minute: int | None, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self._clock = clock
        self._starts: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def acquire(self, user: str) -> None:
        """Count one call for ``user``, or raise ``UserRateLimitError`` (nothing counted)."""
        if self.per_minute is None:
            return
        now = self._clock()
        with self._lock:
            starts = self._starts[user]
            while starts and now - starts[0] >= WINDOW_SECONDS:
                starts.popleft()
            if len(starts) >= self.per_minute:
                raise UserRateLimitError(user, self.per_minute, WINDOW_SECONDS - (now - starts[0]))
            starts.append(now)
