"""Monthly spending budgets per user: the console's spend-vs-budget table with a month-end
forecast, and the optional hard limit that refuses calls.

Configured in ``parley.yaml``::

    parley:
      budgets:
        default: 50            # USD per user per calendar month (UTC); omit for no default
        users: {alice@example.com: 100, bob@example.com: 0}
        hard: false            # true: refuse a user's calls once their budget is spent

Spend is read from the ``usage_daily`` rollup (known prices only; demo rows never count
against a budget). The forecast is the month's spend so far divided by the days elapsed
(today counted as a whole day) times the days in the month.
"""
from __future__ import annotations

import calendar
import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from core.errors import BudgetExceededError, ConfigError
from core.store.base import Store
from core.store.console import RollupQuery

if TYPE_CHECKING:
    import pandas as pd  # noqa: F401

__all__ = ["Budgets", "BudgetGuard", "budget_report", "forecast", "guard_for", "WARN_AT"]

WARN_AT = 0.8
_SOURCE = "parley.budgets"


@dataclass(frozen=True)
class Budgets:
    """USD per user per month: ``users`` by user id, else ``default`` (None = no budget)."""

    default: float | None = None
    users: Mapping[str, float] = field(default_factory=dict)
    hard: bool = False

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None, source: str = "configuration") -> "Budgets":
        """Parse ``parley.budgets``; a wrong shape raises ``ConfigError`` naming the key."""
        raw = dict(raw or {})
        unknown = sorted(set(raw) - {"default", "users", "hard"})
        if unknown:
            raise ConfigError(f"has unknown key(s) {unknown}; use default, users and hard",
                              source=source, key=_SOURCE)
        users = raw.get("users") or {}
        if not isinstance(users, Mapping):
            raise ConfigError("must map user ids to monthly USD amounts", source=source,
                              key=f"{_SOURCE}.users")
        hard = raw.get("hard", False)
        if not isinstance(hard, bool):
            raise ConfigError("must be true or false", source=source, key=f"{_SOURCE}.hard")
        default = raw.get("default")
        return cls(default=None if default is None else _amount(default, source, "default"),
                   users={str(u): _amount(v, source, f"users.{u}") for u, v in users.items()},
                   hard=hard)

    @classmethod
    def from_settings(cls, settings) -> "Budgets":
        return cls.from_config(settings.budgets, settings.source)

    def for_user(self, user_id: str) -> float | None:
        return self.users.get(user_id, self.default)

    @property
    def any(self) -> bool:
        return self.default is not None or bool(self.users)


def _amount(value: Any, source: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"must be a number of US dollars, 0 or more, not {value!r}",
                          source=source, key=f"{_SOURCE}.{key}")
    return float(value)


def forecast(spent: float, today: dt.date) -> float:
    """Month-end spend at the current run rate (``spent`` so far this month, to ``today``)."""
    days = calendar.monthrange(today.year, today.month)[1]
    return spent / today.day * days


def _month_query(today: dt.date, users: tuple[str, ...] | None, demo: bool | None) -> RollupQuery:
    return RollupQuery(by=("user",), since=today.replace(day=1), until=today, users=users, demo=demo)


def budget_report(store: Store, budgets: Budgets, today: dt.date, *,
                  include_demo: bool = False, users: tuple[str, ...] = ()) -> "pd.DataFrame":
    """This month's spend per user against their budget: ``user``, ``budget`` (NaN: none),
    ``spent``, ``forecast``, ``spent_pct`` and ``forecast_pct`` (of the budget), ``status``
    (``over`` at 100 %, ``warning`` at 80 %, ``on track`` below, ``no budget``). Users with
    spend this month or a budget of their own; ``users`` limits the rows. Most spent first."""
    import pandas as pd  # here, so that the service's budget check does not load pandas

    demo = None if include_demo else False
    rows = store.usage_rollup(_month_query(today, tuple(users) or None, demo))
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


class BudgetGuard:
    """Refuses a user's calls once their hard monthly budget is spent. Spend is read from
    the rollups through ``store_opener`` (opened on first use) and cached per user for
    ``ttl_s`` seconds, so the check costs one small read per user per interval."""

    def __init__(self, budgets: Budgets, store_opener: Callable[[], Store], *, ttl_s: float = 10.0,
                 today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.timezone.utc).date()):
        self.budgets, self._opener, self._ttl, self._today = budgets, store_opener, ttl_s, today
        self._store: Store | None = None
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, float]] = {}

    def _spent(self, user_id: str) -> float:
        cached = self._cache.get(user_id)
        if cached and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        with self._lock:
            if self._store is None:
                self._store = self._opener()
        rows = self._store.usage_rollup(_month_query(self._today(), (user_id,), False))
        spent = sum(row["cost"] for row in rows)
        self._cache[user_id] = (time.monotonic(), spent)
        return spent

    def check(self, user_id: str) -> None:
        """Raise ``BudgetExceededError`` when budgets are hard and ``user_id``'s is spent."""
        budget = self.budgets.for_user(user_id)
        if not self.budgets.hard or budget is None:
            return
        spent = self._spent(user_id)
        if spent >= budget:
            raise BudgetExceededError(
                f"{user_id} has spent ${spent:,.2f} of a ${budget:,.2f} monthly budget; calls "
                "are refused until next month unless an admin raises it in parley.budgets.")

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def guard_for(settings, env: Mapping[str, str] | None = None) -> BudgetGuard | None:
    """The guard for ``settings`` when ``parley.budgets.hard`` is on, else None. A wrong
    ``parley.budgets`` raises ``ConfigError`` here, when the service is built."""
    budgets = Budgets.from_settings(settings)
    if not budgets.hard or not budgets.any:
        return None
    from core.store import open_store

    return BudgetGuard(budgets, lambda: open_store(settings.database_url,
                                                   data_dir=settings.data_dir, env=env))
