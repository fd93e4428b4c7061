"""Where calls, rollups, preferences and votes are kept: ``open_store(url)`` -> a ``Store``.

``url`` is ``PARLEY_DATABASE_URL``:

- ``sqlite:///path/to/file.db`` (``sqlite:////abs/path`` for an absolute one); empty or
  ``sqlite://`` means ``<data_dir>/parley.db``, the default;
- ``postgresql://...`` or ``postgres://...``: any Postgres, a Supabase connection string too;
- ``supabase``: the REST API, with ``SUPABASE_URL`` + ``SUPABASE_SERVICE_ROLE_KEY``
  (and optionally ``SUPABASE_JWT_SECRET`` for user-scoped reads) from the environment.

Backends are imported when opened, so ``import core.store`` is cheap and pulls in neither
psycopg nor supabase.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from core.config.database import check_postgres_url
from core.errors import ConfigError
from core.store.base import USAGE_DIMENSIONS, USAGE_FIELDS, Store

__all__ = ["Store", "USAGE_DIMENSIONS", "USAGE_FIELDS", "open_store", "check_postgres_url"]

_SQLITE_PREFIX = "sqlite://"


def open_store(url: str, *, data_dir: Path | None = None,
               env: Mapping[str, str] | None = None) -> Store:
    """The store ``url`` names (see the module docstring); ``data_dir`` defaults to
    ``PARLEY_DATA_DIR`` or ``.parley``, and ``env`` to ``os.environ``. Opening connects to
    nothing remote (SQLite opens its file); a bad URL or a missing setting raises
    ``ConfigError`` naming it, never its password or key."""
    env = os.environ if env is None else env
    url = (url or "").strip()
    if not url or url.startswith(_SQLITE_PREFIX):
        from core.store.sqlite import SqliteStore

        path = url[len(_SQLITE_PREFIX) + 1:] if url.startswith(_SQLITE_PREFIX + "/") else ""
        if not path:
            path = Path(data_dir or env.get("PARLEY_DATA_DIR") or ".parley") / "parley.db"
        return SqliteStore(path)
    if url.startswith(("postgresql://", "postgres://")):
        from core.store.postgres import PostgresStore

        check_postgres_url(url)
        return PostgresStore(url)
    if url == "supabase":
        return _open_supabase(env)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ConfigError(f"scheme {scheme!r} is not supported; use sqlite:///path, "
                      "postgresql://... or supabase", key="PARLEY_DATABASE_URL")


def _open_supabase(env: Mapping[str, str]) -> Store:
    missing = [name for name in ("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY") if not env.get(name)]
    if missing:
        raise ConfigError(f"is 'supabase' but {' and '.join(missing)} "
                          f"{'is' if len(missing) == 1 else 'are'} not set",
                          key="PARLEY_DATABASE_URL")
    if not env["SUPABASE_URL"].startswith(("https://", "http://")):
        raise ConfigError("must be the project's https:// URL", key="SUPABASE_URL")
    from core.store.supabase import SupabaseStore

    return SupabaseStore(env["SUPABASE_URL"], env["SUPABASE_SERVICE_ROLE_KEY"],
                         jwt_secret=env.get("SUPABASE_JWT_SECRET") or None)
