"""API keys: make a key for the HTTP API (the secret is shown once), see yours, revoke one.
Admins make and revoke keys for anyone and see every key. A user who is not an admin makes
keys for themselves within the key policy (``parley.key_policy``), shown above the form."""
import datetime as dt

import streamlit as st

from core.errors import ParleyError
from ui.deps import keyring, service
from ui.plain_text import plain
from ui.state import current_user, is_admin

SECRET_KEY = "keys_new_secret"
NOTICE_KEY = "keys_notice"


def policy_text(limits: dict) -> str:
    """The caps of ``KeyStore.key_limits`` as one sentence."""
    parts = []
    if limits.get("monthly_budget") is not None:
        parts.append(f"a monthly budget of at most ${float(limits['monthly_budget']):,.2f}")
    if limits.get("rate_limit_per_minute") is not None:
        parts.append(f"at most {limits['rate_limit_per_minute']} calls a minute")
    if limits.get("expiry_days") is not None:
        parts.append(f"an expiry within {limits['expiry_days']} days")
    if limits.get("models") is not None:
        parts.append(f"only {', '.join(limits['models'])}")
    if limits.get("max_keys") is not None:
        parts.append(f"at most {limits['max_keys']} active keys")
    return (", ".join(parts) or "no caps") + "."


svc, user, admin = service(), current_user(), is_admin()
acting = None if admin else user  # an admin (the local user included) acts without the policy
keys = keyring()
st.title("API keys")
st.caption("Point any OpenAI SDK at this app's `/v1` with a key as its `api_key`: calls are "
           "priced, recorded under the key's user and governed by its limits. "
           "Parley keeps only a hash of each key.")

made = st.session_state.pop(SECRET_KEY, None)
if made:
    st.success(f"Key {made['prefix']} made for {plain(made['user'])}. Copy it now: it is not shown again.")
    st.code(made["secret"], language=None)
notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    (st.success if notice[0] == "success" else st.error)(notice[1])

limits = None if admin else keys.store.key_limits(user, as_user=user)
if limits:
    st.caption("Keys you make stay within the key policy your admins set: " + policy_text(limits))

with st.form("new_key", clear_on_submit=True):
    st.subheader("New key")
    owner = st.text_input("User", value=user, disabled=not admin,
                          help="The user the key's calls are recorded under.")
    name = st.text_input("Name", placeholder="e.g. support backend")
    left, right = st.columns(2)
    service_type = left.selectbox("Service type", ["(any)", *svc.settings.service_types],
                                  accept_new_options=svc.settings.source == "environment",
                                  help="Without a config file, type any feature name.")
    models = right.multiselect("Models it may use (none: any)", svc.catalog.names())
    budget = left.number_input("Monthly budget, USD (0: none)", min_value=0.0, step=5.0)
    rate = right.number_input("Calls per minute (0: no limit)", min_value=0, step=10)
    expires = left.date_input("Expires", value=None, min_value=dt.date.today() + dt.timedelta(days=1))
    if st.form_submit_button("Create key", type="primary"):
        try:
            secret, key = keys.create(
                owner if admin else user, created_by=user, catalog=svc.catalog, name=name,
                service_type=None if service_type == "(any)" else service_type,
                models=models or None, budget=budget or None, rate_limit=int(rate) or None,
                expires=expires.isoformat() if expires else None, as_user=acting)
        except ParleyError as err:
            st.session_state[NOTICE_KEY] = ("error", str(err))
        else:
            st.session_state[SECRET_KEY] = {"secret": secret, "prefix": key.prefix, "user": key.user_id}
        st.rerun()

try:
    listed = [k.to_json() for k in keys.list(None if admin else user, as_user=acting)]
except ParleyError as err:
    st.error(str(err))
    st.stop()
if not listed:
    st.info("No keys yet. Make one above.")
    st.stop()

st.subheader("Keys" if admin else "Your keys")
columns = ["prefix", "name", "user", "status", "service_type", "models", "monthly_budget",
           "rate_limit_per_minute", "expires_at", "created_at"]
st.dataframe([{c: (", ".join(k[c]) if c == "models" and k[c] else k[c]) for c in columns}
              for k in listed], hide_index=True, width="stretch")

active = [k["prefix"] for k in listed if k["status"] == "active"]
if active:
    left, right = st.columns([3, 1])
    chosen = left.selectbox("Key to revoke", active)
    if right.button("Revoke", type="secondary"):
        try:
            keys.revoke(chosen, as_user=acting)
        except ParleyError as err:
            st.session_state[NOTICE_KEY] = ("error", str(err))
        else:
            st.session_state[NOTICE_KEY] = ("success", f"Key {chosen} is revoked; calls with it "
                                                       "are refused.")
        st.rerun()
