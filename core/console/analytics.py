"""Spend and usage for the cost console, as pandas DataFrames, read from the rollups only.

Every function takes a ``UsageReader`` (``core.store.base``) and ``Filters`` (date range, users, providers, models,
service types, demo rows or not) and makes one or two rollup reads
(``Store.usage_rollup`` over ``usage_daily``, ``Store.performance_rollup`` over
``performance_daily``), so its cost depends on the number of rollup rows, never on the
number of calls. ``as_user`` reads under that user's identity (their own rows only unless
they are an admin), which is how ``/usage`` shows a user their own spend.

Costs are USD of calls whose price is known; ``unpriced_calls`` counts the others, whose
cost is unknown rather than zero. Latency percentiles are estimated from per-day histograms
(``core/store/rollups.py``), interpolated within a bucket.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Sequence

import pandas as pd

from core.store.base import UsageReader
from core.store.rollups import LATENCY_BOUNDS_MS, RollupQuery

__all__ = ["Filters", "USAGE_COLUMNS", "totals", "filter_options", "spend_by_day",
           "spend_by_user", "spend_by_service", "model_summary", "latency_by_model",
           "month_bounds", "month_tokens_by_user", "usage_breakdown", "export_frame", "reprice",
           "reprice_side_by_side",
           "percentile_from_histogram"]

USAGE_COLUMNS = ["calls", "failures", "input_tokens", "output_tokens", "total_tokens", "cost",
                 "unpriced_calls", "demo_calls"]
_DIMENSION_COLUMNS = ("day", "month", "user", "provider", "model", "service")


@dataclass(frozen=True)
class Filters:
    """Which calls a console view covers. ``since``/``until`` are inclusive UTC days; a
    None or empty tuple of names means all; ``include_demo`` False leaves demo rows out."""

    since: dt.date | None = None
    until: dt.date | None = None
    users: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    include_demo: bool = True

    def query(self, *by: str) -> RollupQuery:
        return RollupQuery(by=by, since=self.since, until=self.until,
                           users=tuple(self.users) or None,
                           providers=tuple(self.providers) or None,
                           models=tuple(self.models) or None,
                           services=tuple(self.services) or None,
                           demo=None if self.include_demo else False)


def _usage(store: UsageReader, filters: Filters, by: Sequence[str], as_user: str | None) -> pd.DataFrame:
    rows = store.usage_rollup(filters.query(*by), as_user=as_user)
    columns = [*by, *USAGE_COLUMNS]  # built column by column: much faster than from dicts
    frame = pd.DataFrame({c: [row[c] for row in rows] for c in columns}, columns=columns)
    if frame.empty:
        return frame.astype({c: "int64" for c in USAGE_COLUMNS} | {"cost": "float64"})
    frame["cost"] = frame["cost"].astype("float64")  # a sum of whole dollars may come as an int
    return frame


def totals(store: UsageReader, filters: Filters, *, as_user: str | None = None) -> dict[str, Any]:
    """Sums over the whole slice: ``USAGE_COLUMNS`` (all zero when nothing matches)."""
    frame = _usage(store, filters, (), as_user)
    if frame.empty:
        return {name: 0.0 if name == "cost" else 0 for name in USAGE_COLUMNS}
    return {name: frame[name].iloc[0].item() for name in USAGE_COLUMNS}


def beyond_text(store: UsageReader, filters: Filters, *, as_user: str | None = None) -> dict[str, Any]:
    """What the filtered calls did beyond text (``UsageReader.token_classes``): image
    generations and images, reasoning, cache read and write tokens, tool calls, and what prompt
    caching saved."""
    return store.token_classes(filters.query(), as_user=as_user)


def filter_options(store: UsageReader, filters: Filters, *, as_user: str | None = None) -> dict[str, list[str]]:
    """The users, providers, models and service types with calls in ``filters``' date range
    (other filters ignored, so a choice never hides the others): the filter widgets' options."""
    span = Filters(since=filters.since, until=filters.until, include_demo=filters.include_demo)
    users = _usage(store, span, ("user",), as_user)
    others = _usage(store, span, ("provider", "model", "service"), as_user)
    options = {"users": sorted(users["user"].tolist())}
    for name, column in (("providers", "provider"), ("models", "model"), ("services", "service")):
        options[name] = sorted(others[column].unique().tolist())
    return options


def spend_by_day(store: UsageReader, filters: Filters, *, by: str = "model",
                 as_user: str | None = None) -> pd.DataFrame:
    """One row per day and ``by`` (model | provider | service | user): ``day`` (a date),
    ``by``, then ``USAGE_COLUMNS``; ordered by day."""
    if by not in ("model", "provider", "service", "user"):
        raise ValueError(f"spend_by_day groups by model, provider, service or user, not {by!r}")
    frame = _usage(store, filters, ("day", by), as_user)
    frame["day"] = pd.to_datetime(frame["day"])
    return frame.sort_values(["day", by], ignore_index=True)


def spend_by_kind_day(store: UsageReader, filters: Filters, image_models: set[str],
                      embedding_models: set[str] = frozenset(), *,
                      as_user: str | None = None) -> pd.DataFrame:
    """One row per day and ``kind`` (``chat`` | ``image`` | ``embedding``), then
    ``USAGE_COLUMNS``: a model makes images, embeddings or answers, never two of them
    (``core.image_requests.image_models`` and ``core.embedding_requests.embedding_models``
    name them), so the kind of spend is its model's, read from the same rollup as
    ``spend_by_day``."""
    frame = spend_by_day(store, filters, by="model", as_user=as_user)
    frame["kind"] = ["image" if m in image_models else "embedding" if m in embedding_models
                     else "chat" for m in frame["model"]]
    grouped = frame.groupby(["day", "kind"], as_index=False)[USAGE_COLUMNS].sum()
    return grouped.sort_values(["day", "kind"], ignore_index=True)


CLIENT_COLUMNS = ["client", "user", "calls", "failures", "input_tokens", "output_tokens", "cost",
                  "unpriced_calls"]


def spend_by_client(store, filters: Filters, *, as_user: str | None = None) -> pd.DataFrame:
    """One row per client (``claude-code``, ``openai-python``, ...; core/api/clients.py;
    ``parley-app``, ``parley-cli``, ``parley-python`` for Parley's own calls) and
    user over the filters' days (and users), most expensive first: what each client costs,
    per developer."""
    rows = store.spend_by_client(since=filters.since, until=filters.until, as_user=as_user)
    frame = pd.DataFrame(rows, columns=CLIENT_COLUMNS)
    if filters.users:
        frame = frame[frame["user"].isin(filters.users)]
    return frame.sort_values(["cost", "client", "user"], ascending=[False, True, True],
                             ignore_index=True)


def _ranked(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.sort_values(["cost", key], ascending=[False, True], ignore_index=True)


def spend_by_user(store: UsageReader, filters: Filters, *, as_user: str | None = None) -> pd.DataFrame:
    """One row per user, ``USAGE_COLUMNS``, most expensive first (the top N is ``.head(n)``)."""
    return _ranked(_usage(store, filters, ("user",), as_user), "user")


def spend_by_service(store: UsageReader, filters: Filters, *, as_user: str | None = None) -> pd.DataFrame:
    """One row per service type (feature), ``USAGE_COLUMNS``, most expensive first."""
    return _ranked(_usage(store, filters, ("service",), as_user), "service")


def model_summary(store: UsageReader, filters: Filters, *, as_user: str | None = None) -> pd.DataFrame:
    """One row per model: ``provider``, ``USAGE_COLUMNS``, ``fallbacks`` (calls that stood in
    for a failed attempt), ``failure_rate`` and ``fallback_rate`` (of its calls), most
    expensive first."""
    usage = _usage(store, filters, ("model", "provider"), as_user)
    perf = pd.DataFrame(store.performance_rollup(filters.query("model", "provider"), as_user=as_user),
                        columns=["model", "provider", "fallbacks", "rt", "ttft"])
    frame = usage.merge(perf[["model", "provider", "fallbacks"]], on=["model", "provider"], how="left")
    frame["fallbacks"] = frame["fallbacks"].fillna(0).astype("int64")
    calls = frame["calls"].where(frame["calls"] > 0)
    frame["failure_rate"] = (frame["failures"] / calls).fillna(0.0)
    frame["fallback_rate"] = (frame["fallbacks"] / calls).fillna(0.0)
    return _ranked(frame, "model")


def percentile_from_histogram(counts: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of values counted per ``LATENCY_BOUNDS_MS`` bucket,
    interpolated linearly inside the bucket it falls in; None for an empty histogram. The
    open last bucket is taken to end at twice its lower bound."""
    total = sum(counts)
    if total == 0:
        return None
    rank, seen = q * total, 0
    for i, count in enumerate(counts):
        if count and seen + count >= rank:
            low = LATENCY_BOUNDS_MS[i - 1] if i else 0.0
            high = LATENCY_BOUNDS_MS[i] if i < len(LATENCY_BOUNDS_MS) else 2 * LATENCY_BOUNDS_MS[-1]
            return float(low + (high - low) * (rank - seen) / count)
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])


def latency_by_model(store: UsageReader, filters: Filters, *, as_user: str | None = None) -> pd.DataFrame:
    """One row per model: ``timed_calls``, ``p50_ms``, ``p95_ms`` (response time) and
    ``ttft_p50_ms``, ``ttft_p95_ms`` (time to first token; NaN when none was measured)."""
    rows = []
    for row in store.performance_rollup(filters.query("model"), as_user=as_user):
        rt, ttft = row["rt"], row["ttft"]
        rows.append({"model": row["model"], "timed_calls": sum(rt),
                     "p50_ms": percentile_from_histogram(rt, 0.50),
                     "p95_ms": percentile_from_histogram(rt, 0.95),
                     "ttft_p50_ms": percentile_from_histogram(ttft, 0.50),
                     "ttft_p95_ms": percentile_from_histogram(ttft, 0.95)})
    columns = ["model", "timed_calls", "p50_ms", "p95_ms", "ttft_p50_ms", "ttft_p95_ms"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({c: "float64" for c in columns[2:]} | {"timed_calls": "int64"})


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of ``day``'s month."""
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def month_tokens_by_user(store: UsageReader, filters: Filters, month: dt.date, *,
                         as_user: str | None = None) -> pd.DataFrame:
    """The tokens of ``month`` (any day in it) per user, model and provider, with
    ``USAGE_COLUMNS``; the filters' date range is replaced by the month."""
    first, last = month_bounds(month)
    return _usage(store, replace(filters, since=first, until=last), ("user", "model", "provider"),
                  as_user).sort_values(["user", "model"], ignore_index=True)


def usage_breakdown(store: UsageReader, filters: Filters, by: Sequence[str], *,
                    as_user: str | None = None) -> pd.DataFrame:
    """``USAGE_COLUMNS`` grouped by any of day, month, user, provider, model, service
    (in that order), most expensive first: the user's own page and ad-hoc tables."""
    frame = _usage(store, filters, tuple(d for d in _DIMENSION_COLUMNS if d in by), as_user)
    return frame.sort_values("cost", ascending=False, kind="stable", ignore_index=True)


def export_frame(store: UsageReader, filters: Filters, *, as_user: str | None = None) -> pd.DataFrame:
    """The filtered ``usage_daily`` rollup at its finest grain (day, user, provider, model,
    service) with ``USAGE_COLUMNS``: what the console's CSV export contains."""
    return _usage(store, filters, ("day", "user", "provider", "model", "service"), as_user)


def reprice(store: UsageReader, filters: Filters, catalog, *, as_user: str | None = None) -> pd.DataFrame:
    """What the slice's calls would have cost on each configured model, from their recorded
    input and output tokens and that model's per-token prices (the over-200k tier is not
    applied). One row per configured model: ``model``, ``display_name``, ``provider``,
    ``price_known``, ``would_cost`` (NaN when its price is unknown) and ``difference``
    (would_cost minus the recorded cost of the priced calls), cheapest first."""
    spent = totals(store, filters, as_user=as_user)
    rows = []
    for entry in catalog:
        would = None
        if entry.price_known:
            would = (spent["input_tokens"] * entry.input_cost_per_token
                     + spent["output_tokens"] * entry.output_cost_per_token)
        rows.append({"model": entry.name, "display_name": entry.display_name,
                     "provider": entry.provider, "price_known": entry.price_known,
                     "would_cost": would,
                     "difference": None if would is None else would - spent["cost"]})
    frame = pd.DataFrame(rows, columns=["model", "display_name", "provider", "price_known",
                                        "would_cost", "difference"])
    frame = frame.astype({"would_cost": "float64", "difference": "float64"})
    return frame.sort_values(["would_cost", "model"], na_position="last", ignore_index=True)


def reprice_side_by_side(store: UsageReader, filters: Filters, catalog, current_price,
                         other: str, *, as_user: str | None = None) -> pd.DataFrame:
    """For each model with calls in the slice, three costs of the same tokens side by side:
    ``as_recorded`` (what was recorded, each call at the price in force then), ``at_today``
    (at the price-book entry in force now: ``current_price(model)`` -> entry or None) and
    ``on_other`` (at ``other``'s configured prices). NaN where a price is unknown."""
    from core.price_book import CLASSES
    from core.pricing import TokenUsage, entry_rates, price_tokens

    frame = _usage(store, filters, ("model",), as_user)
    target = entry_rates(catalog.get(other))
    rows = []
    for row in frame.itertuples():
        usage = TokenUsage(int(row.input_tokens), int(row.output_tokens))
        today = current_price(row.model)
        rows.append({"model": row.model, "calls": int(row.calls), "as_recorded": float(row.cost),
                     "at_today": None if today is None else price_tokens(
                         {c: today.get(c) for c in CLASSES}, usage, today.get("tiers") or {}),
                     "on_other": price_tokens(target, usage)})
    columns = ["model", "calls", "as_recorded", "at_today", "on_other"]
    result = pd.DataFrame(rows, columns=columns)
    return result.astype({"as_recorded": "float64", "at_today": "float64", "on_other": "float64"})
