"""Spend per client and user (``request_logs.client``, core/api/clients.py): what Claude Code,
the SDKs and the apps each cost, per developer. Read from the call log (not a rollup), over
whole days. A call whose metadata names no client is ``parley`` (made by the app, the CLI or
the Python API before they named themselves) unless it came through the HTTP API: only such
API calls are ``unknown``.

    rows = store.spend_by_client(since=date(2026, 12, 1))
    # [{"client": "claude-code", "user": "dev@example.com", "calls": 40, "failures": 1,
    #   "input_tokens": ..., "output_tokens": ..., "cost": 1.93, "unpriced_calls": 0}, ...]
"""
from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["CLIENT_FIELDS", "SQLITE_SPEND_BY_CLIENT", "client_row", "day_bounds"]

CLIENT_FIELDS = ("client", "user", "calls", "failures", "input_tokens", "output_tokens", "cost",
                 "unpriced_calls")

SQLITE_SPEND_BY_CLIENT = """
    SELECT coalesce(client, CASE WHEN json_extract(metadata, '$.via') = 'api' THEN 'unknown'
                                 ELSE 'parley' END), user_id,
           sum(status = 'success'), sum(status <> 'success'),
           coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
           coalesce(sum(total_cost), 0), sum(status = 'success' AND total_cost IS NULL)
    FROM request_logs
    WHERE (? IS NULL OR user_id = ?) AND (? IS NULL OR created_at >= ?)
      AND (? IS NULL OR created_at < ?) {only_user}
    GROUP BY 1, 2 ORDER BY 7 DESC, 1, 2"""


def day_bounds(since: dt.date | None, until: dt.date | None) -> tuple[str | None, str | None]:
    """ISO instants: the start of ``since`` and of the day after ``until`` (UTC)."""
    start = dt.datetime.combine(since, dt.time(), dt.timezone.utc).isoformat() if since else None
    end = (dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.timezone.utc).isoformat()
           if until else None)
    return start, end


def client_row(values: Any) -> dict[str, Any]:
    """A row as ``CLIENT_FIELDS`` (a tuple in that order, or the Postgres function's dict)."""
    if isinstance(values, dict):
        values = (values["client"], values["user_id"], values["calls"], values["failures"],
                  values["input_tokens"], values["output_tokens"], values["cost"],
                  values["unpriced_calls"])
    row = dict(zip(CLIENT_FIELDS, values))
    for name in ("calls", "failures", "input_tokens", "output_tokens", "unpriced_calls"):
        row[name] = int(row[name] or 0)
    row["cost"] = float(row["cost"] or 0)
    return row
