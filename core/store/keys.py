"""Where the HTTP API's keys live: the ``KeyStore`` protocol and its two implementations.

``SqliteKeys`` is mixed into ``SqliteStore``; ``SqlFunctionKeys`` into the Postgres and
Supabase stores, which call the SQL functions of
``supabase/migrations/20251201000100_parley_api_keys.sql`` (a user reads and revokes only
their own keys under row-level security; authentication goes through the security-definer
``parley_authenticate_key``, never by reading the table). From
``20251203000100_parley_tenancy.sql`` on, users cannot write ``api_keys`` rows at all: keys are
made and revoked only through those functions, which check admin or ownership and the key
policy (``core/store/key_policy.py``).

A key row is a dict with ``KEY_FIELDS``: ``models`` a list of model names or None (any),
times as ISO 8601 text in UTC. The secret's hash is written once and never read back.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Protocol, runtime_checkable

from core.errors import BadRequestError
from core.store.key_policy import POLICY_FIELDS

__all__ = ["KeyStore", "KEY_FIELDS", "SqliteKeys", "SqlFunctionKeys", "key_row"]

KEY_FIELDS = ("id", "user_id", "prefix", "name", "service_type", "models", "monthly_budget",
              "rate_limit_per_minute", "expires_at", "revoked_at", "created_at", "created_by")


@runtime_checkable
class KeyStore(Protocol):
    def create_key(self, row: dict[str, Any], *, as_user: str | None = None) -> None:
        """Store a new key: ``KEY_FIELDS`` (``revoked_at`` unset) plus ``sha256``. Under
        ``as_user`` a user may create keys only for themselves (admins: for anyone)."""

    def list_keys(self, user_id: str | None = None, *,
                  as_user: str | None = None) -> list[dict[str, Any]]:
        """Keys (``KEY_FIELDS``, no hash), newest first; ``user_id`` limits to one user's.
        Under ``as_user``: only that user's own, unless an admin."""

    def revoke_key(self, prefix: str, *, as_user: str | None = None) -> dict[str, Any] | None:
        """Mark the key with ``prefix`` revoked (once; revoking again keeps the first time).
        Returns ``{"id", "user_id", "prefix", "revoked_at"}``, or None when there is no such
        key the caller may revoke."""

    def authenticate_key(self, sha256: str, month_start: dt.datetime) -> dict[str, Any] | None:
        """The key whose secret hashes to ``sha256`` (``KEY_FIELDS`` plus ``month_spend``: the
        known cost of its calls since ``month_start``), revoked or expired ones included, or
        None."""

    def key_limits(self, user_id: str, *, as_user: str | None = None) -> dict[str, Any] | None:
        """The caps on a key ``user_id`` makes for themselves (``POLICY_FIELDS`` of their
        policy row, else everyone's, plus ``active_keys``), or None when they are an admin."""

    def sync_key_policy(self, rows: list[dict[str, Any]]) -> int:
        """Make ``parley_key_policy`` hold exactly ``rows`` (``key_policy.policy_rows``);
        returns how many it holds. Service role only."""


def key_row(raw: dict[str, Any]) -> dict[str, Any]:
    """A key row from any backend in one shape: ``models`` a list or None, numbers as numbers,
    times as ISO text."""
    row = {name: raw.get(name) for name in KEY_FIELDS}
    if isinstance(row["models"], str):
        row["models"] = json.loads(row["models"])
    if row["monthly_budget"] is not None:
        row["monthly_budget"] = float(row["monthly_budget"])
    for name in ("expires_at", "revoked_at", "created_at"):
        if isinstance(row[name], dt.datetime):
            row[name] = row[name].astimezone(dt.timezone.utc).isoformat()
    if "month_spend" in raw:
        row["month_spend"] = float(raw["month_spend"] or 0)
    return row


def _check_new(row: dict[str, Any]) -> None:
    for name in ("id", "user_id", "prefix", "sha256", "created_by"):
        if not isinstance(row.get(name), str) or not row[name]:
            raise BadRequestError(f"A key needs its {name}.")


_SELECT = ", ".join(KEY_FIELDS)


class SqliteKeyPolicy:
    """The key policy's half of ``SqliteKeys``."""

    def key_limits(self, user_id: str, *, as_user: str | None = None) -> dict[str, Any] | None:
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        with self._reading() as conn:
            if self._is_admin(conn, user_id):
                return None
            row = conn.execute(f"SELECT {', '.join(POLICY_FIELDS)} FROM parley_key_policy "
                               "WHERE user_id IN (?, '*') ORDER BY user_id = '*' LIMIT 1",
                               (user_id.strip().lower(),)).fetchone()
            active = conn.execute("SELECT count(*) FROM api_keys WHERE user_id = ? AND "
                                  "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
                                  (user_id, now)).fetchone()[0]
        limits = dict(zip(POLICY_FIELDS, row)) if row else {}
        if isinstance(limits.get("models"), str):
            limits["models"] = json.loads(limits["models"])
        return {**limits, "active_keys": active}

    def sync_key_policy(self, rows: list[dict[str, Any]]) -> int:
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        with self._writing() as conn:
            conn.execute("DELETE FROM parley_key_policy")
            conn.executemany(
                f"INSERT INTO parley_key_policy (user_id, {', '.join(POLICY_FIELDS)}, updated_at) "
                f"VALUES ({', '.join('?' * (len(POLICY_FIELDS) + 2))})",
                [(row["user_id"], *(json.dumps(row[f]) if f == "models" and row.get(f) is not None
                                    else row.get(f) for f in POLICY_FIELDS), now) for row in rows])
            return conn.execute("SELECT count(*) FROM parley_key_policy").fetchone()[0]


class SqliteKeys(SqliteKeyPolicy):
    """``KeyStore`` for ``SqliteStore`` (uses its ``_reading``/``_reading_apart``/``_writing``/
    ``_is_admin``).
    SQLite has no SQL functions: ``KeyRing.create`` applies the key policy before writing."""

    def create_key(self, row: dict[str, Any], *, as_user: str | None = None) -> None:
        _check_new(row)
        models = None if row.get("models") is None else json.dumps(list(row["models"]))
        with self._writing() as conn:
            if as_user is not None and row["user_id"] != as_user and not self._is_admin(conn, as_user):
                raise BadRequestError(f"{as_user} may create keys only for themselves.")
            conn.execute(
                f"INSERT INTO api_keys ({_SELECT}, sha256) VALUES ({', '.join('?' * 13)})",
                (row["id"], row["user_id"], row["prefix"], row.get("name") or "",
                 row.get("service_type"), models, row.get("monthly_budget"),
                 row.get("rate_limit_per_minute"), row.get("expires_at"), None,
                 row["created_at"], row["created_by"], row["sha256"]))

    def list_keys(self, user_id: str | None = None, *,
                  as_user: str | None = None) -> list[dict[str, Any]]:
        with self._reading() as conn:
            only = user_id
            if as_user is not None and not self._is_admin(conn, as_user):
                if user_id not in (None, as_user):
                    return []
                only = as_user
            rows = conn.execute(
                f"SELECT {_SELECT} FROM api_keys WHERE (? IS NULL OR user_id = ?) "
                "ORDER BY created_at DESC, prefix", (only, only)).fetchall()
        return [key_row(dict(zip(KEY_FIELDS, row))) for row in rows]

    def revoke_key(self, prefix: str, *, as_user: str | None = None) -> dict[str, Any] | None:
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        with self._writing() as conn:
            found = conn.execute("SELECT id, user_id FROM api_keys WHERE prefix = ?",
                                 (prefix,)).fetchone()
            if found is None or (as_user is not None and found[1] != as_user
                                 and not self._is_admin(conn, as_user)):
                return None
            conn.execute("UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                         (now, found[0]))
            revoked = conn.execute("SELECT revoked_at FROM api_keys WHERE id = ?",
                                   (found[0],)).fetchone()[0]
        return {"id": found[0], "user_id": found[1], "prefix": prefix, "revoked_at": revoked}

    def authenticate_key(self, sha256: str, month_start: dt.datetime) -> dict[str, Any] | None:
        with self._reading_apart() as conn:  # in a request's way: not behind the recorder's writes
            found = conn.execute(f"SELECT {_SELECT} FROM api_keys WHERE sha256 = ?",
                                 (sha256,)).fetchone()
            if found is None:
                return None
            row = dict(zip(KEY_FIELDS, found))
            row["month_spend"] = conn.execute(
                "SELECT coalesce(sum(total_cost), 0) FROM request_logs "
                "WHERE key_id = ? AND created_at >= ?",
                (row["id"], month_start.astimezone(dt.timezone.utc).isoformat())).fetchone()[0]
        return key_row(row)


class SqlFunctionKeys:
    """``KeyStore`` through the SQL functions; the store supplies ``_key_fn(name, args,
    as_user)`` calling ``public.<name>`` with named arguments and returning its value."""

    def create_key(self, row: dict[str, Any], *, as_user: str | None = None) -> None:
        _check_new(row)
        self._key_fn("parley_create_key", {"p_row": {**row, "revoked_at": None}}, as_user)

    def list_keys(self, user_id: str | None = None, *,
                  as_user: str | None = None) -> list[dict[str, Any]]:
        rows = self._key_fn("parley_list_keys", {"p_user_id": user_id}, as_user) or []
        return [key_row(row) for row in rows]

    def revoke_key(self, prefix: str, *, as_user: str | None = None) -> dict[str, Any] | None:
        return self._key_fn("parley_revoke_key", {"p_prefix": prefix}, as_user) or None

    def authenticate_key(self, sha256: str, month_start: dt.datetime) -> dict[str, Any] | None:
        found = self._key_fn("parley_authenticate_key",
                             {"p_sha256": sha256, "p_month_start": month_start.isoformat()}, None)
        return key_row(found) if found else None

    def key_limits(self, user_id: str, *, as_user: str | None = None) -> dict[str, Any] | None:
        found = self._key_fn("parley_key_limits", {"p_user_id": user_id}, as_user)
        return found or None

    def sync_key_policy(self, rows: list[dict[str, Any]]) -> int:
        return int(self._key_fn("parley_sync_key_policy", {"p_rows": list(rows)}, None))
