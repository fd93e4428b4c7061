"""The SQLite side of the cost console: ``performance_daily``'s DDL and upsert, and the two
rollup reads (``usage_rollup``, ``performance_rollup``) as SQL over the rollup tables only.

Column and grouping names come from fixed tables here, never from the caller; filter
values are always bound parameters.
"""
from __future__ import annotations

import sqlite3
from typing import Any

from core.store.console import BUCKETS, LATENCY_BOUNDS_MS, RollupQuery

__all__ = ["PERFORMANCE_TABLE", "PERFORMANCE_BACKFILL", "UPSERT_PERFORMANCE", "usage_rollup",
           "performance_rollup"]

_KEY = "day, user_id, provider, model, service_type, is_demo"
_RT = [f"rt_{i:02d}" for i in range(BUCKETS)]
_TTFT = [f"ttft_{i:02d}" for i in range(BUCKETS)]
_MEASURES = ["fallbacks", *_RT, *_TTFT]

PERFORMANCE_TABLE = f"""
    CREATE TABLE performance_daily (
      day TEXT NOT NULL,
      user_id TEXT NOT NULL,
      provider TEXT NOT NULL,
      model TEXT NOT NULL,
      service_type TEXT NOT NULL,
      is_demo INTEGER NOT NULL DEFAULT 0,
      {', '.join(f'{c} INTEGER NOT NULL DEFAULT 0' for c in _MEASURES)},
      PRIMARY KEY ({_KEY})
    ) WITHOUT ROWID"""

UPSERT_PERFORMANCE = f"""
    INSERT INTO performance_daily ({_KEY}, {', '.join(_MEASURES)})
    VALUES ({', '.join('?' * (6 + len(_MEASURES)))})
    ON CONFLICT ({_KEY}) DO UPDATE SET
      {', '.join(f'{c} = {c} + excluded.{c}' for c in _MEASURES)}"""


def _bucket_case(column: str) -> str:
    """SQL for the bucket number of ``column`` (NULL stays NULL), as ``latency_bucket``."""
    whens = " ".join(f"WHEN {column} < {bound} THEN {i}" for i, bound in enumerate(LATENCY_BOUNDS_MS))
    return f"CASE WHEN {column} IS NULL THEN NULL {whens} ELSE {len(LATENCY_BOUNDS_MS)} END"


PERFORMANCE_BACKFILL = f"""
    INSERT INTO performance_daily ({_KEY}, {', '.join(_MEASURES)})
    SELECT date(created_at), user_id, provider, model, service_type, is_demo,
           sum(fallback_of IS NOT NULL),
           {', '.join(f'sum(ifnull(rb = {i}, 0))' for i in range(BUCKETS))},
           {', '.join(f'sum(ifnull(tb = {i}, 0))' for i in range(BUCKETS))}
    FROM (SELECT *, {_bucket_case('response_time_ms')} AS rb, {_bucket_case('ttft_ms')} AS tb
          FROM request_logs)
    GROUP BY 1, 2, 3, 4, 5, 6"""

_GROUP = {"day": "day", "month": "substr(day, 1, 7) || '-01'", "user": "user_id",
          "provider": "provider", "model": "model", "service": "service_type"}
_FILTER = {"users": "user_id", "providers": "provider", "models": "model",
           "services": "service_type"}
_USAGE_MEASURES = ("sum(calls) AS calls, sum(failures) AS failures, "
                   "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
                   "sum(total_tokens) AS total_tokens, sum(cost) AS cost, "
                   "sum(unpriced_calls) AS unpriced_calls, "
                   "sum(CASE WHEN is_demo THEN calls ELSE 0 END) AS demo_calls")


def _select(table: str, measures: str, query: RollupQuery) -> tuple[str, list[Any]]:
    keys = [f"{_GROUP[d]} AS \"{d}\"" for d in query.by]
    where, params = ["1"], []
    if query.since:
        where.append("day >= ?")
        params.append(query.since.isoformat())
    if query.until:
        where.append("day <= ?")
        params.append(query.until.isoformat())
    for name, column in _FILTER.items():
        values = getattr(query, name)
        if values is not None:
            where.append(f"{column} IN ({', '.join('?' * len(values))})" if values else "0")
            params.extend(values)
    if query.demo is not None:
        where.append("is_demo = ?")
        params.append(int(query.demo))
    group = f"GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))} " \
            f"ORDER BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys \
        else "HAVING count(*) > 0"
    sql = f"SELECT {', '.join([*keys, measures])} FROM {table} WHERE {' AND '.join(where)} {group}"
    return sql, params


def usage_rollup(conn: sqlite3.Connection, query: RollupQuery) -> list[dict[str, Any]]:
    """``usage_daily`` grouped and filtered as ``query`` says (see ``Store.usage_rollup``)."""
    sql, params = _select("usage_daily", _USAGE_MEASURES, query)
    cursor = conn.execute(sql, params)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def performance_rollup(conn: sqlite3.Connection, query: RollupQuery) -> list[dict[str, Any]]:
    """``performance_daily`` grouped and filtered as ``query`` says: per group
    ``fallbacks`` and the ``rt``/``ttft`` histograms as lists."""
    measures = ", ".join(f"sum({c})" for c in _MEASURES)
    sql, params = _select("performance_daily", measures, query)
    width = len(query.by)
    out = []
    for row in conn.execute(sql, params).fetchall():
        item = dict(zip(query.by, row[:width]))
        item["fallbacks"] = row[width]
        item["rt"] = list(row[width + 1:width + 1 + BUCKETS])
        item["ttft"] = list(row[width + 1 + BUCKETS:])
        out.append(item)
    return out
