"""Users' model choices: read, validated and saved under the user's own identity.

A user has a default model and optional overrides per service type (``parley.service_types``).
Every read and write goes through the store with ``as_user`` = the user, so the row-level rule
holds (users read and write only their own). ``save`` validates before it writes: a model that
is not configured, an unknown service type or an empty user raises ``BadRequestError`` (its
subclass ``UnknownModelError`` for the model) and nothing changes. ``clear`` removes a stored
choice so calls fall back to the next level (override -> default -> ``parley.default_model``);
it is validated the same way (an empty user or unknown service type changes nothing).
"""
from __future__ import annotations

import re
from typing import Any

from core.catalog import Catalog
from core.config import Settings
from core.errors import BadRequestError
from core.routing import choose_model
from core.store.base import Store

__all__ = ["check", "check_user", "check_service", "save", "clear", "stored", "resolved",
           "EVERYONE", "with_everyone", "for_everyone"]

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
    configured, that is not a plain name). None, meaning the user's default, is fine."""
    if service_type is None:
        return
    known = settings.service_types
    if known and service_type not in known:
        raise BadRequestError(f"Service type {service_type!r} is not configured; choose one of: "
                              f"{', '.join(known)} (parley.service_types).")
    if not _SERVICE_NAME.match(service_type):
        raise BadRequestError(f"Service type {service_type!r} is not a name; use letters, "
                              "digits, '_', '-' or '.'.")


def save(store: Store, catalog: Catalog, user: str, model: str,
         service_type: str | None = None) -> None:
    """Validate, then store ``user``'s choice as that user (``service_type`` None = default)."""
    check(catalog, user, model, service_type)
    store.set_preference(user, model, service_type, as_user=user)


def clear(store: Store, settings: Settings, user: str, service_type: str | None = None) -> bool:
    """Validate, then remove ``user``'s override for ``service_type`` (None = their default)
    as that user. True if a stored choice was removed, False if there was none."""
    check_user(user)
    check_service(settings, service_type)
    return store.clear_preference(user, service_type, as_user=user)


def stored(store: Store, user: str) -> dict[str | None, str]:
    """What ``user`` has stored: service type (None = default) -> model, read as that user."""
    return store.get_preferences(user, as_user=user)


def for_everyone(store: Store) -> dict[str, str]:
    """The service-type overrides an admin set for every user (an eval's decision)."""
    return {k: v for k, v in store.get_preferences(EVERYONE).items() if k is not None}


def with_everyone(own: dict[str | None, str], everyone: dict[str | None, str]) -> dict[str | None, str]:
    """A user's choices merged with the overrides set for everyone: an override for everyone
    applies to a service type the user chose nothing for, above their general default."""
    return {**{k: v for k, v in everyone.items() if k is not None}, **own}


def resolved(store: Store, settings: Settings, catalog: Catalog, user: str,
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
