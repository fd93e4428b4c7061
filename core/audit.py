"""The audit log: who changed what, when, with the value before and after.

``record_change(store, actor, action, target, before, after)`` appends one entry through the
store's ``append_audit`` (``core/store/ledgers.py``); the table refuses updates and deletes.
Actions are dotted names, so a prefix filters a family (``keys.``):

    keys.create  keys.revoke  keys.limits       budgets.set
    preferences.set_for_everyone                templates.version
    admins.sync  prices.set  prices.seed        reconcile.import

A store without an audit log (an older schema, Supabase before its migration) raises
``StoreUnavailableError`` like any other missing table: an admin action is not silently
left out of the log.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["record_change", "audit_entries", "ACTIONS"]

ACTIONS = ("keys.create", "keys.revoke", "keys.limits", "budgets.set",
           "preferences.set_for_everyone", "templates.version", "admins.sync", "prices.set",
           "prices.seed", "reconcile.import")


def record_change(store, actor: str | None, action: str, target: str = "",
                  before: Any = None, after: Any = None) -> int:
    """Append one entry; ``actor`` None is the system itself (``system``). Returns its id."""
    return store.append_audit(actor or "system", action, target, before, after)


def audit_entries(store, *, since: dt.date | str | None = None, action: str | None = None,
                  actor: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Entries newest first, from ``since`` on, of one action family or one actor."""
    since_text = since.isoformat() if isinstance(since, dt.date) else since
    return store.audit_entries(since=since_text, action=action, actor=actor, limit=limit)
