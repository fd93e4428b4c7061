"""The books an auditor reads: the dated price book, imported provider bills, the audit log,
and the checks behind ``db verify``.

``SqlLedgers`` is mixed into the SQLite and Postgres stores. A backend supplies two
primitives: ``_ledger_rows(sql, params) -> list[dict]`` and ``_ledger_write(sql, rows) ->
list[int]`` (the ids ``RETURNING id`` gave, one transaction for all ``rows``), and a
``backend`` name that picks the SQL dialect below. Statements use ``{p}`` for a parameter and
``{j}`` for a JSON one, ``{t}``, ``{ts}`` and ``{d}`` for text, a time and a day that may be
NULL (Postgres must be told their type).

Rows come back with plain Python values: floats (never ``Decimal``), ISO 8601 text for
timestamps and ``YYYY-MM-DD`` for days. The tables are append-only where the audit needs it:
``price_book`` entries are never edited (a change is a new entry), ``audit_log`` refuses
update and delete in the schema itself, and a recorded call's cost cannot be updated.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any, Iterable, Sequence

from core.errors import BadRequestError

__all__ = ["SqlLedgers", "PRICE_CLASSES", "BILL_FIELDS"]

PRICE_CLASSES = ("input", "output", "cache_read", "cache_write", "reasoning", "image")
BILL_FIELDS = ("provider", "day", "model", "token_class", "tokens", "billed")
_DIALECT = {
    "sqlite": {"p": "?", "j": "?", "t": "?", "ts": "?", "d": "?", "day": "date(created_at)"},
    "postgres": {"p": "%s", "j": "%s::jsonb", "t": "%s::text", "ts": "%s::timestamptz",
                 "d": "%s::date", "day": "(created_at at time zone 'UTC')::date"},
}
_PRICE_COLUMNS = ("model", "provider_model", "valid_from", *PRICE_CLASSES, "tiers", "source",
                  "created_by", "created_at")


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


class SqlLedgers:
    """Price book, provider bills, audit log and recording checks over plain SQL."""

    backend: str

    def _ledger_rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _ledger_write(self, sql: str, rows: Iterable[Sequence[Any]]) -> list[int]:
        raise NotImplementedError

    def _sql(self, template: str) -> str:
        return template.format(**_DIALECT[self.backend])

    def _rows(self, template: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [{k: _plain(v) for k, v in row.items()}
                for row in self._ledger_rows(self._sql(template), params)]

    # -- price book ----------------------------------------------------------------------

    def add_prices(self, entries: Sequence[dict[str, Any]]) -> list[int]:
        """Append price-book entries (keys: ``_PRICE_COLUMNS``; prices USD per token, None
        where the class has no price of its own). Returns their ids, in order."""
        if not entries:
            return []
        columns = ", ".join(_PRICE_COLUMNS)
        marks = ", ".join("{j}" if c == "tiers" else "{p}" for c in _PRICE_COLUMNS)
        defaults = {"provider_model": "", "created_by": "", "tiers": {}}
        rows = [[json.dumps(value) if column == "tiers" else value
                 for column, value in ((c, e.get(c, defaults.get(c))) for c in _PRICE_COLUMNS)]
                for e in ({**entry, "created_at": entry.get("created_at") or _now()}
                          for entry in entries)]
        return self._ledger_write(self._sql(
            f"INSERT INTO price_book ({columns}) VALUES ({marks}) RETURNING id"), rows)

    def price_entries(self, model: str | None = None) -> list[dict[str, Any]]:
        """Every entry (or ``model``'s), oldest ``valid_from`` first (ties: first added)."""
        rows = self._rows("SELECT * FROM price_book WHERE ({t} IS NULL OR model = {t}) "
                          "ORDER BY model, valid_from, id", (model, model))
        for row in rows:
            row["tiers"] = _loaded(row["tiers"]) or {}
        return rows

    # -- provider bills ------------------------------------------------------------------

    def import_bills(self, lines: Sequence[dict[str, Any]], source_file: str) -> int:
        """Store billed lines (``BILL_FIELDS``); a line for a (provider, day, model, token
        class) already imported is replaced by the new figure. Returns how many lines."""
        if not lines:
            return 0
        sql = self._sql(
            "INSERT INTO provider_bills (provider, day, model, token_class, tokens, billed, "
            "source_file, imported_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}) "
            "ON CONFLICT (provider, day, model, token_class) DO UPDATE SET tokens = "
            "excluded.tokens, billed = excluded.billed, source_file = excluded.source_file, "
            "imported_at = excluded.imported_at RETURNING id")
        stamp = _now()
        return len(self._ledger_write(sql, [[line[f] for f in BILL_FIELDS] + [source_file, stamp]
                                            for line in lines]))

    def bills(self, since: str | None = None) -> list[dict[str, Any]]:
        """Imported bill lines from day ``since`` (YYYY-MM-DD) on, by day, provider, model."""
        return self._rows("SELECT provider, day, model, token_class, tokens, billed FROM "
                          "provider_bills WHERE ({d} IS NULL OR day >= {d}) "
                          "ORDER BY day, provider, model, token_class", (since, since))

    def recorded_by_day(self, since: str | None = None) -> list[dict[str, Any]]:
        """Recorded successful calls per UTC day x provider x provider model: calls, tokens
        per class, Parley's cost and the provider's own figure where it gave one."""
        return self._rows(
            "SELECT {day} AS day, provider, provider_model, count(*) AS calls, "
            "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
            "sum(cache_read_tokens) AS cache_read_tokens, "
            "sum(cache_write_tokens) AS cache_write_tokens, "
            "sum(reasoning_tokens) AS reasoning_tokens, coalesce(sum(total_cost), 0) AS cost, "
            "sum(provider_cost) AS provider_cost FROM request_logs "
            "WHERE is_demo = {false} AND ({ts} IS NULL OR created_at >= {ts}) "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3".replace(
                "{false}", "0" if self.backend == "sqlite" else "false"), (since, since))

    # -- audit log -----------------------------------------------------------------------

    def append_audit(self, actor: str, action: str, target: str, before: Any, after: Any) -> int:
        """Append one audit entry; returns its id. Entries are never changed or removed."""
        if not actor or not action:
            raise BadRequestError("An audit entry needs who acted and what they did.")
        sql = self._sql("INSERT INTO audit_log (created_at, actor, action, target, before, "
                        "after) VALUES ({p}, {p}, {p}, {p}, {j}, {j}) RETURNING id")
        return self._ledger_write(sql, [[_now(), actor, action, target or "", _dump(before),
                                         _dump(after)]])[0]

    def audit_entries(self, *, since: str | None = None, action: str | None = None,
                      actor: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Audit entries, newest first, from ``since`` (ISO date or time) on, optionally of
        one ``action`` (a prefix: ``keys.`` matches every key action) or ``actor``."""
        prefix = None if not action else action.replace("%", "") + "%"
        rows = self._rows(
            "SELECT id, created_at, actor, action, target, before, after FROM audit_log "
            "WHERE ({ts} IS NULL OR created_at >= {ts}) AND ({t} IS NULL OR action LIKE {t}) "
            "AND ({t} IS NULL OR actor = {t}) ORDER BY created_at DESC, id DESC LIMIT "
            + str(int(limit)), (since, since, prefix, prefix, actor, actor))
        for row in rows:
            row["before"], row["after"] = _loaded(row["before"]), _loaded(row["after"])
        return rows

    # -- recording checks (db verify) ----------------------------------------------------

    def call_id_counts(self, call_ids: Sequence[str]) -> dict[str, int]:
        """How many rows each of ``call_ids`` has in ``request_logs`` (absent: 0)."""
        counts = {cid: 0 for cid in call_ids}
        ids = list(counts)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("{p}" for _ in chunk)
            for row in self._rows("SELECT litellm_call_id AS id, count(*) AS n FROM request_logs "
                                  f"WHERE litellm_call_id IN ({marks}) GROUP BY 1", chunk):
                counts[row["id"]] = int(row["n"])
        return counts

    def rollup_mismatches(self) -> list[dict[str, Any]]:
        """Groups of ``usage_daily`` whose calls, failures, tokens or cost differ from the sums
        of their ``request_logs`` rows (either side may be missing). Empty when they agree."""
        rows = self._rows(
            "WITH r AS (SELECT CAST({day} AS TEXT) AS day, user_id, provider, model, service_type, is_demo, "
            "count(*) AS calls, sum(CASE WHEN status = 'failure' THEN 1 ELSE 0 END) AS failures, "
            "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
            "coalesce(sum(total_cost), 0) AS cost FROM request_logs GROUP BY 1, 2, 3, 4, 5, 6), "
            "u AS (SELECT CAST(day AS TEXT) AS day, user_id, provider, model, service_type, "
            "is_demo, calls, failures, input_tokens, output_tokens, cost FROM usage_daily) "
            "SELECT coalesce(r.day, u.day) AS day, coalesce(r.user_id, u.user_id) AS user_id, "
            "coalesce(r.model, u.model) AS model, r.calls AS row_calls, u.calls AS rollup_calls, "
            "r.cost AS row_cost, u.cost AS rollup_cost FROM r FULL OUTER JOIN u ON "
            "r.day = u.day AND r.user_id = u.user_id AND r.provider = u.provider "
            "AND r.model = u.model AND r.service_type = u.service_type AND r.is_demo = u.is_demo "
            "WHERE r.calls IS NULL OR u.calls IS NULL OR r.calls <> u.calls OR "
            "r.failures <> u.failures OR r.input_tokens <> u.input_tokens OR "
            "r.output_tokens <> u.output_tokens OR abs(r.cost - u.cost) > 1e-9 "
            "ORDER BY 1, 2, 3")
        return [row for row in rows if row["row_calls"] or row["rollup_calls"]]
