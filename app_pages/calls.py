"""Calls: every recorded call (admins: everyone's; users: their own), filtered and sorted,
one keyset page at a time. A selected call shows its details and opens in the playground;
selected calls become a dataset for Evaluations.

Session keys (all ``calls_*``): ``calls_cursors`` is the stack of page positions for the
current filters (``calls_filters``); a change of filters starts again from the first page."""
import datetime as dt

import streamlit as st

from core.errors import ParleyError
from core.store.base import CallBrowser
from core.store.call_pages import CallQuery
from core.validation import ColumnConfig
from ui.components import call_details, column_config
from ui.deps import evals, service
from ui.state import current_user, is_admin

svc, user = service(), current_user()
admin = is_admin()
reader = None if admin else user  # the store's row rule: a user reads only their own calls
store = svc.store
st.title("Calls")
if not isinstance(store, CallBrowser):
    st.error("The call log cannot be browsed on this store; use SQLite, Postgres or Supabase "
             "(PARLEY_DATABASE_URL).")
    st.stop()
st.caption("Every recorded call, newest first. " + ("You see everyone's calls (admin)." if admin
                                                   else "You see your own calls."))

with st.expander("Filters", expanded=False):
    a, b, c = st.columns(3)
    users = a.text_input("Users (comma-separated)", key="calls_users") if admin else ""
    models = b.multiselect("Models", svc.catalog.names(), key="calls_models")
    providers = c.multiselect("Providers", sorted({e.provider for e in svc.catalog}), key="calls_providers")
    services = a.text_input("Service types (comma-separated)", key="calls_services")
    keys = b.text_input("API key ids (comma-separated)", key="calls_keys")
    status = b.selectbox("Status", ["any", "success", "failure"], key="calls_status")
    fallback = c.checkbox("Only answers from a fallback", key="calls_fallback")
    days = a.date_input("Days", value=(), key="calls_days")
    low = b.number_input("Cost from ($)", min_value=0.0, value=None, format="%.6f", key="calls_min")
    high = c.number_input("Cost to ($)", min_value=0.0, value=None, format="%.6f", key="calls_max")
sort = st.segmented_control("Sort by", ["time", "cost"], default="time", key="calls_sort") or "time"


def _split(text: str) -> tuple[str, ...] | None:
    parts = tuple(p.strip() for p in (text or "").split(",") if p.strip())
    return parts or None


def _day(value: dt.date) -> dt.datetime:
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)


days = list(days) if isinstance(days, (list, tuple)) else [days]
filters = dict(users=_split(users), keys=_split(keys), models=tuple(models) or None,
               providers=tuple(providers) or None, services=_split(services),
               status=None if status == "any" else status, fallback=True if fallback else None,
               since=_day(days[0]) if days else None,
               until=_day(days[-1]) + dt.timedelta(days=1) if days else None,
               min_cost=low, max_cost=high, sort=sort, limit=50)
if st.session_state.get("calls_filters") != filters:
    st.session_state.update(calls_filters=filters, calls_cursors=[None])
cursors = st.session_state["calls_cursors"]
try:
    page = store.calls(CallQuery(**filters, cursor=cursors[-1]), as_user=reader)
except ParleyError as err:
    st.error(str(err))
    st.stop()
if not page["calls"] and len(cursors) == 1:
    unfiltered = all(value is None for name, value in filters.items() if name not in ("sort", "limit"))
    st.info("No calls recorded yet: calls made in Compare, Chat, Evaluations or through the API "
            "show up here." if unfiltered else "No calls match these filters.")
    st.stop()
if not page["calls"]:
    st.info("No more calls.")
rows = [{"Time": c["created_at"][:19].replace("T", " "), "User": c["user_id"],
         "Feature": c["service_type"], "Model": c["model"], "Status": c["status"],
         "Tokens in": c["input_tokens"] or 0, "Tokens out": c["output_tokens"] or 0,
         "Cost": ("–" if c["status"] != "success" and not c["total_cost"]
                  else call_details.cost_of(c)),
         "Took (ms)": None if c["response_time_ms"] is None else round(c["response_time_ms"]),
         "Notes": call_details.notes(c)}
        for c in page["calls"]]
NUMBER = st.column_config.NumberColumn(format="localized")  # 12,297, right-aligned
table = st.dataframe(rows, hide_index=True, on_select="rerun", selection_mode="multi-row",
                     key=f"calls_table_{len(cursors)}", width="stretch",
                     column_config={"Tokens in": NUMBER, "Tokens out": NUMBER, "Took (ms)": NUMBER})
back, position, forward = st.columns([1, 2, 1])
if back.button("← Newer", disabled=len(cursors) == 1, key="calls_back"):
    cursors.pop()
    st.rerun()
position.caption(f"Page {len(cursors)}")
if forward.button("Older →" if sort == "time" else "Cheaper →", disabled=page["next"] is None,
                  key="calls_next"):
    cursors.append(page["next"])
    st.rerun()

chosen = [page["calls"][i]["litellm_call_id"] for i in table.selection.rows]
if chosen:
    detail = store.call(chosen[0], as_user=reader)
    if detail is not None:
        call_details.show(key="calls_detail", call=detail)
        prompt = call_details.prompt_of(detail)
        if prompt and st.button("Open in playground", key="calls_open"):
            st.session_state["cmp_prompt"] = prompt
            column_config.load("cmp_col0", ColumnConfig(detail["model"],
                                                        system_prompt=call_details.system_of(detail)))
            st.switch_page("app_pages/compare.py")
    st.subheader(f"Make a dataset from {len(chosen)} selected call(s)")
    name = st.text_input("Dataset name", key="calls_dataset_name", placeholder="support_questions")
    if st.button("Make dataset", key="calls_dataset"):
        try:
            bench, _ = evals()
            made = bench.dataset_from_calls(chosen, name=name, user=user, as_user=reader)
        except ParleyError as err:
            st.error(str(err))
        else:
            st.success(f"Saved {made.ref} ({len(made.rows)} rows: prompt, system, expected); "
                       "run it from Evaluations.")
