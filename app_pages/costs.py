"""Cost console (admins): spend per day, user, model, provider and feature; reliability and
latency; this month's tokens; budgets with forecasts; re-pricing; what the response cache
saved; spend alerts; CSV export. Every number
comes from the rollups through ``core.console.analytics``; demo rows are labelled as such."""
import datetime as dt

import streamlit as st

from core.console import analytics
from core.console.budgets import WARN_AT, budget_report
from core.guards import Budgets
from core.embedding_requests import embedding_models
from core.image_requests import image_models
from core.errors import ParleyError
from core.pricing import money
from ui import charts, tables
from ui.deps import service
from ui.state import require_admin

require_admin()
st.title("Cost console")
svc = service()
store = svc.store
if store is None:
    st.error("No call store is configured, so there is nothing to show; set PARLEY_DATABASE_URL.")
    st.stop()

today = dt.datetime.now(dt.timezone.utc).date()


def read_filters() -> analytics.Filters:
    """The filter bar: a date range, then users, providers, models and features among those
    with calls in that range, and whether demo rows count."""
    left, right = st.columns([2, 1])
    picked = left.date_input("Days", value=(today - dt.timedelta(days=29), today),
                             max_value=today, key="costs_days")
    include_demo = right.toggle("Include demo data", value=True, key="costs_demo",
                                help="Rows written by `python -m core demo`.")
    if not isinstance(picked, tuple) or len(picked) != 2:
        st.info("Pick the last day of the range.")
        st.stop()
    span = analytics.Filters(since=picked[0], until=picked[1], include_demo=include_demo)
    options = analytics.filter_options(store, span)
    chosen = {}
    for col, name in zip(st.columns(4), ("users", "providers", "models", "services")):
        kept = st.session_state.get(f"costs_{name}") or []  # a choice survives a date change
        chosen[name] = tuple(col.multiselect(name.capitalize(), sorted({*options[name], *kept}),
                                             key=f"costs_{name}", placeholder="all"))
    return analytics.Filters(since=picked[0], until=picked[1], include_demo=include_demo, **chosen)


def _count(n: int) -> str:
    """12,345 / 1.2M / 3.4B: short enough for a metric tile."""
    for size, suffix in ((1e9, "B"), (1e6, "M")):
        if n >= size:
            return f"{n / size:.1f}{suffix}"
    return f"{n:,}"


def show_totals(total: dict) -> None:
    cols = st.columns(5)
    cols[0].metric("Spend", money(total["cost"]))
    cols[1].metric("Calls", f"{total['calls']:,}")
    cols[2].metric("Tokens", _count(total["total_tokens"]))
    cols[3].metric("Failed", f"{total['failures'] / total['calls']:.1%}")
    cols[4].metric("Demo calls", f"{total['demo_calls']:,}")
    if total["demo_calls"]:
        which = ("All of these calls are" if total["demo_calls"] == total["calls"]
                 else f"{total['demo_calls']:,} of these {total['calls']:,} calls are")
        st.info(f"{which} **demo data** (`python -m core demo`). Switch off *Include demo data* "
                "to see real calls only.")
    if total["unpriced_calls"]:
        st.caption(f"{total['unpriced_calls']:,} calls have an unknown price; their cost is "
                   "not in these sums.")


def show_beyond_text(filters: analytics.Filters) -> None:
    """Prompt caching's saving, image generations, reasoning and tool calls: shown when any."""
    sums = analytics.beyond_text(store, filters)
    if not any(sums.values()):
        return
    saved = sums["saved_cost"]
    cols = st.columns(5)
    cols[0].metric("Cache saved", f"${saved:,.4f}" if saved >= 0 else f"-${-saved:,.4f}",
                   help="What prompt caching saved against paying the input rate for every cached "
                        "token (negative while cache writes cost more than reads saved).")
    cols[1].metric("Images", f"{sums['images']:,}", help=f"{sums['image_calls']:,} image generations")
    cols[2].metric("Reasoning tokens", _count(sums["reasoning_tokens"]))
    cols[3].metric("Cache read / write", f"{_count(sums['cache_read_tokens'])} / "
                                         f"{_count(sums['cache_write_tokens'])}")
    cols[4].metric("Tool calls", f"{sums['tool_calls']:,}")


def show_spend(filters: analytics.Filters) -> None:
    by = st.radio("Stack by", ["model", "provider", "kind"], horizontal=True, key="costs_stack",
                  help="kind: chat answers, generated images or embeddings")
    frame = (analytics.spend_by_kind_day(store, filters, set(image_models(svc.settings)),
                                         set(embedding_models(svc.settings)))
             if by == "kind" else analytics.spend_by_day(store, filters, by=by))
    st.plotly_chart(charts.spend_over_time(frame, by))
    left, right = st.columns(2)
    users = analytics.spend_by_user(store, filters)
    left.plotly_chart(charts.top_users(users, 10))
    right.plotly_chart(charts.spend_by(analytics.spend_by_service(store, filters), "service",
                                       "Spend per feature (service type)"))
    tables.show(users, key="costs_users_table", columns=_with_extras(
        users, ["user", "calls", "failures", "input_tokens", "output_tokens", "cost"]),
        unpriced=users["unpriced_calls"] >= users["calls"])


def show_clients(filters: analytics.Filters) -> None:
    """Spend per client (Claude Code, the SDKs, Parley's own app and CLI) and per user of each."""
    st.subheader("Clients")
    clients = analytics.spend_by_client(store, filters)
    if clients.empty:
        st.caption("No calls in this range.")
        return
    per_client = clients.groupby("client", as_index=False)[["cost", "calls"]].sum()
    st.plotly_chart(charts.spend_by(per_client, "client", "Spend per client"))
    tables.show(clients, key="costs_clients_table",
                columns=["client", "user", "calls", "failures", "input_tokens", "output_tokens", "cost"])


def _with_extras(frame, columns: list[str]) -> list[str]:
    """``columns``, plus the demo and unpriced counts when any row has some."""
    return columns + [c for c in ("unpriced_calls", "demo_calls") if frame[c].any()]


def show_models(filters: analytics.Filters) -> None:
    st.subheader("Models")
    models = analytics.model_summary(store, filters)
    left, right = st.columns(2)
    left.plotly_chart(charts.model_cost_tokens(models))
    right.plotly_chart(charts.reliability(models))
    st.plotly_chart(charts.latency(analytics.latency_by_model(store, filters)))
    local = {e.name for e in svc.catalog.with_references() if e.is_local} | {"local"}
    tables.show(models, key="costs_models_table", columns=_with_extras(
        models, ["model", "provider", "calls", "failure_rate", "fallback_rate", "input_tokens",
                 "output_tokens", "cost"]),
        local=models["model"].isin(local) & (models["cost"] == 0),
        unpriced=models["unpriced_calls"] >= models["calls"])


def show_month(filters: analytics.Filters) -> None:
    label = today.strftime("%B %Y")
    st.subheader(f"This month ({label})")
    tokens = analytics.month_tokens_by_user(store, filters, today)
    if tokens.empty:
        st.caption("No calls this month match the filters.")
    else:
        by = st.radio("Break down by", ["model", "provider"], horizontal=True, key="costs_month_by")
        st.plotly_chart(charts.month_tokens(tokens, by, label))
    report = budget_report(store, Budgets.from_settings(svc.settings), today,
                           include_demo=filters.include_demo, users=filters.users)
    if report.empty:
        return
    st.plotly_chart(charts.budgets(report))
    if report["budget"].isna().all():
        st.caption("No budgets are set, so there is nothing to compare these forecasts with: "
                   "add `budgets:` under `parley:` in parley.yaml (see parley.example.yaml).")
        return
    over = report[report["status"] == "over"]["user"].tolist()
    warned = report[report["status"] == "warning"]["user"].tolist()
    if over:
        st.error(f"Over budget: {', '.join(over)}.")
    if warned:
        st.warning(f"Above {WARN_AT:.0%} of budget: {', '.join(warned)}.")
    tables.show(report, key="costs_budget_table")


def show_reprice_side_by_side(filters: analytics.Filters) -> None:
    """As recorded (each call at the price then in force), at today's price-book entry, and
    on a model B the admin picks, per model."""
    names = svc.catalog.names()
    if not names or svc.prices is None:
        return
    other = st.selectbox("Model B", names, key="costs_reprice_other",
                         help="Price the same tokens at this model's prices.")
    side = analytics.reprice_side_by_side(store, filters, svc.catalog, svc.prices.current, other)
    if side.empty:
        return
    st.plotly_chart(charts.reprice_side_by_side(side, other))
    for row in side.itertuples():
        shown = ["price unknown" if value != value else money(value)
                 for value in (row.as_recorded, row.at_today, row.on_other)]
        st.markdown(f"- **{row.model}**: {shown[0]} as recorded · {shown[1]} at today's prices "
                    f"· {shown[2]} on {other}")


def show_reprice(filters: analytics.Filters, total: dict) -> None:
    st.subheader("Re-pricing")
    frame = analytics.reprice(store, filters, svc.catalog.with_references())
    st.caption("What these calls' tokens would have cost on each model, at its price per token; "
               "models that are not configured here are priced from LiteLLM's price list.")
    st.plotly_chart(charts.reprice(frame, total["cost"]))
    show_reprice_side_by_side(filters)
    for row in frame.itertuples():
        cost = "price unknown" if row.would_cost != row.would_cost else (
            "local (free)" if row.provider == "local" and not row.would_cost else money(row.would_cost))
        st.markdown(f"- These calls would have cost **{cost}** on **{row.display_name}**")


def show_cache(filters: analytics.Filters) -> None:
    """What the response cache (parley.cache) saved in the date range, per user and model."""
    rows = store.cache_savings(filters.since, filters.until)
    if not rows:
        return
    st.subheader("Saved by cache")
    st.caption(f"{sum(r['hits'] for r in rows):,} calls answered from the response cache "
               f"saved ${sum(r['saved'] for r in rows):,.2f}.")
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={"saved": st.column_config.NumberColumn("saved", format="$%.4f")})


def show_alerts() -> None:
    """The latest spend alerts (parley.alerts) and whether each was delivered."""
    alerts = store.list_alerts(20)
    if not alerts:
        return
    st.subheader("Alerts")
    st.dataframe([{"when": a["created_at"][:16].replace("T", " "), "alert": a["message"],
                   "delivered": "yes" if a["delivered_at"] else f"not yet ({a['last_error']})"}
                  for a in alerts], hide_index=True, width="stretch")


try:
    show_alerts()
    filters = read_filters()
    total = analytics.totals(store, filters)
    if not total["calls"]:
        st.info("No calls match these filters yet. Widen the dates or filters, make some calls, "
                "or fill the store with demo data: `python -m core demo --calls 10000`.")
        st.stop()
    show_totals(total)
    show_beyond_text(filters)
    show_spend(filters)
    show_clients(filters)
    show_models(filters)
    show_month(filters)
    show_reprice(filters, total)
    show_cache(filters)
    st.download_button("Download the filtered data (CSV)",
                       lambda: analytics.export_frame(store, filters).to_csv(index=False),
                       file_name=f"parley-usage-{filters.since}-{filters.until}.csv",
                       mime="text/csv", key="costs_export")
except ParleyError as err:
    st.error(str(err))
