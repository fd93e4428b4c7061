"""The SQLite side of the cost console: the rollup tables of ``core/store/rollups.py``
(DDL, backfill, upserts) and the two reads (``usage_rollup``, ``performance_rollup``) as SQL
over those tables only.

Table and column names come from the fixed grains, never from the caller; filter values are
always bound parameters.
"""
from __future__ import annotations

import sqlite3
from typing import Any, Sequence

from core.store.rollups import (BUCKETS, KEY_COLUMNS, LATENCY_BOUNDS_MS, PERFORMANCE_GRAINS,
                                USAGE_GRAINS, Grain, RollupQuery, coarser)

__all__ = ["create_tables", "fold_rollups", "usage_rollup", "performance_rollup", "rollup_where"]

_USAGE = ["calls", "failures", "input_tokens", "output_tokens", "total_tokens", "cost",
          "unpriced_calls"]
_RT = [f"rt_{i:02d}" for i in range(BUCKETS)]
_TTFT = [f"ttft_{i:02d}" for i in range(BUCKETS)]
_PERFORMANCE = ["fallbacks", *_RT, *_TTFT]
_NEW_USAGE = [g for g in USAGE_GRAINS if g.table != "usage_daily"]  # usage_daily is m002's
_FULL_USAGE, _FULL_PERFORMANCE = USAGE_GRAINS[-1], PERFORMANCE_GRAINS[-1]


def _table(grain: Grain, measures: list[str]) -> str:
    keys = [f"{grain.period} TEXT NOT NULL", *(f"{KEY_COLUMNS[d]} TEXT NOT NULL" for d in grain.dims),
            "is_demo INTEGER NOT NULL DEFAULT 0"]
    kinds = {"cost": "REAL"}
    columns = [f"{m} {kinds.get(m, 'INTEGER')} NOT NULL DEFAULT 0" for m in measures]
    return (f"CREATE TABLE {grain.table} ({', '.join(keys + columns)}, "
            f"PRIMARY KEY ({', '.join(grain.key_columns)})) WITHOUT ROWID")


def _upsert(grain: Grain, measures: list[str]) -> str:
    keys = grain.key_columns
    return (f"INSERT INTO {grain.table} ({', '.join(keys + measures)}) "
            f"VALUES ({', '.join('?' * (len(keys) + len(measures)))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            + ", ".join(f"{m} = {m} + excluded.{m}" for m in measures))


def _bucket_case(column: str) -> str:
    """SQL for the bucket number of ``column`` (NULL stays NULL): ``bisect_right`` over the bounds."""
    whens = " ".join(f"WHEN {column} < {bound} THEN {i}" for i, bound in enumerate(LATENCY_BOUNDS_MS))
    return f"CASE WHEN {column} IS NULL THEN NULL {whens} ELSE {len(LATENCY_BOUNDS_MS)} END"


def _regroup(grain: Grain, source: Grain, measures: list[str]) -> str:
    """Fill ``grain`` from the finer table ``source`` (the backfill of a new grain)."""
    period = "substr(day, 1, 7) || '-01'" if grain.period == "month" else "day"
    keys = [period, *(KEY_COLUMNS[d] for d in grain.dims), "is_demo"]
    return (f"INSERT INTO {grain.table} SELECT {', '.join(keys)}, "
            f"{', '.join(f'sum({m})' for m in measures)} FROM {source.table} "
            f"GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}")


def create_tables(conn: sqlite3.Connection) -> None:
    """The console's rollup tables, filled from what is already stored (migration m005)."""
    full, models = PERFORMANCE_GRAINS[-1], PERFORMANCE_GRAINS[0]
    for grain in (*PERFORMANCE_GRAINS, *_NEW_USAGE):
        conn.execute(_table(grain, _PERFORMANCE if grain in PERFORMANCE_GRAINS else _USAGE))
    conn.execute(f"""
        INSERT INTO performance_daily
        SELECT date(created_at), user_id, provider, model, service_type, is_demo,
               sum(fallback_of IS NOT NULL),
               {', '.join(f'sum(ifnull(rb = {i}, 0))' for i in range(BUCKETS))},
               {', '.join(f'sum(ifnull(tb = {i}, 0))' for i in range(BUCKETS))}
        FROM (SELECT *, {_bucket_case('response_time_ms')} AS rb,
                        {_bucket_case('ttft_ms')} AS tb FROM request_logs)
        GROUP BY 1, 2, 3, 4, 5, 6""")
    conn.execute(_regroup(models, full, _PERFORMANCE))
    for grain in _NEW_USAGE:
        conn.execute(_regroup(grain, USAGE_GRAINS[-1], _USAGE))
    conn.execute("CREATE INDEX performance_daily_user_day_idx ON performance_daily (user_id, day)")
    conn.execute("CREATE INDEX usage_monthly_user_idx ON usage_monthly (user_id, month)")


_UPSERTS = {g.table: _upsert(g, _PERFORMANCE if g in PERFORMANCE_GRAINS else _USAGE)
            for g in (*PERFORMANCE_GRAINS, *USAGE_GRAINS)}


def fold_rollups(conn: sqlite3.Connection, usage: Sequence[tuple], performance: Sequence[tuple]) -> None:
    """Add a batch's increments at the full grain (``console.rollup_increments``) to every
    rollup table, in the caller's transaction."""
    conn.executemany(_UPSERTS[_FULL_USAGE.table], usage)
    conn.executemany(_UPSERTS[_FULL_PERFORMANCE.table], performance)
    conn.executemany(_UPSERTS["performance_daily_models"], coarser(performance, PERFORMANCE_GRAINS[0]))
    for grain in _NEW_USAGE:
        conn.executemany(_UPSERTS[grain.table], coarser(usage, grain))


_GROUP = {"day": "day", "month": "substr({period}, 1, 7) || '-01'", "user": "user_id",
          "provider": "provider", "model": "model", "service": "service_type"}
_FILTER = {"users": "user_id", "providers": "provider", "models": "model",
           "services": "service_type"}
_USAGE_MEASURES = ("sum(calls) AS calls, sum(failures) AS failures, "
                   "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
                   "sum(total_tokens) AS total_tokens, sum(cost) AS cost, "
                   "sum(unpriced_calls) AS unpriced_calls, "
                   "sum(CASE WHEN is_demo THEN calls ELSE 0 END) AS demo_calls")


def rollup_where(query: RollupQuery, period: str) -> tuple[list[str], list[Any]]:
    """The WHERE conditions (joined with AND) and parameters of ``query``'s dates, on the
    ``period`` column, and of its filters (an empty filter matches nothing) and demo choice."""
    where, params = ["1"], []
    if query.since:
        where.append(f"{period} >= ?")
        params.append(query.since.isoformat())
    if query.until:
        where.append(f"{period} <= ?")
        params.append(query.until.isoformat())
    for name, column in _FILTER.items():
        values = getattr(query, name)
        if values is not None:
            where.append(f"{column} IN ({', '.join('?' * len(values))})" if values else "0")
            params.extend(values)
    if query.demo is not None:
        where.append("is_demo = ?")
        params.append(int(query.demo))
    return where, params


def _select(grain: Grain, measures: str, query: RollupQuery) -> tuple[str, list[Any]]:
    keys = [f"{_GROUP[d].format(period=grain.period)} AS \"{d}\"" for d in query.by]
    where, params = rollup_where(query, grain.period)
    positions = ", ".join(str(i + 1) for i in range(len(keys)))
    group = f"GROUP BY {positions} ORDER BY {positions}" if keys else "HAVING count(*) > 0"
    sql = f"SELECT {', '.join([*keys, measures])} FROM {grain.table} WHERE {' AND '.join(where)} {group}"
    return sql, params


def usage_rollup(conn: sqlite3.Connection, query: RollupQuery, grain: Grain) -> list[dict[str, Any]]:
    """The usage rollup ``grain`` grouped and filtered as ``query`` says; rows come typed as
    ``Store.usage_rollup`` promises (SQLite sums integers as int and reals as float)."""
    cursor = conn.execute(*_select(grain, _USAGE_MEASURES, query))
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def performance_rollup(conn: sqlite3.Connection, query: RollupQuery, grain: Grain) -> list[dict[str, Any]]:
    """The performance rollup ``grain`` grouped and filtered as ``query`` says: per group
    ``fallbacks`` and the ``rt``/``ttft`` histograms as lists."""
    measures = ", ".join(f"sum({c})" for c in _PERFORMANCE)
    width = len(query.by)
    out = []
    for row in conn.execute(*_select(grain, measures, query)).fetchall():
        item = dict(zip(query.by, row[:width]))
        item["fallbacks"] = row[width]
        item["rt"] = list(row[width + 1:width + 1 + BUCKETS])
        item["ttft"] = list(row[width + 1 + BUCKETS:])
        out.append(item)
    return out
