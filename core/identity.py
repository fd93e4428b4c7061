"""Who may do what: Parley's two access modes and its two roles.

- **Local mode** (nothing configured): one user at the keyboard, named ``$PARLEY_USER`` or the
  operating-system user, with admin rights.
- **Team mode** (an ``[auth]`` section in ``.streamlit/secrets.toml``): the identity provider
  signs people in; their email is their user id; ``parley.admins`` lists admin emails
  (compared case-insensitively); everyone else is a plain user.

The UI reads the identity (``ui/state.py``); the rules live here so the CLI and tests share them.
"""
from __future__ import annotations

import getpass
import os
from typing import Mapping

from core.config import Settings

__all__ = ["LOCAL", "TEAM", "local_user", "is_admin"]

LOCAL = "local"
TEAM = "team"


def local_user(env: Mapping[str, str] | None = None) -> str:
    """The local-mode user id: ``$PARLEY_USER``, else the OS login name, else ``local``."""
    env = os.environ if env is None else env
    named = (env.get("PARLEY_USER") or "").strip()
    if named:
        return named
    try:
        return getpass.getuser() or "local"
    except (KeyError, OSError):  # no login name for this uid (containers): a fixed name will do
        return "local"


def is_admin(settings: Settings, user: str | None, *, mode: str = TEAM) -> bool:
    """True when ``user`` may see every user's data: always in local mode; in team mode only
    when their email is in ``parley.admins``. An empty or missing user is never an admin."""
    if not user:
        return False
    if mode == LOCAL:
        return True
    admins = {a.strip().lower() for a in settings.admins}
    return user.strip().lower() in admins
