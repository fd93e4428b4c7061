"""The ledgers (``core/store/ledgers.py``) through SQL functions, for a store that cannot send
SQL: the Supabase REST store. Same methods, same rows as ``SqlLedgers``.

The store supplies ``_key_fn(name, args, as_user)`` calling ``public.<name>`` with named
arguments and returning its value (as for ``SqlFunctionKeys``). The functions are those of
``supabase/migrations/20251204000100_parley_ledger_functions.sql``; they are called as the
store's own role (the service role), and they refuse a signed-in caller who is not an admin
everywhere except ``parley_price_entries``. Rows come back as ``SqlLedgers`` gives them:
floats, timestamps as ISO 8601 in UTC, days as ``YYYY-MM-DD``.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Sequence

from core.errors import BadRequestError
from core.store.ledgers import BILL_FIELDS, PRICE_CLASSES

__all__ = ["SqlFunctionLedgers"]

_PRICE_FIELDS = ("model", "provider_model", "valid_from", *PRICE_CLASSES, "tiers", "source",
                 "created_by", "created_at")
_CHUNK = 500  # call ids per request: a small body, as SqlLedgers reads them


def _utc_iso(value: Any) -> Any:
    """An ISO 8601 timestamp as ``SqlLedgers`` returns it (UTC, ``isoformat()``)."""
    if not isinstance(value, str):
        return value
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat()


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _iso_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, (dt.datetime, dt.date)) else str(value)


def _json_safe(value: Any) -> Any:
    """``value`` as the JSON of the request body carries it (dates and times as ISO text)."""
    return json.loads(json.dumps(value, default=_iso_text))


class SqlFunctionLedgers:
    """Price book, provider bills, audit log and ``db verify`` checks over SQL functions."""

    def _key_fn(self, name: str, args: dict[str, Any], as_user: str | None) -> Any:
        raise NotImplementedError

    def _ledger_fn(self, name: str, **args: Any) -> Any:
        return self._key_fn(name, {k: _json_safe(v) for k, v in args.items()}, None)

    # -- price book ----------------------------------------------------------------------

    def add_prices(self, entries: Sequence[dict[str, Any]]) -> list[int]:
        """Append price-book entries (``parley_add_prices``); returns their ids, in order."""
        if not entries:
            return []
        rows = [{field: entry.get(field) for field in _PRICE_FIELDS} for entry in entries]
        return [int(i) for i in self._ledger_fn("parley_add_prices", p_entries=rows) or []]

    def price_entries(self, model: str | None = None) -> list[dict[str, Any]]:
        """Every entry (or ``model``'s), oldest ``valid_from`` first (ties: first added)."""
        rows = self._ledger_fn("parley_price_entries", p_model=model) or []
        for row in rows:
            row.update({c: _number(row[c]) for c in PRICE_CLASSES})
            row.update(valid_from=_utc_iso(row["valid_from"]), created_at=_utc_iso(row["created_at"]),
                       tiers=row.get("tiers") or {})
        return rows

    # -- provider bills ------------------------------------------------------------------

    def import_bills(self, lines: Sequence[dict[str, Any]], source_file: str) -> int:
        """Store billed lines (``BILL_FIELDS``); a line already imported for the same
        provider, day, model and token class is replaced. Returns how many lines."""
        if not lines:
            return 0
        rows = [{field: line[field] for field in BILL_FIELDS} for line in lines]
        return int(self._ledger_fn("parley_import_bills", p_lines=rows,
                                   p_source_file=source_file))

    def bills(self, since: str | None = None) -> list[dict[str, Any]]:
        """Imported bill lines from day ``since`` (YYYY-MM-DD) on, by day, provider, model."""
        rows = self._ledger_fn("parley_bills", p_since=since) or []
        for row in rows:
            row["billed"] = _number(row["billed"])
        return rows

    def recorded_by_day(self, since: str | None = None) -> list[dict[str, Any]]:
        """Recorded non-demo calls per UTC day x provider x provider model (``SqlLedgers``)."""
        rows = self._ledger_fn("parley_recorded_by_day", p_since=since) or []
        for row in rows:
            row["cost"] = _number(row["cost"])
            row["provider_cost"] = _number(row["provider_cost"])
        return rows

    # -- audit log -----------------------------------------------------------------------

    def append_audit(self, actor: str, action: str, target: str, before: Any, after: Any) -> int:
        """Append one audit entry; returns its id. Entries are never changed or removed."""
        if not actor or not action:
            raise BadRequestError("An audit entry needs who acted and what they did.")
        return int(self._ledger_fn("parley_append_audit", p_actor=actor, p_action=action,
                                   p_target=target or "", p_before=before, p_after=after))

    def audit_entries(self, *, since: str | None = None, action: str | None = None,
                      actor: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Audit entries, newest first, from ``since`` on, optionally of one ``action``
        (a prefix: ``keys.`` matches every key action) or ``actor``."""
        rows = self._ledger_fn("parley_audit_entries", p_since=since, p_action=action or None,
                               p_actor=actor, p_limit=int(limit)) or []
        for row in rows:
            row["created_at"] = _utc_iso(row["created_at"])
        return rows

    # -- recording checks (db verify) ----------------------------------------------------

    def call_id_counts(self, call_ids: Sequence[str]) -> dict[str, int]:
        """How many rows each of ``call_ids`` has in ``request_logs`` (absent: 0)."""
        counts = {cid: 0 for cid in call_ids}
        ids = list(counts)
        for start in range(0, len(ids), _CHUNK):
            found = self._ledger_fn("parley_call_id_counts", p_call_ids=ids[start:start + _CHUNK])
            counts.update({cid: int(n) for cid, n in (found or {}).items()})
        return counts

    def rollup_mismatches(self) -> list[dict[str, Any]]:
        """Groups of ``usage_daily`` whose sums differ from their ``request_logs`` rows."""
        rows = self._ledger_fn("parley_rollup_mismatches") or []
        for row in rows:
            row["row_cost"], row["rollup_cost"] = _number(row["row_cost"]), _number(row["rollup_cost"])
        return rows
