"""The API keys a ``KeyRing`` has read, by the SHA-256 of their secret: at most ``max_keys``
found keys (least recently used leave first) and, apart from them, at most ``max_unknown``
tokens no key matched, so random tokens neither grow memory nor push real keys out."""
from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from typing import Any, Callable

__all__ = ["KeyCache"]


class KeyCache:
    """Digest -> (time read, key or None when no key matched), in two LRU maps so unknown
    tokens never push found keys out. Thread-safe; the caller judges freshness. A key is a
    ``core.keys.ApiKey`` (any frozen dataclass with ``id`` and ``month_spend``)."""

    def __init__(self, max_keys: int, max_unknown: int, clock: Callable[[], float]):
        self._known: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._unknown: OrderedDict[str, tuple[float, None]] = OrderedDict()
        self._max_keys, self._max_unknown = max_keys, max_unknown
        self._clock, self._lock = clock, threading.Lock()

    def __len__(self) -> int:
        return len(self._known) + len(self._unknown)

    def get(self, digest: str) -> tuple[float, Any | None] | None:
        with self._lock:
            for entries in (self._known, self._unknown):
                if digest in entries:
                    entries.move_to_end(digest)
                    return entries[digest]
        return None

    def put(self, digest: str, key: Any | None) -> None:
        with self._lock:
            self._known.pop(digest, None)
            self._unknown.pop(digest, None)
            entries, limit = ((self._unknown, self._max_unknown) if key is None
                              else (self._known, self._max_keys))
            entries[digest] = (self._clock(), key)
            while len(entries) > limit:
                entries.popitem(last=False)

    def add_spend(self, key_id: str, cost: float) -> None:
        """Count ``cost`` on every cached copy of the key ``key_id``."""
        with self._lock:
            for digest, (stamp, key) in list(self._known.items()):
                if key.id == key_id:
                    self._known[digest] = (stamp, dataclasses.replace(key, month_spend=key.month_spend + cost))

    def clear(self) -> None:
        with self._lock:
            self._known.clear()
            self._unknown.clear()
