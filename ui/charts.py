"""DataFrame -> plotly Figure for the cost console and the usage page; the only module that
imports plotly. Each function takes a frame from ``core.console.analytics`` (or ``core.console.budgets``)
with the columns its docstring names, and never queries anything itself.
"""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.pricing import money

__all__ = ["spend_over_time", "spend_by", "top_users", "model_cost_tokens", "reliability",
           "latency", "month_tokens", "budgets", "reprice"]

_HEIGHT = 360
_MONEY = "$%{y:,.4~f}"  # $0.0012, $2.5: as many decimals as the amount needs, up to 4


def _tidy(fig: go.Figure, title: str, height: int = _HEIGHT) -> go.Figure:
    """Title, size and margins; every value axis starts at 0, so a chart of nothing but $0
    shows 0..1, never -1..1."""
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=50, b=10),
                      legend_title_text="", hovermode="closest")
    fig.update_yaxes(rangemode="nonnegative")
    return fig


def _money_axis(fig: go.Figure, axis: str = "y", **kwargs) -> None:
    """Dollar ticks (``$0.05``, ``$1.2k``), from 0."""
    update = fig.update_yaxes if axis == "y" else fig.update_xaxes
    update(tickprefix="$", tickformat=",.4~r", rangemode="nonnegative", **kwargs)


def spend_over_time(frame: pd.DataFrame, by: str) -> go.Figure:
    """Daily spend stacked by ``by``: columns ``day``, ``by``, ``cost``, ``calls``."""
    fig = px.bar(frame, x="day", y="cost", color=by, hover_data={"calls": ":,"},
                 labels={"cost": "spend (USD)", "day": ""})
    fig.update_layout(barmode="stack", bargap=0.1)
    fig.update_traces(hovertemplate=None)
    _money_axis(fig)
    return _tidy(fig, f"Spend per day by {by}")


def spend_by(frame: pd.DataFrame, key: str, title: str) -> go.Figure:
    """Spend per ``key`` (e.g. service type): columns ``key``, ``cost``, ``calls``."""
    fig = px.bar(frame, x=key, y="cost", hover_data={"calls": ":,"},
                 labels={"cost": "spend (USD)", key: ""})
    fig.update_traces(text=[money(cost) for cost in frame["cost"]], textposition="auto")
    _money_axis(fig)
    return _tidy(fig, title)


def tokens_by(frame: pd.DataFrame, key: str, title: str) -> go.Figure:
    """Input and output tokens per ``key``, stacked, calls on hover: columns ``key``,
    ``input_tokens``, ``output_tokens``, ``calls`` (for calls that cost nothing to chart)."""
    long = frame.melt(id_vars=[key, "calls"], value_vars=["input_tokens", "output_tokens"],
                      var_name="tokens", value_name="count")
    long["tokens"] = long["tokens"].str.replace("_tokens", "")
    fig = px.bar(long, x=key, y="count", color="tokens", hover_data={"calls": ":,"},
                 labels={"count": "tokens", key: "", "tokens": ""})
    fig.update_yaxes(tickformat="~s")
    return _tidy(fig, title)


def top_users(frame: pd.DataFrame, n: int = 10) -> go.Figure:
    """The ``n`` users who spent most, as horizontal bars: columns ``user``, ``cost``, ``calls``."""
    top = frame.head(n).iloc[::-1]
    fig = px.bar(top, x="cost", y="user", orientation="h", hover_data={"calls": ":,"},
                 labels={"cost": "spend (USD)", "user": ""})
    _money_axis(fig, "x")
    return _tidy(fig, f"Top {min(n, len(frame))} users by spend")


def model_cost_tokens(frame: pd.DataFrame) -> go.Figure:
    """Cost (bars, left axis) and tokens (markers, right axis) per model: columns ``model``,
    ``cost``, ``input_tokens``, ``output_tokens``."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=frame["model"], y=frame["cost"], name="spend",
                         hovertemplate=_MONEY), secondary_y=False)
    for column, name in (("input_tokens", "input tokens"), ("output_tokens", "output tokens")):
        fig.add_trace(go.Scatter(x=frame["model"], y=frame[column], name=name, mode="markers",
                                 marker=dict(size=12)), secondary_y=True)
    _money_axis(fig, title_text="spend (USD)", secondary_y=False)
    # an overlaying axis syncs its ticks to the left one by default (179.979k); round ones instead
    fig.update_yaxes(title_text="tokens", rangemode="nonnegative", tickformat="~s", tickmode="auto",
                     showgrid=False, secondary_y=True)
    fig = _tidy(fig, "Cost and tokens per model")
    # the legend goes under the title: at the right it would cover the tokens axis
    fig.update_layout(legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"))
    return fig


def reliability(frame: pd.DataFrame) -> go.Figure:
    """Failure and fallback rates per model, counts on hover: columns ``model``, ``calls``,
    ``failures``, ``fallbacks``, ``failure_rate``, ``fallback_rate``."""
    fig = go.Figure()
    for rate, count, name in (("failure_rate", "failures", "failed"),
                              ("fallback_rate", "fallbacks", "answered as a fallback")):
        fig.add_trace(go.Bar(x=frame["model"], y=100 * frame[rate], name=name,
                             customdata=frame[[count, "calls"]].to_numpy(),
                             hovertemplate="%{y:.1f}% (%{customdata[0]:,} of %{customdata[1]:,} calls)"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(ticksuffix="%", title_text="share of calls")
    return _tidy(fig, "Failures and fallbacks per model")


def latency(frame: pd.DataFrame) -> go.Figure:
    """p50/p95 response time and time to first token per model: columns ``model``,
    ``p50_ms``, ``p95_ms``, ``ttft_p50_ms``, ``ttft_p95_ms``."""
    fig = go.Figure()
    for column, name in (("p50_ms", "response p50"), ("p95_ms", "response p95"),
                         ("ttft_p50_ms", "first token p50"), ("ttft_p95_ms", "first token p95")):
        fig.add_trace(go.Bar(x=frame["model"], y=frame[column], name=name,
                             hovertemplate="%{y:,.0f} ms"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(ticksuffix=" ms")
    return _tidy(fig, "Latency per model")


def month_tokens(frame: pd.DataFrame, by: str, month_label: str) -> go.Figure:
    """Tokens per user this month stacked by ``by`` (model | provider): columns ``user``,
    ``by``, ``total_tokens``."""
    summed = frame.groupby(["user", by], as_index=False)["total_tokens"].sum()
    fig = px.bar(summed, x="user", y="total_tokens", color=by,
                 labels={"total_tokens": "tokens", "user": ""})
    fig.update_layout(barmode="stack")
    return _tidy(fig, f"Tokens per user, {month_label}, by {by}")


def budgets(frame: pd.DataFrame) -> go.Figure:
    """Spend so far, month-end forecast and budget per user: columns ``user``, ``spent``,
    ``forecast``, ``budget`` (NaN: no budget)."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=frame["user"], y=frame["spent"], name="spent so far",
                         hovertemplate=_MONEY))
    fig.add_trace(go.Bar(x=frame["user"], y=frame["forecast"], name="month-end forecast",
                         opacity=0.45, hovertemplate=_MONEY))
    fig.add_trace(go.Scatter(x=frame["user"], y=frame["budget"], name="budget",
                             mode="markers", marker=dict(symbol="line-ew-open", size=28,
                                                         line=dict(width=3))))
    fig.update_layout(barmode="overlay")
    _money_axis(fig)
    return _tidy(fig, "This month: spend, forecast and budget")


def reprice(frame: pd.DataFrame, actual: float) -> go.Figure:
    """What the calls would have cost on each model: columns ``display_name``, ``would_cost``;
    ``actual`` (what they did cost) is drawn as a line. A free local model's bar reads "local"."""
    priced = frame.dropna(subset=["would_cost"])
    fig = go.Figure(go.Bar(x=priced["display_name"], y=priced["would_cost"],
                           text=[money(c) if c else "local (free)" for c in priced["would_cost"]],
                           textposition="outside", hovertemplate=_MONEY))
    fig.add_hline(y=actual, line_dash="dash", annotation_text=f"recorded {money(actual)}")
    _money_axis(fig, title_text="would cost (USD)")
    return _tidy(fig, "The same calls on another model")



def reprice_side_by_side(frame: pd.DataFrame, other: str) -> go.Figure:
    """Per model: ``as_recorded``, ``at_today`` and ``on_other`` as grouped bars."""
    fig = go.Figure()
    for column, name in (("as_recorded", "as recorded"), ("at_today", "at today's prices"),
                         ("on_other", f"on {other}")):
        fig.add_trace(go.Bar(x=frame["model"], y=frame[column], name=name, hovertemplate=_MONEY))
    fig.update_layout(barmode="group")
    _money_axis(fig)
    return _tidy(fig, "The same tokens: as recorded, at today's prices, on another model")


def reconciliation(frame: pd.DataFrame) -> go.Figure:
    """Billed against recorded per day (columns ``day``, ``billed``, ``recorded``, summed over
    models), with the difference as a line."""
    daily = frame.groupby("day", as_index=False)[["billed", "recorded"]].sum()
    fig = go.Figure()
    fig.add_trace(go.Bar(x=daily["day"], y=daily["billed"], name="billed by the provider",
                         hovertemplate=_MONEY))
    fig.add_trace(go.Bar(x=daily["day"], y=daily["recorded"], name="recorded by Parley",
                         hovertemplate=_MONEY))
    fig.add_trace(go.Scatter(x=daily["day"], y=daily["billed"] - daily["recorded"],
                             name="difference", mode="lines+markers", hovertemplate=_MONEY))
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category")  # one bar group per day, not a time axis in milliseconds
    _money_axis(fig)
    return _tidy(fig, "Provider's bill against recorded cost, per day")
