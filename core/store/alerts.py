"""Where spend alerts live (and what the response cache saved, for the same console): the
``AlertStore`` protocol and its two implementations.

``SqliteAlerts`` is mixed into ``SqliteStore``; ``SqlFunctionAlerts`` into the Postgres and
Supabase stores (the functions of ``supabase/migrations/20251201000200_parley_alerts.sql``).
An alert row: ``id``, ``kind``, ``subject``, ``period``, ``message``, ``details`` (a dict),
``created_at``, ``attempts``, ``delivered_at``, ``last_error``.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Protocol, runtime_checkable

__all__ = ["AlertStore", "SqliteAlerts", "SqlFunctionAlerts"]

_COLUMNS = ("id", "kind", "subject", "period", "message", "details", "created_at", "attempts",
            "delivered_at", "last_error")


@runtime_checkable
class AlertStore(Protocol):
    def raise_alert(self, alert: dict[str, Any]) -> bool:
        """Store an alert unless its (kind, subject, period) was raised before. True if new."""

    def lease_alerts(self, limit: int, lease_s: float) -> list[dict[str, Any]]:
        """Up to ``limit`` undelivered alerts that are due, each leased for ``lease_s``
        seconds (no other caller gets it meanwhile) and its attempt counted."""

    def alert_attempted(self, alert_id: str, error: str | None, retry_s: float) -> None:
        """Delivered (``error`` None), or failed: due again in ``retry_s`` seconds."""

    def list_alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest alerts, newest first."""

    def key_spend(self, since: dt.datetime) -> dict[str, float]:
        """Known spend per API key id of calls since ``since``."""

    def cache_savings(self, since: dt.date, until: dt.date) -> list[dict[str, Any]]:
        """Calls answered from the response cache on days ``since``..``until`` (UTC), per
        user and model: ``{"user", "model", "hits", "saved"}``, most saved first."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def _row(raw: dict[str, Any]) -> dict[str, Any]:
    row = {name: raw.get(name) for name in _COLUMNS}
    if isinstance(row["details"], str):
        row["details"] = json.loads(row["details"])
    for name in ("created_at", "delivered_at"):
        if isinstance(row[name], dt.datetime):
            row[name] = row[name].astimezone(dt.timezone.utc).isoformat()
    return row


class SqliteAlerts:
    """``AlertStore`` for ``SqliteStore`` (uses its ``_reading``/``_writing``)."""

    def raise_alert(self, alert: dict[str, Any]) -> bool:
        created = alert.get("created_at") or _now()
        with self._writing() as conn:
            return conn.execute(
                "INSERT INTO alerts (id, kind, subject, period, message, details, created_at, "
                "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (kind, subject, period) DO NOTHING",
                (alert["id"], alert["kind"], alert["subject"], alert["period"], alert["message"],
                 json.dumps(alert.get("details") or {}), created, created)).rowcount == 1

    def lease_alerts(self, limit: int, lease_s: float) -> list[dict[str, Any]]:
        now = dt.datetime.now(dt.timezone.utc)
        until = (now + dt.timedelta(seconds=lease_s)).isoformat()
        with self._writing() as conn:
            rows = conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM alerts WHERE delivered_at IS NULL "
                "AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
                (now.isoformat(), limit)).fetchall()
            for row in rows:
                conn.execute("UPDATE alerts SET next_attempt_at = ?, attempts = attempts + 1 "
                             "WHERE id = ?", (until, row[0]))
        return [{**_row(dict(zip(_COLUMNS, row))), "attempts": row[7] + 1} for row in rows]

    def alert_attempted(self, alert_id: str, error: str | None, retry_s: float) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        with self._writing() as conn:
            if error is None:
                conn.execute("UPDATE alerts SET delivered_at = ?, last_error = NULL WHERE id = ?",
                             (now.isoformat(), alert_id))
            else:
                conn.execute("UPDATE alerts SET last_error = ?, next_attempt_at = ? WHERE id = ?",
                             (error, (now + dt.timedelta(seconds=retry_s)).isoformat(), alert_id))

    def list_alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._reading() as conn:
            rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM alerts "
                                "ORDER BY created_at DESC LIMIT ?", (limit,)).fetchall()
        return [_row(dict(zip(_COLUMNS, row))) for row in rows]

    def key_spend(self, since: dt.datetime) -> dict[str, float]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT key_id, coalesce(sum(total_cost), 0) FROM request_logs "
                "WHERE key_id IS NOT NULL AND created_at >= ? GROUP BY key_id",
                (since.astimezone(dt.timezone.utc).isoformat(),)).fetchall()
        return {key_id: float(cost) for key_id, cost in rows}

    def cache_savings(self, since: dt.date, until: dt.date) -> list[dict[str, Any]]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT user_id, model, count(*), coalesce(sum(saved_cost), 0) FROM request_logs "
                "WHERE cache_hit = 1 AND created_at >= ? AND created_at < ? GROUP BY 1, 2 "
                "ORDER BY 4 DESC, 1, 2",
                (since.isoformat(), (until + dt.timedelta(days=1)).isoformat())).fetchall()
        return [{"user": u, "model": m, "hits": h, "saved": float(c)} for u, m, h, c in rows]


class SqlFunctionAlerts:
    """``AlertStore`` through the SQL functions (the store supplies ``_key_fn``)."""

    def raise_alert(self, alert: dict[str, Any]) -> bool:
        return bool(self._key_fn("parley_raise_alert", {"p_alert": dict(alert)}, None))

    def lease_alerts(self, limit: int, lease_s: float) -> list[dict[str, Any]]:
        rows = self._key_fn("parley_lease_alerts", {"p_limit": limit, "p_lease_s": lease_s}, None)
        return [_row(row) for row in rows or []]

    def alert_attempted(self, alert_id: str, error: str | None, retry_s: float) -> None:
        self._key_fn("parley_alert_attempted",
                     {"p_id": alert_id, "p_error": error, "p_retry_s": retry_s}, None)

    def list_alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        return [_row(row) for row in self._key_fn("parley_list_alerts", {"p_limit": limit}, None) or []]

    def key_spend(self, since: dt.datetime) -> dict[str, float]:
        spent = self._key_fn("parley_key_spend", {"p_since": since.isoformat()}, None) or {}
        return {key_id: float(cost) for key_id, cost in spent.items()}

    def cache_savings(self, since: dt.date, until: dt.date) -> list[dict[str, Any]]:
        rows = self._key_fn("parley_cache_savings", {"p_since": since.isoformat(),
                                                     "p_until": until.isoformat()}, None) or []
        return [{**row, "saved": float(row["saved"]), "hits": int(row["hits"])} for row in rows]
