"""Users' model choices: read, validated and saved under the user's own identity.

A user has a default model and optional overrides per service type (``parley.service_types``).
Every read and write goes through the store with ``as_user`` = the user, so the row-level rule
holds (users read and write only their own). ``save`` validates before it writes: a model that
is not configured, an unknown service type or an empty user raises ``BadRequestError`` (its
subclass ``UnknownModelError`` for the model) and nothing changes. ``clear`` removes a stored
choice so calls fall back to the next level (override -> default -> ``parley.default_model``);
it is validated the same way (an empty user or unknown service type changes nothing).
``PreferenceBook`` is what a call reads them through: a short per-user cache over the store.
"""
from __future__ import annotations

import os
import re
import threading
import time
from typing import Any, Callable, Mapping

from core.catalog import Catalog
from core.config import Settings
from core.errors import BadRequestError
from core.routing import choose_model
from core.store import open_store
from core.store.base import PreferenceStore

__all__ = ["check", "check_user", "check_service", "save", "clear", "stored", "resolved",
           "PreferenceBook", "EVERYONE", "with_everyone", "for_everyone"]

EVERYONE = "*"  # the user id holding service-type overrides an admin set for every user

_SERVICE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def check(catalog: Catalog, user: str, model: str, service_type: str | None = None) -> None:
    """Raise ``BadRequestError`` unless ``model`` can be stored for ``user`` (and
    ``service_type``); see the module docstring."""
    check_user(user)
    catalog.get(model)
    check_service(catalog.settings, service_type)


def check_user(user: str) -> None:
    """Raise ``BadRequestError`` for an empty user id."""
    if not isinstance(user, str) or not user.strip():
        raise BadRequestError("Give the user whose preferences these are (--user).")


def check_service(settings: Settings, service_type: str | None) -> None:
    """Raise ``BadRequestError`` for a service type that is not configured (or, when none are
    configured, that is not a plain name). None, meaning the user's default, is fine. Without
    a config file nobody listed the service types (the pages merely offer playground and
    chat), so any plain name is one: a backend's own feature names work on a default install."""
    if service_type is None:
        return
    known = settings.service_types if settings.source != "environment" else ()
    if known and service_type not in known:
        raise BadRequestError(f"Service type {service_type!r} is not configured; choose one of: "
                              f"{', '.join(known)} (parley.service_types).")
    if not _SERVICE_NAME.match(service_type):
        raise BadRequestError(f"Service type {service_type!r} is not a name; use letters, "
                              "digits, '_', '-' or '.'.")


def save(store: PreferenceStore, catalog: Catalog, user: str, model: str,
         service_type: str | None = None) -> None:
    """Validate, then store ``user``'s choice as that user (``service_type`` None = default)."""
    check(catalog, user, model, service_type)
    store.set_preference(user, model, service_type, as_user=user)


def clear(store: PreferenceStore, settings: Settings, user: str, service_type: str | None = None) -> bool:
    """Validate, then remove ``user``'s override for ``service_type`` (None = their default)
    as that user. True if a stored choice was removed, False if there was none."""
    check_user(user)
    check_service(settings, service_type)
    return store.clear_preference(user, service_type, as_user=user)


def stored(store: PreferenceStore, user: str) -> dict[str | None, str]:
    """What ``user`` has stored: service type (None = default) -> model, read as that user."""
    return store.get_preferences(user, as_user=user)


def for_everyone(store: PreferenceStore) -> dict[str, str]:
    """The service-type overrides an admin set for every user (an eval's decision)."""
    return {k: v for k, v in store.get_preferences(EVERYONE).items() if k is not None}


def with_everyone(own: dict[str | None, str], everyone: dict[str | None, str]) -> dict[str | None, str]:
    """A user's choices merged with the overrides set for everyone: an override for everyone
    applies to a service type the user chose nothing for, above their general default."""
    return {**{k: v for k, v in everyone.items() if k is not None}, **own}


def resolved(store: PreferenceStore, settings: Settings, catalog: Catalog, user: str,
             service_type: str | None = None) -> dict[str, Any]:
    """The model a call by ``user`` for ``service_type`` naming no model gets, and why:
    ``{"user", "service", "model", "source"}`` with source = service | everyone | user |
    default (``everyone``: the override an admin set for every user)."""
    check_user(user)
    check_service(settings, service_type)
    own, team = stored(store, user), for_everyone(store)
    choice = choose_model(settings, catalog, user_id=user, service_type=service_type,
                          preferences=lambda who: with_everyone(own, team))
    source = choice.source
    if source == "service" and service_type not in own:
        source = "everyone"
    return {"user": user, "service": service_type, "model": choice.model, "source": source}


class PreferenceBook:
    """Users' stored model choices, read through a short per-user cache (a call that names no
    model reads them on the request path); this process's own writes show at once."""

    TTL_SECONDS = 5.0

    def __init__(self, settings: Settings, env: Mapping[str, str] | None = None, *,
                 store_opener: Callable[[], Any] | None = None):
        """``store_opener`` (default: the configured store) is called once, on first use."""
        env = os.environ if env is None else env
        self._opener = store_opener or (lambda: open_store(settings.database_url,
                                                           data_dir=settings.data_dir, env=env))
        self._store = None
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict]] = {}

    @property
    def store(self):
        with self._lock:
            if self._store is None:
                self._store = self._opener()
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
