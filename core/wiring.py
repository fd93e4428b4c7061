"""Connect the service to its store: the recorder for calls, and a preference book.

Both talk to the store named by ``settings.database_url`` (``PARLEY_DATABASE_URL``). The
recorder opens its own store on its shipping thread; reads and preference writes share one
store opened on first use, so building a service connects to nothing.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Mapping

from core.config import Settings
from core.preferences import EVERYONE, with_everyone
from core.recorder import Recorder, spool_dir_for
from core.store import open_store

__all__ = ["open_recorder", "PreferenceBook"]


def open_recorder(settings: Settings, env: Mapping[str, str] | None = None) -> Recorder:
    """A recorder shipping to the configured store, spooling under ``settings.data_dir``."""
    env = os.environ if env is None else env
    return Recorder(lambda: open_store(settings.database_url, data_dir=settings.data_dir, env=env),
                    spool_dir_for(settings.data_dir, settings.database_url),
                    privacy=settings.privacy, secrets=settings.secrets())


class PreferenceBook:
    """Users' stored model choices, read through a short per-user cache (a call that names no
    model reads them on the request path); this process's own writes show at once."""

    TTL_SECONDS = 5.0

    def __init__(self, settings: Settings, env: Mapping[str, str] | None = None):
        self._settings, self._env = settings, os.environ if env is None else env
        self._store = None
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict]] = {}

    @property
    def store(self):
        with self._lock:
            if self._store is None:
                self._store = open_store(self._settings.database_url,
                                         data_dir=self._settings.data_dir, env=self._env)
            return self._store

    def __call__(self, user_id: str) -> dict[str | None, str]:
        cached = self._cache.get(user_id)
        if cached and time.monotonic() - cached[0] < self.TTL_SECONDS:
            return cached[1]
        stored = self.store.get_preferences(user_id)
        if user_id != EVERYONE:  # an admin's override for everyone (an eval decision)
            stored = with_everyone(stored, self.store.get_preferences(EVERYONE))
        self._cache[user_id] = (time.monotonic(), stored)
        return stored

    def set(self, user_id: str, model: str, service_type: str | None = None) -> None:
        self.store.set_preference(user_id, model, service_type)
        self._cache.pop(user_id, None)

    def forget(self, user_id: str) -> None:
        """Drop ``user_id``'s cached choices (after they were written some other way);
        ``EVERYONE``'s choices are in every user's, so forgetting them drops all."""
        if user_id == EVERYONE:
            self._cache.clear()
        self._cache.pop(user_id, None)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
