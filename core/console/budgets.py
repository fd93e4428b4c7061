"""This month's spend per user against their budget, with a month-end forecast.

The forecast is the month's spend so far divided by the days elapsed (today counted as a
whole day) times the days in the month. Budgets themselves are ``core.guards.Budgets``.
"""
from __future__ import annotations

import calendar
import datetime as dt
from typing import TYPE_CHECKING

from core.guards import Budgets, month_query
from core.store.base import UsageReader

if TYPE_CHECKING:
    import pandas as pd  # noqa: F401

__all__ = ["budget_report", "forecast", "WARN_AT"]

WARN_AT = 0.8


def forecast(spent: float, today: dt.date) -> float:
    """Month-end spend at the current run rate (``spent`` so far this month, to ``today``)."""
    days = calendar.monthrange(today.year, today.month)[1]
    return spent / today.day * days


def budget_report(store: UsageReader, budgets: Budgets, today: dt.date, *,
                  include_demo: bool = False, users: tuple[str, ...] = ()) -> "pd.DataFrame":
    """This month's spend per user against their budget: ``user``, ``budget`` (NaN: none),
    ``spent``, ``forecast``, ``spent_pct`` and ``forecast_pct`` (of the budget), ``status``
    (``over`` at 100 %, ``warning`` at 80 %, ``on track`` below, ``no budget``). Users with
    spend this month or a budget of their own; ``users`` limits the rows. Most spent first."""
    import pandas as pd  # here, so that the service's budget check does not load pandas

    demo = None if include_demo else False
    rows = store.usage_rollup(month_query(today, tuple(users) or None, demo))
    spent = {row["user"]: row["cost"] for row in rows}
    names = set(spent) | {u for u in budgets.users if not users or u in users}
    out = []
    for user in sorted(names):
        budget, cost = budgets.for_user(user), spent.get(user, 0.0)
        projected = forecast(cost, today)
        share = None if not budget else cost / budget
        out.append({"user": user, "budget": budget, "spent": cost, "forecast": projected,
                    "spent_pct": None if share is None else 100 * share,
                    "forecast_pct": None if not budget else 100 * projected / budget,
                    "status": _status(budget, cost, share)})
    columns = ["user", "budget", "spent", "forecast", "spent_pct", "forecast_pct", "status"]
    frame = pd.DataFrame(out, columns=columns)
    frame = frame.astype({c: "float64" for c in columns[1:6]})
    return frame.sort_values(["spent", "user"], ascending=[False, True], ignore_index=True)


def _status(budget: float | None, cost: float, share: float | None) -> str:
    if budget is None:
        return "no budget"
    if (share is None and cost > 0) or (share is not None and share >= 1):
        return "over"
    return "warning" if share is not None and share >= WARN_AT else "on track"
