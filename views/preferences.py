"""Preferences: your default model and per-service overrides, saved as you pick them."""
import streamlit as st

from core import preferences
from core.errors import ParleyError
from core.pricing import cost_label, estimate_cost
from ui.deps import service
from ui.state import current_user

TYPICAL_IN, TYPICAL_OUT = 1_000, 500  # tokens of "a typical request" priced beside each model
DEFAULT_KEY, NOTICE_KEY = "prefs_default", "prefs_notice"

svc, user = service(), current_user()
book = svc.preferences
st.title("Preferences")
st.caption(f"Calls that name no model use your choice here. A typical request is priced as "
           f"{TYPICAL_IN:,} tokens in and {TYPICAL_OUT:,} out.")


def describe(name: str) -> str:
    entry = svc.catalog.get(name)
    typical = cost_label(estimate_cost(entry, TYPICAL_IN, TYPICAL_OUT).cost, entry.is_local)
    parts = [entry.display_name, entry.badge, entry.price_label(), f"typical request {typical}",
             None if entry.available else "not available: " + "; ".join(entry.missing)]
    return " · ".join(p for p in parts if p)


def save(key: str, service_type: str | None) -> None:
    model = st.session_state[key]
    if model is None:
        return
    try:
        preferences.save(book.store, svc.catalog, user, model, service_type)
    except ParleyError as err:
        st.session_state[NOTICE_KEY] = ("error", str(err))
        return
    book.forget(user)
    what = f"your model for {service_type}" if service_type else "your default model"
    st.session_state[NOTICE_KEY] = ("success", f"Saved: {svc.catalog.get(model).display_name} "
                                               f"is now {what}.")


try:
    stored = preferences.stored(book.store, user)
except ParleyError as err:
    st.error(str(err))
    st.stop()

names = svc.catalog.names()
notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    (st.success if notice[0] == "success" else st.error)(notice[1])
for service_type, model in stored.items():
    if model not in names:
        where = f"for {service_type}" if service_type else "as your default"
        now = preferences.resolved(book.store, svc.settings, svc.catalog, user, service_type)
        st.warning(f"You saved {model!r} {where}, but it is not configured any more; calls "
                   f"use {now['model']} until you pick another.")

current = stored.get(None) if stored.get(None) in names else svc.settings.default_model
st.subheader("Default model")
st.selectbox("Default model", names, index=names.index(current) if current in names else 0,
             format_func=describe, key=DEFAULT_KEY, on_change=save, args=(DEFAULT_KEY, None),
             label_visibility="collapsed")

if svc.settings.service_types:
    st.subheader("Per service type")
    st.caption("Backend features can use a different model than your default.")
for service_type in svc.settings.service_types:
    chosen = stored.get(service_type) if stored.get(service_type) in names else None
    options = names if chosen else [None, *names]  # an override once stored is changed, not removed
    st.selectbox(service_type, options, index=options.index(chosen),
                 format_func=lambda n: "Use my default" if n is None else describe(n),
                 key=f"prefs_{service_type}", on_change=save,
                 args=(f"prefs_{service_type}", service_type))

rows = [preferences.resolved(book.store, svc.settings, svc.catalog, user, s)
        for s in (None, *svc.settings.service_types)]
st.subheader("What your calls get")
st.dataframe([{"service type": r["service"] or "(any other)", "model": r["model"],
               "because": {"service": "your override", "user": "your default",
                           "default": "the app's default"}[r["source"]]} for r in rows],
             hide_index=True, width="stretch")
