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
"""
from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from core.errors import BadRequestError
from core.results import CallRecord

__all__ = ["LATENCY_BOUNDS_MS", "BUCKETS", "ROLLUP_DIMENSIONS", "RollupQuery",
           "latency_bucket", "performance_increments", "performance_row", "usage_rollup_row"]

LATENCY_BOUNDS_MS = (50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10000,
                     15000, 30000, 60000)
BUCKETS = len(LATENCY_BOUNDS_MS) + 1
ROLLUP_DIMENSIONS = ("day", "month", "user", "provider", "model", "service")
_COUNTS = ("calls", "failures", "input_tokens", "output_tokens", "total_tokens",
           "unpriced_calls", "demo_calls")


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

    def to_json(self) -> dict[str, Any]:
        """The ``p_query`` argument of ``parley_console_usage``/``parley_console_performance``."""
        return {"by": list(self.by),
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


def latency_bucket(ms: float | None) -> int | None:
    """The histogram bucket of a latency in ms (None: not measured)."""
    return None if ms is None else bisect.bisect_right(LATENCY_BOUNDS_MS, ms)


def performance_increments(records: Sequence[CallRecord], stamps: Sequence[str]) -> list[tuple]:
    """``performance_daily`` increments for new records: per (day, user, provider, model,
    service type, demo): fallbacks, then the ``rt`` and ``ttft`` bucket counts."""
    sums: dict[tuple, list[int]] = {}
    for record, stamp in zip(records, stamps):
        key = (stamp[:10], record.user_id, record.provider, record.model, record.service_type,
               int(record.is_demo))
        acc = sums.get(key)
        if acc is None:
            acc = sums[key] = [0] * (1 + 2 * BUCKETS)
        acc[0] += record.fallback_of is not None
        if record.response_time_ms is not None:
            acc[1 + bisect.bisect_right(LATENCY_BOUNDS_MS, record.response_time_ms)] += 1
        if record.ttft_ms is not None:
            acc[1 + BUCKETS + bisect.bisect_right(LATENCY_BOUNDS_MS, record.ttft_ms)] += 1
    return [(*key, *acc) for key, acc in sorted(sums.items())]


def usage_rollup_row(row: dict[str, Any]) -> dict[str, Any]:
    """Normalise one ``usage_rollup`` row from any backend: counts int, cost float, keys str."""
    out = dict(row)
    for name in _COUNTS:
        out[name] = int(out.get(name) or 0)
    out["cost"] = float(out.get("cost") or 0)
    return _dimensions_as_text(out)


def performance_row(row: dict[str, Any]) -> dict[str, Any]:
    """Normalise one ``performance_rollup`` row: ``fallbacks`` int, ``rt``/``ttft`` lists of
    ``BUCKETS`` ints."""
    out = dict(row)
    out["fallbacks"] = int(out.get("fallbacks") or 0)
    for name in ("rt", "ttft"):
        counts = [int(c or 0) for c in (out.get(name) or [])]
        out[name] = counts + [0] * (BUCKETS - len(counts))
    return _dimensions_as_text(out)


def _dimensions_as_text(row: dict[str, Any]) -> dict[str, Any]:
    for name in ROLLUP_DIMENSIONS:
        if name in row and row[name] is not None:
            row[name] = str(row[name])[:10] if name in ("day", "month") else str(row[name])
    return row
