"""Audit log (admins): who changed keys, budgets, everyone's preferences, templates, the admin
list, prices and imported bills; when, and the value before and after. Read only: nobody can
change an entry."""
import datetime as dt
import json

import pandas as pd
import streamlit as st

from core.audit import ACTIONS, audit_entries
from ui.deps import service
from ui.state import require_admin

require_admin()
st.title("Audit log")
store = service().store
if store is None:
    st.error("No call store is configured, so there is no audit log; set PARLEY_DATABASE_URL.")
    st.stop()

today = dt.datetime.now(dt.timezone.utc).date()
left, middle, right = st.columns(3)
since = left.date_input("From", value=today - dt.timedelta(days=30), max_value=today,
                        key="audit_since")
families = ["all"] + sorted({a.split(".")[0] + "." for a in ACTIONS}) + list(ACTIONS)
action = middle.selectbox("Action", families, key="audit_action")
actor = right.text_input("Who", key="audit_actor", placeholder="anyone").strip().lower() or None
entries = audit_entries(store, since=since, action=None if action == "all" else action,
                        actor=actor)
if not entries:
    st.info("No audit entries for this filter. Key, budget, price, template and admin changes "
            "appear here as they are made.")
    st.stop()


def shown(value) -> str:
    return "–" if value is None else json.dumps(value, sort_keys=True, default=str)


st.caption(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, newest first.")
st.dataframe(pd.DataFrame([{"When (UTC)": e["created_at"][:19].replace("T", " "), "Who": e["actor"],
                            "Action": e["action"], "On": e["target"], "Before": shown(e["before"]),
                            "After": shown(e["after"])} for e in entries]),
             hide_index=True, width="stretch")

labels = {f"#{e['id']} · {e['action']} · {e['target']}": e for e in entries}
chosen = labels[st.selectbox("Entry", list(labels), key="audit_entry",
                             help="The whole value before and after the change.")]
for column, side, none in zip(st.columns(2), ("before", "after"),
                              ("Nothing: the change made it.", "Nothing: the change removed it.")):
    column.caption(side.capitalize())
    if chosen[side] is None:
        column.write(none)
    else:
        column.json(chosen[side], expanded=True)
