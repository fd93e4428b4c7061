"""Who may do what: Parley's two access modes and its two roles.

- **Local mode** (nothing configured): one user at the keyboard, named ``$PARLEY_USER`` or the
  operating-system user, with admin rights.
- **Team mode** (an ``[auth]`` section in ``.streamlit/secrets.toml``): the identity provider
  signs people in; a sign-in counts only with a verified email (``email_verified``) or a
  hosted-domain claim (``hd``) listed in ``parley.allowed_domains``; the email, lower-cased once
  (``normalise_user``), is the user id everywhere (data, budgets, admin); ``parley.admins``
  lists admin emails; everyone else is a plain user.

Admins have one source, ``parley.admins``. ``sync_admins`` copies it into the database's
``parley_admins`` table (at the app's start and by ``python -m core db upgrade``), which the
SQLite store and Postgres row-level security read.

The UI reads the identity (``ui/state.py``); the rules live here so the CLI and tests share them.
"""
from __future__ import annotations

import getpass
import os
from typing import Any, Mapping

from core.audit import last_recorded, record_if_changed
from core.config import Settings

__all__ = ["LOCAL", "TEAM", "local_user", "is_admin", "normalise_user", "sync_admins",
           "sign_in_problem"]

LOCAL = "local"
TEAM = "team"


def local_user(env: Mapping[str, str] | None = None) -> str:
    """The local-mode user id: ``$PARLEY_USER``, else the OS login name, else ``local``
    (trimmed and lower-cased, like a signed-in user's)."""
    env = os.environ if env is None else env
    named = normalise_user(env.get("PARLEY_USER") or "")
    if named:
        return named
    try:
        return normalise_user(getpass.getuser()) or "local"
    except (KeyError, OSError):  # no login name for this uid (containers): a fixed name will do
        return "local"


def normalise_user(email: str) -> str:
    """The one spelling of a signed-in user id: trimmed and lower-cased."""
    return email.strip().lower()


def sign_in_problem(claims: Mapping[str, Any], allowed_domains: tuple[str, ...]) -> str | None:
    """Why these identity-provider claims cannot be a Parley user (one sentence), or None.
    The email must be verified by the provider, or belong to an allowed hosted domain (``hd``,
    which e.g. Google Workspace sets only for accounts it manages)."""
    email = str(claims.get("email") or "").strip()
    if not email:
        return ("Your sign-in did not include an email address, which Parley uses as your user "
                "id; ask the admin to request the 'email' scope from the identity provider.")
    if claims.get("email_verified") in (True, "true", "True"):
        return None
    domain = str(claims.get("hd") or "").strip().lower()
    if domain and domain in allowed_domains and email.lower().endswith("@" + domain):
        return None
    return (f"Your identity provider has not verified {email}, so Parley cannot use it as your "
            "user id; verify the address with the provider, then sign in again.")


def sync_admins(settings: Settings, store) -> int:
    """Copy ``parley.admins`` into ``store``'s ``parley_admins`` (exactly that list); returns
    how many admins the database now holds. A changed list is audited as ``admins.sync``."""
    wanted = sorted({normalise_user(a) for a in settings.admins if a and a.strip()})
    count = store.sync_admins(wanted)
    record_if_changed(store, None, "admins.sync", "parley.admins",
                      last_recorded(store, "admins.sync", "parley.admins"), wanted)
    return count


def is_admin(settings: Settings, user: str | None, *, mode: str = TEAM) -> bool:
    """True when ``user`` may see every user's data: always in local mode; in team mode only
    when their email is in ``parley.admins``. An empty or missing user is never an admin."""
    if not user:
        return False
    if mode == LOCAL:
        return True
    admins = {a.strip().lower() for a in settings.admins}
    return user.strip().lower() in admins
