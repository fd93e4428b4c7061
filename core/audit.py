"""The audit log: who changed what, when, with the value before and after.

``record_change(store, actor, action, target, before, after)`` appends one entry through the
store's ``append_audit`` (``core/store/ledgers.py``); the table refuses updates and deletes.
Actions are dotted names, so a prefix filters a family (``keys.``):

    keys.create  keys.revoke  keys.limits       budgets.set
    preferences.set_for_everyone                templates.version
    admins.sync  prices.set  prices.seed        reconcile.import

A store whose schema has no audit log yet raises ``StoreUnavailableError`` like any other
missing table. A store class with no audit log at all (test fakes) is logged as such at
warning level, once per action, and the change goes ahead unrecorded.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

log = logging.getLogger("parley.audit")

__all__ = ["record_change", "record_if_changed", "last_recorded", "audit_entries", "ACTIONS"]

ACTIONS = ("keys.create", "keys.revoke", "keys.limits", "budgets.set",
           "preferences.set_for_everyone", "templates.version", "admins.sync", "prices.set",
           "prices.seed", "reconcile.import")


def record_change(store, actor: str | None, action: str, target: str = "",
                  before: Any = None, after: Any = None) -> int:
    """Append one entry; ``actor`` None is the system itself (``system``). Returns its id
    (None when the store keeps no audit log)."""
    append = getattr(store, "append_audit", None)
    if append is None:
        log.warning("the %s store keeps no audit log; %s of %r is not recorded",
                    getattr(store, "backend", "configured"), action, target)
        return None
    return append(actor or "system", action, target, before, after)


def record_if_changed(store, actor: str | None, action: str, target: str, before: Any,
                      after: Any) -> int | None:
    """``record_change`` when ``before`` differs from ``after`` (a sync that changed nothing
    leaves no entry, nor does a first sync of nothing)."""
    if before == after or (before is None and not after):
        return None
    return record_change(store, actor, action, target, before, after)


def last_recorded(store, action: str, target: str = "") -> Any:
    """The ``after`` of the newest ``action`` entry on ``target`` (None: none yet)."""
    if getattr(store, "audit_entries", None) is None:
        return None
    for entry in store.audit_entries(action=action, limit=200):
        if entry["action"] == action and entry["target"] == target:
            return entry["after"]
    return None


def audit_entries(store, *, since: dt.date | str | None = None, action: str | None = None,
                  actor: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Entries newest first, from ``since`` on, of one action family or one actor."""
    since_text = since.isoformat() if isinstance(since, dt.date) else since
    return store.audit_entries(since=since_text, action=action, actor=actor, limit=limit)
