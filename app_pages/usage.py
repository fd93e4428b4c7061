"""Your usage: your own spend, tokens and calls by model and feature, read under your
identity (the row-level-security rule: a user sees only their own calls)."""
import datetime as dt

import streamlit as st

from core.console import analytics
from core.console.budgets import forecast
from core.guards import Budgets
from core.errors import ParleyError
from core.pricing import money
from ui import charts, tables
from ui.deps import service
from ui.plain_text import plain
from ui.state import current_user

user = current_user()
st.title("Your usage")
svc = service()
store = svc.store
if store is None:
    st.error("No call store is configured, so there is no usage to show; set PARLEY_DATABASE_URL.")
    st.stop()

today = dt.datetime.now(dt.timezone.utc).date()
periods = {"This month": today.replace(day=1), "Last 7 days": today - dt.timedelta(days=6),
           "Last 30 days": today - dt.timedelta(days=29), "Last 90 days": today - dt.timedelta(days=89)}
period = st.segmented_control("Period", list(periods), default="This month", key="usage_period") \
    or "This month"
filters = analytics.Filters(since=periods[period], until=today, users=(user,))

try:
    total = analytics.totals(store, filters, as_user=user)
    if not total["calls"]:
        st.info(f"No calls by {plain(user)} in this period yet. Calls you make in Compare, Chat or "
                "Evaluations, with `python -m core` on this machine, or through the HTTP API "
                "with one of your API keys show up here.")
        st.stop()
    by_model = analytics.usage_breakdown(store, filters, ("model",), as_user=user)
    local = {e.name for e in svc.catalog if e.is_local}
    free_and_local = not total["cost"] and set(by_model["model"]) <= local
    cols = st.columns(4)
    cols[0].metric("Spend", "local" if free_and_local else money(total["cost"]))
    cols[1].metric("Calls", f"{total['calls']:,}")
    cols[2].metric("Tokens", f"{total['total_tokens']:,}")
    cols[3].metric("Failed", f"{total['failures']:,}")
    if total["demo_calls"]:
        st.caption("All of these calls are demo data." if total["demo_calls"] == total["calls"]
                   else f"{total['demo_calls']:,} of these {total['calls']:,} calls are demo data.")
    budget = Budgets.from_settings(svc.settings).for_user(user)
    if budget is not None:
        month = analytics.totals(store, analytics.Filters(since=today.replace(day=1), until=today,
                                                          users=(user,), include_demo=False),
                                 as_user=user)
        st.progress(min(month["cost"] / budget, 1.0) if budget else 1.0,
                    text=f"${month['cost']:,.2f} of your ${budget:,.2f} monthly budget; "
                         f"at this rate ${forecast(month['cost'], today):,.2f} by month end")
    by_feature = analytics.usage_breakdown(store, filters, ("service",), as_user=user)
    if total["cost"]:
        left, right = st.columns(2)
        left.plotly_chart(charts.spend_by(by_model, "model", "Your spend per model"))
        right.plotly_chart(charts.spend_by(by_feature, "service", "Your spend per feature"))
    else:  # only free (local) or unpriced calls: a $0 chart would say nothing
        st.caption("No spend to chart: every call in this period was free (a local model) or "
                   "has no known price. Tokens instead:")
        left, right = st.columns(2)
        left.plotly_chart(charts.tokens_by(by_model, "model", "Your tokens per model"))
        right.plotly_chart(charts.tokens_by(by_feature, "service", "Your tokens per feature"))
    st.subheader("By model and feature")
    rows = analytics.usage_breakdown(store, filters, ("model", "service"), as_user=user)
    tables.show(rows, key="usage_table", columns=["model", "service", "calls", "failures",
                                                  "input_tokens", "output_tokens", "cost"]
                + (["demo_calls"] if rows["demo_calls"].any() else []),
                local=rows["model"].isin(local) & (rows["cost"] == 0),
                unpriced=rows["unpriced_calls"] >= rows["calls"])
except ParleyError as err:
    st.error(str(err))
