"""Preferences: your default model and per-service overrides, saved as you pick them."""
import streamlit as st

from core.routing import preferences
from core.errors import ParleyError
from core.pricing import cost_label, estimate_cost
from ui.deps import evals, service
from ui.state import current_user

TYPICAL_IN, TYPICAL_OUT = 1_000, 500  # tokens of "a typical request" priced beside each model
DEFAULT_KEY, NOTICE_KEY = "prefs_default", "prefs_notice"
FALL_BACK = ""  # the choice that removes a stored model (no model is named ""): calls fall back

svc, user = service(), current_user()
book = svc.preferences
st.title("Preferences")
st.caption(f"Calls that name no model use your choice here. A typical request is priced as "
           f"{TYPICAL_IN:,} tokens in and {TYPICAL_OUT:,} out.")


def describe(name: str) -> str:
    entry = svc.catalog.get(name)
    typical = cost_label(estimate_cost(entry, TYPICAL_IN, TYPICAL_OUT).cost, entry.is_local)
    typical = {"local": "a typical request costs nothing",
               "price unknown": "price of a typical request unknown"}.get(
        typical, f"typical request {typical}")
    parts = [entry.choice_label(badge=True), typical,
             None if entry.available else "not available: " + "; ".join(entry.missing)]
    return " · ".join(p for p in parts if p)


def save(key: str, service_type: str | None) -> None:
    """Store the model picked under ``key``; the "Use my default" / "Use the app default"
    choice (``FALL_BACK``) removes the stored one instead, so calls fall back a level."""
    model = st.session_state[key]
    if model is None:
        return
    try:
        if model == FALL_BACK:
            preferences.clear(book.store, svc.settings, user, service_type)
        else:
            preferences.save(book.store, svc.catalog, user, model, service_type)
    except ParleyError as err:
        st.session_state[NOTICE_KEY] = ("error", str(err))
        return
    book.forget(user)
    st.session_state[NOTICE_KEY] = ("success", saved_message(model, service_type))


def saved_message(model: str, service_type: str | None) -> str:
    if model != FALL_BACK:
        what = f"your model for {service_type}" if service_type else "your default model"
        return f"Saved: {svc.catalog.get(model).display_name} is now {what}."
    now = preferences.resolved(book.store, svc.settings, svc.catalog, user, service_type)
    if service_type:
        return f"Saved: {service_type} now uses your default model: {display_name(now['model'])}."
    return f"Saved: you now use the app default model: {display_name(now['model'])}."


def app_default_label() -> str:
    return f"Use the app default: {display_name(svc.settings.default_model)}"


def display_name(model: str) -> str:
    return svc.catalog.get(model).display_name if model in svc.catalog.names() else model


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

options = [FALL_BACK, *names]
current = stored.get(None) if stored.get(None) in names else FALL_BACK
st.subheader("Default model")
st.selectbox("Default model", options, index=options.index(current),
             format_func=lambda n: app_default_label() if n == FALL_BACK else describe(n),
             key=DEFAULT_KEY, on_change=save, args=(DEFAULT_KEY, None),
             label_visibility="collapsed")

if svc.settings.service_types:
    st.subheader("Per service type")
    st.caption("Backend features can use a different model than your default.")
for service_type in svc.settings.service_types:
    chosen = stored.get(service_type) if stored.get(service_type) in names else FALL_BACK
    st.selectbox(service_type, options, index=options.index(chosen),
                 format_func=lambda n: "Use my default" if n == FALL_BACK else describe(n),
                 key=f"prefs_{service_type}", on_change=save,
                 args=(f"prefs_{service_type}", service_type))

rows = [preferences.resolved(book.store, svc.settings, svc.catalog, user, s)
        for s in (None, *svc.settings.service_types)]
st.subheader("What your calls get")
st.dataframe([{"Service type": r["service"] or "(any other)", "Model": display_name(r["model"]),
               "Because": {"service": "your override", "user": "your default",
                           "everyone": "set for everyone", "default": "the app's default"
                           }[r["source"]]} for r in rows],
             hide_index=True, width="stretch")

try:
    decided = evals()[0].evals.decisions([user, preferences.EVERYONE])
except ParleyError:
    decided = []
if decided:
    st.subheader("Decided by evaluations")
    st.caption("Model choices applied from an evaluation run; the run shows why.")
    st.dataframe([{"Service type": d["service_type"], "Model": display_name(d["model"]),
                   "For": "everyone" if d["user_id"] == preferences.EVERYONE else "you",
                   "Decided by": d["decided_by"], "When": d["created_at"][:16].replace("T", " "),
                   "Run": f"/evals?run={d['run_id']}"} for d in decided],
                 hide_index=True, width="stretch",
                 column_config={"Run": st.column_config.LinkColumn("Run", display_text=r"run=(.*)")})
