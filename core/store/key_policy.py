"""The key policy: what a key may carry when a user who is not an admin makes it for
themselves (``parley.key_policy``). Admins, and trusted callers (the CLI), are unrestricted.

The policy lives in the database table ``parley_key_policy`` (one row ``*`` for everyone, one
per user with their own caps), so the SQL function ``parley_create_key`` enforces the same
caps as ``core.keys.KeyRing.create``; ``policy_rows`` turns the configuration into those rows
and the stores' ``sync_key_policy`` writes them, as ``parley.admins`` is copied.

A default install (no ``parley.key_policy``) has ``DEFAULT_POLICY``: a non-admin's key needs a
monthly budget of at most $10, a rate limit of at most 60 calls a minute and an expiry within
90 days; it may use any model; a user has at most 5 active keys. A field set to ``null`` lifts
that cap.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from core.errors import BadRequestError

__all__ = ["DEFAULT_POLICY", "POLICY_FIELDS", "EVERYONE", "policy_rows", "check_new_key"]

EVERYONE = "*"
DEFAULT_POLICY: dict[str, Any] = {"monthly_budget": 10.0, "models": None,
                                  "rate_limit_per_minute": 60, "expiry_days": 90, "max_keys": 5}
POLICY_FIELDS = tuple(DEFAULT_POLICY)
_ASK = "ask an admin if you need more"


def policy_rows(section: dict[str, Any] | None) -> list[dict[str, Any]]:
    """``parley.key_policy`` (as ``Settings.key_policy`` holds it) -> the rows of
    ``parley_key_policy``: ``*`` (``DEFAULT_POLICY`` under what is set) and one per user in
    ``users`` (their fields over everyone's). User ids are trimmed and lower-cased."""
    section = dict(section or {})
    users = section.pop("users", None) or {}
    everyone = {**DEFAULT_POLICY, **{k: v for k, v in section.items() if k in POLICY_FIELDS}}
    rows = [{"user_id": EVERYONE, **everyone}]
    for user, own in sorted(users.items()):
        mine = {k: v for k, v in (own or {}).items() if k in POLICY_FIELDS}
        rows.append({"user_id": user.strip().lower(), **everyone, **mine})
    return rows


def check_new_key(limits: dict[str, Any] | None, *, models: list[str] | None,
                  budget: float | None, rate_limit: int | None,
                  expires_at: dt.datetime | None, now: dt.datetime) -> None:
    """Refuse (``BadRequestError``, one sentence) a key beyond ``limits``: the caps of the user
    making it, with ``active_keys`` (their keys neither revoked nor expired); None: no caps."""
    if limits is None:
        return
    most = limits.get("max_keys")
    if most is not None and int(limits.get("active_keys") or 0) >= most:
        raise BadRequestError(f"You may have at most {most} active keys; revoke one before "
                              "making another.")
    cap = limits.get("monthly_budget")
    if cap is not None and (budget is None or budget > float(cap)):
        raise BadRequestError(f"A key you make needs a monthly budget of at most "
                              f"${float(cap):,.2f}; {_ASK}.")
    cap = limits.get("rate_limit_per_minute")
    if cap is not None and (rate_limit is None or rate_limit > cap):
        raise BadRequestError(f"A key you make needs a rate limit of at most {cap} calls a "
                              f"minute; {_ASK}.")
    days = limits.get("expiry_days")
    if days is not None and (expires_at is None or expires_at > now + dt.timedelta(days=days + 1)):
        raise BadRequestError(f"A key you make must expire within {days} days; {_ASK}.")
    allowed = limits.get("models")
    if allowed is not None and (models is None or not set(models) <= set(allowed)):
        raise BadRequestError(f"A key you make may use only {', '.join(allowed)}; choose "
                              f"among them, or {_ASK}.")
