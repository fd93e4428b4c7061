"""Who is using the app, kept in session state."""
from __future__ import annotations

import os

import streamlit as st

__all__ = ["current_user"]


def current_user() -> str:
    """The signed-in user's email when Streamlit auth is configured, else the name typed in
    the sidebar (default ``$PARLEY_USER`` or ``local@parley``)."""
    user = getattr(st, "user", None)
    if user is not None and getattr(user, "is_logged_in", False) and user.get("email"):
        return str(user.get("email"))
    if "parley_user" not in st.session_state:
        st.session_state.parley_user = os.environ.get("PARLEY_USER", "local@parley")
    return st.session_state.parley_user
