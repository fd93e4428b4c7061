"""The engines of one local model, shared by the whole process: an engine serves one answer at
a time, so each concurrent answer takes an idle one, or has a new one loaded while fewer than
the limit exist, or waits for one to be given back. ``warm(n)`` loads engines before they are
asked for. The pool does not know what an engine is: ``core.llm.local.engine`` hands it the
function that loads one (the only place llama.cpp is touched).
"""
from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

__all__ = ["EnginePool"]

E = TypeVar("E")
_build_lock = threading.Lock()  # llama.cpp's model loading is not safe in two threads at once


class EnginePool(Generic[E]):
    """``take()`` returns an idle engine, loads a new one (``load()``) while fewer than
    ``limit`` exist, else waits for one to be given ``back()``."""

    def __init__(self, load: Callable[[], E], limit: int):
        self.load, self.limit = load, limit
        self.engines: list[E] = []
        self.idle: list[E] = []
        self.loading = 0
        self.changed = threading.Condition()

    def first(self) -> E:
        """Any loaded engine (for tokenizing, which does not touch a context's state)."""
        with self.changed:
            if self.engines:
                return self.engines[0]
        engine = self.take()
        self.back(engine)
        return engine

    def take(self) -> E:
        with self.changed:
            while not self.idle and len(self.engines) + self.loading >= self.limit:
                self.changed.wait()
            if self.idle:
                return self.idle.pop()
            self.loading += 1
        return self._load_one()

    def back(self, engine: E) -> None:
        with self.changed:
            self.idle.append(engine)
            self.changed.notify_all()

    def short_of(self, count: int) -> int:
        """How many engines to load so that ``count`` (at most ``limit``) exist."""
        with self.changed:
            return max(0, min(count, self.limit) - len(self.engines) - self.loading)

    def warm(self, count: int) -> None:
        """Load engines, one at a time, until ``count`` (at most ``limit``) exist; each is idle
        at once, so a call that arrives meanwhile takes the first one ready."""
        while True:
            with self.changed:
                if len(self.engines) + self.loading >= min(count, self.limit):
                    return
                self.loading += 1
            self.back(self._load_one())

    def _load_one(self) -> E:
        """A new engine, counted in ``loading`` (by the caller) until it is in ``engines``;
        a failed load wakes the callers waiting at the limit, who may load their own."""
        try:
            with _build_lock:
                engine = self.load()
        except BaseException:
            with self.changed:
                self.loading -= 1
                self.changed.notify_all()
            raise
        with self.changed:
            self.loading -= 1
            self.engines.append(engine)
        return engine
