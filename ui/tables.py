"""Tables as people read them, for every page: headers in words, money in dollars with the
precision it needs (``core.pricing.money``: ``< $0.0001``, never ``$0.0000``), ``local`` for
a free local model's cost, ``price unknown`` where nobody knows it, percentages as
percentages, counts with thousands separators.

The frame keeps its numbers (a pandas Styler only changes what is shown), so sorting a column
in the browser still sorts by value.
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd
import streamlit as st

from core.pricing import money

__all__ = ["show", "words"]

_WORDS = {"total_tokens": "Tokens", "cost": "Spend", "unpriced_calls": "Calls with no price",
          "demo_calls": "Demo calls", "failure_rate": "Failed", "fallback_rate": "Answered as fallback",
          "service": "Feature", "p50_ms": "Response p50", "p95_ms": "Response p95",
          "ttft_p50_ms": "First token p50", "ttft_p95_ms": "First token p95",
          "spent_pct": "Spent (of budget)", "forecast_pct": "Forecast (of budget)",
          "would_cost": "Would cost", "display_name": "Model",
          "as_recorded": "As recorded", "at_today": "At today's prices", "on_other": "On model B",
          "drift": "Off by (% of bill)", "provider_reported": "Provider said"}
_MONEY = {"cost", "spent", "forecast", "budget", "would_cost", "difference", "avg_cost",
          "billed", "recorded", "as_recorded", "at_today", "on_other", "provider_reported"}
_PERCENT = {"failure_rate", "fallback_rate", "spent_pct", "forecast_pct", "win_rate", "drift"}
_MS = {"p50_ms", "p95_ms", "ttft_p50_ms", "ttft_p95_ms", "response_time_ms", "ttft_ms"}


def words(column: str) -> str:
    """``input_tokens`` -> ``Input tokens`` (and a few better names, ``cost`` -> ``Spend``)."""
    return _WORDS.get(column) or column.replace("_", " ").capitalize()


def show(frame: pd.DataFrame, *, key: str, columns: Iterable[str] | None = None,
         local: pd.Series | None = None, unpriced: pd.Series | None = None,
         height: int | str = "auto") -> None:
    """Render ``frame`` (only ``columns`` when given, in that order) with words for headers
    and each column formatted by its name: money (``cost``, ``spent``, ...), rates (``*_rate``,
    ``*_pct``: fractions shown as %), times (``*_ms``), counts (other numbers). ``local`` and
    ``unpriced`` are boolean masks over the rows whose money shows as ``local`` / ``price
    unknown`` instead of a number."""
    names = list(columns) if columns is not None else list(frame.columns)
    shown = frame[names].rename(columns=words)  # st.dataframe shows a Styler's data's headers
    styler = shown.style
    for name in names:
        styler = styler.format(_formatter(name, frame[name]), subset=[words(name)], na_rep="–")
    for mask, text in ((local, "local"), (unpriced, "price unknown")):
        if mask is None or not mask.any():
            continue
        for name in (n for n in names if n in _MONEY):
            styler = styler.format(lambda _, t=text: t, subset=(mask[mask].index, [words(name)]))
    st.dataframe(styler, hide_index=True, key=key, height=height, width="stretch")


def _formatter(column: str, values: pd.Series):
    if column in _MONEY:
        return money
    if column in _PERCENT:
        return "{:.1%}".format
    if column in _MS:
        return "{:,.0f} ms".format
    if pd.api.types.is_integer_dtype(values):
        return "{:,}".format
    if pd.api.types.is_float_dtype(values):
        return "{:,.0f}".format
    return str
