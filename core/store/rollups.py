"""What the cost console asks a store for: rollup slices, and the performance rollup's shape.

Two rollups are kept current on write, so no console read scans ``request_logs``:

- ``usage_daily`` (calls, failures, tokens, cost), and
- ``performance_daily``, on the same key (day x user x provider x model x service type x
  demo): ``fallbacks`` (calls that stood in for a failed attempt, i.e. whose ``fallback_of``
  is set) and two latency histograms, ``rt_00..rt_16`` (response time) and
  ``ttft_00..ttft_16`` (time to first token), counting calls per bucket of
  ``LATENCY_BOUNDS_MS``. Bucket ``i`` holds values ``v`` with
  ``bounds[i-1] <= v < bounds[i]`` (bucket 0: below the first bound; the last: at or above
  the last bound), which is Postgres's ``width_bucket`` and Python's ``bisect_right``.

Changing the bounds changes the table: it takes a new migration on every backend.

So that a console query reads a number of rows bounded by days x (what it groups by), not
by how many calls there were, each rollup is also kept at coarser grains (``GRAINS``), like
LiteLLM's per-entity daily spend tables: without the user (``usage_daily_models``,
``performance_daily_models``), per user only (``usage_daily_users``) and per month
(``usage_monthly``, its ``month`` the month's first day). ``pick_grain`` chooses the
smallest one holding every dimension a query groups or filters by. Grains without a
user column are readable by admins only; a read ``as_user`` always uses one with it.
"""
from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from core.errors import BadRequestError
from core.results import CallRecord

__all__ = ["LATENCY_BOUNDS_MS", "BUCKETS", "ROLLUP_DIMENSIONS", "RollupQuery", "Grain",
           "USAGE_GRAINS", "PERFORMANCE_GRAINS", "KEY_COLUMNS", "pick_grain", "coarser",
           "rollup_increments", "performance_row", "usage_rollup_row"]

LATENCY_BOUNDS_MS = (50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10000,
                     15000, 30000, 60000)
BUCKETS = len(LATENCY_BOUNDS_MS) + 1
ROLLUP_DIMENSIONS = ("day", "month", "user", "provider", "model", "service")


KEY_COLUMNS = {"user": "user_id", "provider": "provider", "model": "model", "service": "service_type"}
_FILTERED = {"users": "user", "providers": "provider", "models": "model", "services": "service"}


@dataclass(frozen=True)
class Grain:
    """One rollup table: its name, the dimensions it keeps (of ``KEY_COLUMNS``), and its
    period column (``day``, or ``month`` holding the month's first day)."""

    table: str
    dims: tuple[str, ...]
    period: str = "day"

    @property
    def key_columns(self) -> list[str]:
        return [self.period, *(KEY_COLUMNS[d] for d in self.dims), "is_demo"]


_ALL = ("user", "provider", "model", "service")
USAGE_GRAINS = (Grain("usage_daily_models", ("provider", "model", "service")),
                Grain("usage_daily_users", ("user",)),
                Grain("usage_monthly", _ALL, "month"),
                Grain("usage_daily", _ALL))
PERFORMANCE_GRAINS = (Grain("performance_daily_models", ("provider", "model", "service")),
                      Grain("performance_daily", _ALL))


def pick_grain(grains: Sequence[Grain], query: "RollupQuery", *, as_user: str | None = None) -> Grain:
    """The first (smallest) of ``grains`` able to answer ``query``: it keeps every dimension
    the query groups or filters by (the user's, when read ``as_user``), and is daily unless
    the query is by month or over whole months."""
    needed = {d for d in query.by if d in KEY_COLUMNS}
    needed |= {dim for name, dim in _FILTERED.items() if getattr(query, name) is not None}
    if as_user is not None:
        needed.add("user")
    monthly_ok = "day" not in query.by and query.whole_months
    for grain in grains:
        if needed <= set(grain.dims) and (grain.period == "day" or monthly_ok):
            return grain
    return grains[-1]


def coarser(increments: Sequence[tuple], grain: Grain) -> list[tuple]:
    """Full-grain rollup increments (day, user, provider, model, service, demo, *measures)
    summed up to ``grain``'s key: what the same calls add to that table."""
    keep = [1 + ("user", "provider", "model", "service").index(d) for d in grain.dims]
    sums: dict[tuple, list] = {}
    for row in increments:
        key = (row[0][:7] + "-01" if grain.period == "month" else row[0],
               *(row[i] for i in keep), row[5])
        acc = sums.get(key)
        if acc is None:
            sums[key] = list(row[6:])
        else:
            for i, value in enumerate(row[6:]):
                acc[i] += value
    return [(*key, *acc) for key, acc in sorted(sums.items())]


@dataclass(frozen=True)
class RollupQuery:
    """One slice of the rollups: group by ``by`` (a subset of ``ROLLUP_DIMENSIONS``, in
    that order; empty = one total row), days ``since``..``until`` inclusive, and only the
    listed users / providers / models / service types (None = all). ``demo``: None = all
    rows, False = real calls only, True = demo rows only."""

    by: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    users: tuple[str, ...] | None = None
    providers: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None
    services: tuple[str, ...] | None = None
    demo: bool | None = None

    def __post_init__(self) -> None:
        unknown = [d for d in self.by if d not in ROLLUP_DIMENSIONS]
        if unknown or len(set(self.by)) != len(self.by):
            raise BadRequestError(f"Rollups can be grouped by {', '.join(ROLLUP_DIMENSIONS)} "
                                  f"(each once), not {', '.join(map(repr, self.by))}.")
        if self.since and self.until and self.since > self.until:
            raise BadRequestError(f"The first day ({self.since}) is after the last ({self.until}).")
        for name in ("users", "providers", "models", "services"):
            values = getattr(self, name)
            if values is not None and not all(isinstance(v, str) for v in values):
                raise BadRequestError(f"The {name} filter must be a list of names.")

    @property
    def whole_months(self) -> bool:
        """Whether the range starts on a month's first day and ends on a month's last (or
        is open at that end), so a monthly rollup answers it exactly."""
        ends_ok = self.until is None or (self.until + dt.timedelta(days=1)).day == 1
        return (self.since is None or self.since.day == 1) and ends_ok

    def to_json(self, grain: Grain | None = None) -> dict[str, Any]:
        """The ``p_query`` argument of ``parley_console_usage``/``parley_console_performance``
        (``table``: the grain to read, checked against a fixed list in SQL)."""
        return {"by": list(self.by), "table": grain.table if grain else None,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
                "users": _listed(self.users), "providers": _listed(self.providers),
                "models": _listed(self.models), "services": _listed(self.services),
                "demo": self.demo}

    def only_user(self, user_id: str) -> "RollupQuery":
        """The same slice restricted to one user's rows (what row-level security leaves)."""
        users = (user_id,) if self.users is None or user_id in self.users else ()
        return RollupQuery(self.by, self.since, self.until, users, self.providers,
                           self.models, self.services, self.demo)


def _listed(values: Iterable[str] | None) -> list[str] | None:
    return None if values is None else list(values)


def rollup_increments(records: Sequence[CallRecord],
                      stamps: Sequence[str]) -> tuple[list[tuple], list[tuple]]:
    """What new records add to the full-grain rollups, in one pass: ``usage_daily`` rows
    (key, then calls, failures, input/output/total tokens, cost, unpriced calls) and
    ``performance_daily`` rows (key, then fallbacks and the ``rt``/``ttft`` bucket counts).
    The key is (day, user, provider, model, service type, demo); ``stamps`` are the records'
    ``created_at`` as stored (UTC ISO text)."""
    usage: dict[tuple, list] = {}
    performance: dict[tuple, list[int]] = {}
    bounds, ttft_base = LATENCY_BOUNDS_MS, 1 + BUCKETS
    for record, stamp in zip(records, stamps):
        key = (stamp[:10], record.user_id, record.provider, record.model, record.service_type,
               int(record.is_demo))
        use = usage.get(key)
        if use is None:
            use = usage[key] = [0, 0, 0, 0, 0, 0.0, 0]
            perf = performance[key] = [0] * (1 + 2 * BUCKETS)
        else:
            perf = performance[key]
        use[0] += 1
        if record.status == "failure":
            use[1] += 1
        use[2] += record.input_tokens or 0
        use[3] += record.output_tokens or 0
        use[4] += record.total_tokens or 0
        if record.total_cost is None:
            use[6] += 1
        else:
            use[5] += record.total_cost
        if record.fallback_of is not None:
            perf[0] += 1
        if record.response_time_ms is not None:
            perf[1 + bisect.bisect_right(bounds, record.response_time_ms)] += 1
        if record.ttft_ms is not None:
            perf[ttft_base + bisect.bisect_right(bounds, record.ttft_ms)] += 1
    keys = sorted(usage)
    return [(*k, *usage[k]) for k in keys], [(*k, *performance[k]) for k in keys]


def usage_rollup_row(row: dict[str, Any]) -> dict[str, Any]:
    """One ``parley_console_usage`` row as the protocol states it. JSON already gives
    counts as int and days as ``YYYY-MM-DD``; only ``cost`` needs care (a whole-dollar
    numeric sum arrives as an int). In place: a console read may return thousands."""
    row["cost"] = float(row["cost"] or 0)
    return row


def performance_row(row: dict[str, Any]) -> dict[str, Any]:
    """One ``parley_console_performance`` row: ``fallbacks`` int, ``rt``/``ttft`` lists of
    ``BUCKETS`` ints (as JSON gives them)."""
    row["fallbacks"] = int(row["fallbacks"] or 0)
    return row
