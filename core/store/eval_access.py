"""Who may read evaluation work, the links that share a run, and the people's part of a
run: row votes and the decisions taken from it. Mixed into ``EvalStore``
(``core/store/evals.py``), whose ``_reading``/``_writing`` it uses.

A share link carries a random token; only its SHA-256 is stored (``eval_shares``), so the
table never holds a usable link. Only the run's owner or an admin makes or removes links; a
link opens the run read-only, its inputs and answers shown as ``parley.privacy`` allows (the
page decides that: ``ui/components/eval_results.texts_visible``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any, Iterable

from core.errors import BadRequestError

__all__ = ["EvalAccess", "visible", "is_admin", "now", "iso", "json_value"]


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def json_value(value: Any) -> Any:
    """A JSON column's value: SQLite gives text, Postgres the decoded value."""
    return json.loads(value) if isinstance(value, str) else value


def is_admin(conn, user_id: str) -> bool:
    """Whether ``user_id`` is in ``parley_admins`` (the copy of ``parley.admins``)."""
    return conn.execute("SELECT 1 FROM parley_admins WHERE user_id = ?",
                        (user_id.strip().lower(),)).fetchone() is not None


def visible(conn, column: str, as_user: str | None) -> tuple[str, tuple]:
    """A SQL condition and its parameters: the rows whose ``column`` is ``as_user``; every row
    for a trusted caller (``as_user`` None) or an admin."""
    if as_user is None or is_admin(conn, as_user):
        return "1 = 1", ()
    return f"{column} = ?", (as_user,)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class EvalAccess:
    """Shares, row votes and decisions of ``EvalStore``."""

    def _is_admin(self, conn, user_id: str) -> bool:
        return is_admin(conn, user_id)

    def _owned_run(self, conn, run_id: str, as_user: str | None) -> None:
        """Refuse (``BadRequestError``) unless the run exists and is ``as_user``'s to manage."""
        where, params = visible(conn, "created_by", as_user)
        if conn.execute(f"SELECT 1 FROM eval_runs WHERE id = ? AND {where}",
                        (run_id, *params)).fetchone() is None:
            raise BadRequestError(f"There is no run {run_id!r} you can open; ask its owner for "
                                  "a share link.")

    # -- share links ----------------------------------------------------------------

    def create_share(self, run_id: str, *, created_by: str, as_user: str | None = None) -> str:
        """A new link token for the run (shown once: only its hash is kept). Only the run's
        owner or an admin (or a trusted caller) may share it; others get ``BadRequestError``."""
        token = secrets.token_urlsafe(24)
        with self._writing() as conn:
            self._owned_run(conn, run_id, as_user)
            conn.execute("INSERT INTO eval_shares (token_sha256, run_id, created_by, created_at) "
                         "VALUES (?, ?, ?, ?)", (_digest(token), run_id, created_by, now()))
        return token

    def shared_run(self, token: str) -> str | None:
        """The run a share link's token opens, or None (unknown, or sharing stopped)."""
        if not isinstance(token, str) or not token:
            return None
        with self._reading() as conn:
            row = conn.execute("SELECT run_id FROM eval_shares WHERE token_sha256 = ?",
                               (_digest(token),)).fetchone()
        return row[0] if row else None

    def stop_sharing(self, run_id: str, *, as_user: str | None = None) -> int:
        """Remove every link to the run (owner or admin only); how many there were."""
        with self._writing() as conn:
            self._owned_run(conn, run_id, as_user)
            return conn.execute("DELETE FROM eval_shares WHERE run_id = ?", (run_id,)).rowcount

    # -- votes and decisions --------------------------------------------------------

    def record_row_vote(self, run_id: str, row_index: int, user_id: str, models: list[str],
                        winner: str | None) -> None:
        """One user's blind vote on a row between ``models`` (replaces their earlier vote on
        the same row and pair); ``winner`` is one of them, ``"tie"`` or None (both bad)."""
        with self._writing() as conn:
            conn.execute("INSERT INTO eval_votes (run_id, row_index, user_id, models, winner, "
                         "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, row_index, "
                         "user_id, models) DO UPDATE SET winner = excluded.winner, "
                         "created_at = excluded.created_at",
                         (run_id, row_index, user_id, json.dumps(sorted(models)), winner, now()))

    def row_votes(self, run_id: str) -> list[dict[str, Any]]:
        with self._reading() as conn:
            rows = conn.execute("SELECT row_index, user_id, models, winner FROM eval_votes "
                                "WHERE run_id = ? ORDER BY row_index", (run_id,)).fetchall()
        return [{"row_index": r[0], "user_id": r[1], "models": json_value(r[2]), "winner": r[3]}
                for r in rows]

    def record_decision(self, run_id: str, user_id: str, service_type: str, model: str,
                        decided_by: str) -> None:
        with self._writing() as conn:
            conn.execute("INSERT INTO eval_decisions (run_id, user_id, service_type, model, "
                         "decided_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                         (run_id, user_id, service_type, model, decided_by, now()))

    def decisions(self, user_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The latest decision per (user, service type) among ``user_ids``, newest first."""
        users = list(user_ids)
        with self._reading() as conn:
            rows = conn.execute(f"""
                SELECT run_id, user_id, service_type, model, decided_by, created_at
                FROM eval_decisions WHERE id IN (
                  SELECT max(id) FROM eval_decisions WHERE user_id IN ({', '.join('?' * len(users))})
                  GROUP BY user_id, service_type) ORDER BY id DESC""", users).fetchall()
        names = ("run_id", "user_id", "service_type", "model", "decided_by", "created_at")
        return [{**dict(zip(names, row)), "created_at": iso(row[5])} for row in rows]
