"""The calls explorer's read of ``request_logs``: one page of calls, keyset-paginated.

``CallQuery`` holds the filters (users, API keys, models, providers, service types, status, fallback,
time range, cost range), the sort (``time``: newest first; ``cost``: dearest first, unknown
prices last) and the page size; ``cursor`` is the opaque position after the last row of the
previous page (``page["next"]``). A page is read by walking one index from the cursor, never
by ``OFFSET``, so the millionth page costs what the first does. The SQL is built here for
both SQLite (``?``) and Postgres (``%s``) from fixed column names; every value is a bound
parameter. Indexes: SQLite ``m008_calls_explorer``, Postgres
``20251130000200_parley_calls_explorer.sql``.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field, replace
from typing import Any

from core.errors import BadRequestError

__all__ = ["CallQuery", "CALL_COLUMNS", "page_sql", "page_from_rows", "DETAIL_COLUMNS", "call_detail",
           "page_query_json", "page_rows_from_json", "detail_rows_from_json"]

CALL_COLUMNS = ("id", "litellm_call_id", "created_at", "user_id", "service_type", "model",
                "provider", "status", "error_class", "input_tokens", "output_tokens",
                "total_cost", "response_time_ms", "ttft_ms", "fallback_of", "is_demo", "kind",
                "reasoning_tokens", "cache_read_tokens", "cache_write_tokens", "tool_calls", "saved_cost",
                "key_id")
DETAIL_COLUMNS = (*CALL_COLUMNS, "provider_model", "error", "total_tokens", "messages",
                  "response", "metadata")
_FILTERS = {"users": "user_id", "keys": "key_id", "models": "model", "providers": "provider",
            "services": "service_type"}
_UNKNOWN_COST = -1.0  # unknown prices sort after every known one (cost is never negative)
_COST_KEY = "coalesce(total_cost, -1.0)"  # the cost sort key, as the indexes spell it
MAX_PAGE = 500


@dataclass(frozen=True)
class CallQuery:
    users: tuple[str, ...] | None = None
    keys: tuple[str, ...] | None = None   # API key ids (``request_logs.key_id``)
    models: tuple[str, ...] | None = None
    providers: tuple[str, ...] | None = None
    services: tuple[str, ...] | None = None
    status: str | None = None          # success | failure
    fallback: bool | None = None       # True: only attempts that replaced another
    since: dt.datetime | None = None   # inclusive
    until: dt.datetime | None = None   # exclusive
    min_cost: float | None = None
    max_cost: float | None = None
    sort: str = "time"                 # time | cost
    limit: int = 50
    cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def checked(self) -> "CallQuery":
        """This query, or ``BadRequestError`` saying which field is wrong."""
        if self.sort not in ("time", "cost"):
            raise BadRequestError(f"Calls sort by 'time' or 'cost', not {self.sort!r}.")
        if self.status not in (None, "success", "failure"):
            raise BadRequestError(f"Status is 'success' or 'failure', not {self.status!r}.")
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or not 1 <= self.limit <= MAX_PAGE:
            raise BadRequestError(f"A page holds 1 to {MAX_PAGE} calls, not {self.limit!r}.")
        for name in ("min_cost", "max_cost"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise BadRequestError(f"{name} must be a number ≥ 0.")
        if self.since and self.until and self.since >= self.until:
            raise BadRequestError("The time range ends before it starts.")
        return self

    def only_user(self, user: str) -> "CallQuery":
        """The same query limited to ``user``'s calls (none if it asked for others only)."""
        return replace(self, users=(user,) if self.users is None or user in self.users else ())


def _cursor_values(query: CallQuery) -> tuple[Any, int] | None:
    if not query.cursor:
        return None
    try:
        sort, key, row_id = json.loads(base64.urlsafe_b64decode(query.cursor.encode()))
        if sort != query.sort or not isinstance(row_id, int):
            raise ValueError
    except (ValueError, TypeError, json.JSONDecodeError):
        raise BadRequestError("That page position is not valid for this sort; start from "
                              "the first page.") from None
    return key, row_id


def _stamp(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat()


def page_sql(query: CallQuery, dialect: str) -> tuple[str, list[Any]]:
    """``(sql, params)`` for one page of ``query`` (one row more than ``limit``, to know
    whether another page follows). ``dialect`` is ``sqlite`` or ``postgres``."""
    mark = "?" if dialect == "sqlite" else "%s"
    where, params = [], []
    for name, column in _FILTERS.items():
        values = getattr(query, name)
        if values is None:
            continue
        if not values:
            where.append("false" if dialect == "postgres" else "0")
            continue
        # One value: the (column, created_at) index answers in order. Several: a unary plus
        # (SQLite) keeps the planner on the sort's index instead of sorting every match.
        target = column if len(values) == 1 or dialect == "postgres" else f"+{column}"
        where.append(f"{target} IN ({', '.join(mark * 1 for _ in values)})")
        params.extend(values)
    if query.status:  # checked to be success|failure; a literal lets a partial index apply
        where.append(f"status = '{query.status}'")
    if query.fallback is not None:
        where.append("fallback_of IS NOT NULL" if query.fallback else "fallback_of IS NULL")
    if query.since:
        where.append(f"created_at >= {mark}")
        params.append(_stamp(query.since) if dialect == "sqlite" else query.since)
    if query.until:
        where.append(f"created_at < {mark}")
        params.append(_stamp(query.until) if dialect == "sqlite" else query.until)
    money = mark if dialect == "sqlite" else f"{mark}::numeric"  # a float8 would cast the column
    if query.min_cost is not None:
        where.append(f"total_cost >= {money}")
        params.append(query.min_cost)
    if query.max_cost is not None:
        where.append(f"total_cost <= {money}")
        params.append(query.max_cost)
    key = "created_at" if query.sort == "time" else _COST_KEY
    after = _cursor_values(query)
    if after is not None:
        # Spelled out, not (key, id) < (a, b): SQLite ranges an index on a row value of
        # plain columns only.
        bound = money if query.sort == "cost" else mark
        where.append(f"{key} <= {bound} AND ({key} < {bound} OR id < {mark})")
        params.extend([after[0], after[0], after[1]])
    columns = ", ".join(CALL_COLUMNS)
    sql = (f"SELECT {columns}, {key} AS sort_key FROM request_logs "
           f"WHERE {' AND '.join(where) or 'true'} ORDER BY {key} DESC, id DESC LIMIT {mark}")
    params.append(query.limit + 1)
    return sql, params


def page_from_rows(query: CallQuery, rows: list[tuple]) -> dict[str, Any]:
    """``{"calls": [...], "next": cursor | None}`` from ``page_sql``'s rows."""
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    calls = []
    for row in rows:
        call = dict(zip(CALL_COLUMNS, row[:len(CALL_COLUMNS)]))
        if isinstance(call["created_at"], dt.datetime):
            call["created_at"] = call["created_at"].isoformat()
        for money in ("total_cost", "saved_cost"):
            if call[money] is not None:
                call[money] = float(call[money])
        call["is_demo"] = bool(call["is_demo"])
        calls.append(call)
    next_cursor = None
    if more and rows:
        last = rows[-1]
        key = last[-1]
        key = key.isoformat() if isinstance(key, dt.datetime) else float(key) if query.sort == "cost" else key
        next_cursor = base64.urlsafe_b64encode(
            json.dumps([query.sort, key, last[0]]).encode()).decode()
    return {"calls": calls, "next": next_cursor}


def page_query_json(query: CallQuery) -> dict[str, Any]:
    """``query`` (checked) as the ``p_query`` of ``parley_calls``
    (``supabase/migrations/20251205000100_parley_call_browser.sql``): the cursor decoded into
    ``after`` = [sort key, id], times as ISO 8601 in UTC."""
    out: dict[str, Any] = {name: None if getattr(query, name) is None else list(getattr(query, name))
                           for name in _FILTERS}
    out.update(status=query.status, fallback=query.fallback, min_cost=query.min_cost,
               max_cost=query.max_cost, sort=query.sort, limit=query.limit,
               since=_stamp(query.since) if query.since else None,
               until=_stamp(query.until) if query.until else None)
    after = _cursor_values(query)
    out["after"] = None if after is None else [after[0], after[1]]
    return out


def _from_json(row: dict[str, Any], columns: tuple[str, ...]) -> list[Any]:
    """A JSON row's ``columns`` as Postgres gives them: timestamps as datetimes, times as floats."""
    values = [row[name] for name in columns]
    values[columns.index("created_at")] = dt.datetime.fromisoformat(row["created_at"])
    for name in ("response_time_ms", "ttft_ms"):
        if row[name] is not None:
            values[columns.index(name)] = float(row[name])
    return values


def page_rows_from_json(query: CallQuery, rows: list[dict[str, Any]]) -> list[tuple]:
    """``parley_calls``'s JSON rows as the tuples ``page_from_rows`` reads."""
    out = []
    for row in rows:
        key = row["sort_key"]
        key = dt.datetime.fromisoformat(key) if query.sort == "time" else key
        out.append((*_from_json(row, CALL_COLUMNS), key))
    return out


def detail_rows_from_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``parley_call``'s JSON rows as ``DETAIL_COLUMNS`` dicts, ready for ``call_detail``."""
    return [dict(zip(DETAIL_COLUMNS, _from_json(row, DETAIL_COLUMNS))) for row in rows]


def call_detail(row: dict[str, Any]) -> dict[str, Any]:
    """A ``DETAIL_COLUMNS`` row made readable: JSON decoded, the route and its reason and the
    token counts lifted out of ``metadata``."""
    out = dict(row)
    for key in ("messages", "metadata"):
        if isinstance(out.get(key), str):
            try:
                out[key] = json.loads(out[key])
            except json.JSONDecodeError:
                pass  # a hashed prompt (privacy: hash) is text, shown as it is
    if isinstance(out["created_at"], dt.datetime):
        out["created_at"] = out["created_at"].isoformat()
    for money in ("total_cost", "saved_cost"):
        if out[money] is not None:
            out[money] = float(out[money])
    meta = out.get("metadata") or {}
    out["route"], out["route_reason"] = meta.get("route"), meta.get("route_reason")
    out["is_demo"] = bool(out["is_demo"])
    return out
