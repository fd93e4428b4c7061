"""A run's share link: its owner (or an admin) makes one, sees it once, and can stop sharing.
Anyone signed in who has the link opens the run read-only (``/evals?share=<token>``); only a
hash of the token is stored, so a lost link is replaced by a new one."""
from __future__ import annotations

import streamlit as st

from core.errors import ParleyError

__all__ = ["show"]


def show(bench, run_id: str, *, user: str, admin: bool, key: str) -> None:
    """The share controls of one run, for its owner or an admin (the store refuses others)."""
    made = st.session_state.get(f"{key}_made")
    left, right = st.columns(2)
    if left.button("Make a share link", key=f"{key}_make"):
        try:
            made = (run_id, bench.share(run_id, user=user, as_user=None if admin else user))
        except ParleyError as err:
            st.error(str(err))
        st.session_state[f"{key}_made"] = made
    if right.button("Stop sharing", key=f"{key}_stop"):
        try:
            gone = bench.stop_sharing(run_id, as_user=None if admin else user)
        except ParleyError as err:
            st.error(str(err))
        else:
            st.session_state.pop(f"{key}_made", None)
            made = None
            st.caption(f"{gone} link(s) to this run no longer open it.")
    if made and made[0] == run_id:
        st.code(f"/evals?share={made[1]}", language=None)
        st.caption("Anyone signed in with this link sees the run read-only; inputs and answers "
                   "only as parley.privacy allows. It is shown once: copy it now.")
