"""Who is using the app, read from what Streamlit provides; the rules are in ``core.identity``.

Team mode is on when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's
built-in OIDC login): the identity is ``st.user.email`` and nothing typed in the app can
change it. Otherwise Parley runs in local mode, for one local user with admin rights.
"""
from __future__ import annotations

import ipaddress

import streamlit as st

from core import identity as access
from ui import deps
from ui.plain_text import plain

__all__ = ["access_mode", "client_is_local", "current_user", "is_admin", "login_page",
           "refuse_remote_client", "require_admin", "show_identity", "signed_in"]


def access_mode() -> str:
    """``access.TEAM`` when Streamlit auth is configured, else ``access.LOCAL``."""
    return access.TEAM if deps.team_mode() else access.LOCAL


def client_is_local() -> bool:
    """Whether this browser connects from this machine (a loopback address). Streamlit gives
    the TCP peer of the session's websocket as text, or None for loopback and for no session
    at all (a script run outside a server, such as a test harness)."""
    address = st.context.ip_address
    if not isinstance(address, str):
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def refuse_remote_client() -> None:
    """In local mode the one user is the admin, so only a browser on this machine may use
    Parley: anyone else gets a page saying why, and the script stops. Binding to 127.0.0.1
    (.streamlit/config.toml) is the first guard; this one holds when an operator overrides it."""
    if access_mode() != access.LOCAL or client_is_local():
        return
    st.title("Parley is in local mode")
    st.error("This Parley runs in local mode, where its one user is an admin, so it answers "
             "only browsers on the machine it runs on. To share it, the operator turns on "
             "team mode (sign-in); see the README.")
    st.stop()


def signed_in() -> bool:
    """Whether there is an identity to work under (always, in local mode)."""
    return access_mode() == access.LOCAL or _signed_in_email() is not None


def current_user() -> str:
    """The user id calls and reads are made under: the signed-in email in team mode, the
    local user otherwise. In team mode without a signed-in user, shows the login page and
    stops the script, so no page runs without an identity. Every page calls this first."""
    if access_mode() == access.LOCAL:
        refuse_remote_client()
        return access.local_user()
    email = _signed_in_email()
    if email is None:
        login_page()
        st.stop()
    return email


def _signed_in_email() -> str | None:
    """The signed-in user's id (their email, lower-cased); None when nobody is signed in. A
    sign-in whose email the identity provider has not verified (``core.identity.sign_in_problem``)
    cannot be used: say why in one sentence, offer to log out, and stop."""
    if not st.user.get("is_logged_in"):
        return None
    problem = access.sign_in_problem(st.user.to_dict(), deps.service().settings.allowed_domains)
    if problem:
        st.title("Parley")
        st.error(plain(problem))
        if st.button("Log out", key="parley_logout_refused"):
            st.logout()
        st.stop()
    return access.normalise_user(str(st.user.get("email")))


def is_admin() -> bool:
    """Whether the current user may see every user's data (always, in local mode)."""
    return access.is_admin(deps.service().settings, current_user(), mode=access_mode())


def require_admin() -> None:
    """Stop with an "Admins only" page unless the current user is an admin. Admin pages
    call this first, so a user who opens their URL directly sees no data."""
    if is_admin():
        return
    st.title("Admins only")
    st.error(f"This page is for Parley admins, and {plain(current_user())} is not one. "
             "Ask an admin to add your email to parley.admins if you need it.")
    st.stop()


def show_identity() -> None:
    """The sidebar lines saying who is signed in (the mode and role, then the user id on a
    line of its own, so neither wraps mid-phrase in the sidebar), with a log-out button in
    team mode."""
    user, mode = current_user(), access_mode()
    role = "admin" if is_admin() else "user"
    with st.sidebar:
        where = "Signed in" if mode == access.TEAM else "Local mode"
        st.caption(f"{where} · {role}  \n**{plain(user)}**")
        if mode == access.TEAM and st.button("Log out", key="parley_logout"):
            st.logout()


def login_page() -> None:
    """The only page a team-mode visitor sees before signing in."""
    st.title("Parley")
    st.write("Sign in to compare models, chat and see your usage.")
    auth = st.secrets.get("auth") or {}
    providers = [name for name, value in auth.items() if isinstance(value, dict)]
    if not providers:
        if st.button("Log in", type="primary", key="parley_login"):
            st.login()
        return
    for name in providers:
        if st.button(f"Log in with {name}", type="primary", key=f"parley_login_{name}"):
            st.login(name)
