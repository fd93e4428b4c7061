"""One store for every part of a process: opened on first use, closed once, by its owner.

The composition root (``core.assembly``) opens the configured store through a ``SharedStore``
and hands the same opener to the recorder, preferences, budgets, keys and alerts, so a process
holds one store (one SQLite connection, one Postgres pool) instead of one per part. Each part
may still ``close()`` what it was given, as it would its own store: the handle it holds only
lets go; the owner's ``SharedStore.close()`` closes the store itself.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

__all__ = ["SharedStore"]


class SharedStore:
    """Calling it returns the one store (opened by ``opener`` on the first call); thread-safe."""

    def __init__(self, opener: Callable[[], Any]):
        self._opener = opener
        self._store = None
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            if self._store is None:
                self._store = self._opener()
            return _Borrowed(self._store)

    @property
    def opened(self) -> bool:
        return self._store is not None

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


class _Borrowed:
    """The shared store as one part holds it: every method is the store's, but ``close``
    only lets go (the owner closes the store once, after every part has stopped)."""

    __slots__ = ("_store",)

    def __init__(self, store: Any):
        object.__setattr__(self, "_store", store)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def close(self) -> None:
        """Let go; the store stays open for the other parts."""

    @property
    def unwrapped(self) -> Any:
        """The store itself (for ``isinstance`` checks)."""
        return self._store
