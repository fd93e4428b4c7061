"""The user's saved comparisons, newest first, with a button to reopen one."""
from __future__ import annotations

import streamlit as st

__all__ = ["show"]


def show(*, key: str, items: list[dict]) -> dict | None:
    """The saved comparison (a ``Store.comparisons`` row) the user chose to reopen, else None."""
    if not items:
        st.info("No saved comparisons yet: every comparison you send is kept here.")
        return None
    by_id = {item["id"]: item for item in items}
    chosen = st.selectbox("Past comparisons", list(by_id), key=f"{key}_choice",
                          format_func=lambda i: f"{str(by_id[i]['updated_at'])[:16]} · "
                                                f"{by_id[i]['title'] or '(untitled)'}")
    if st.button("Reopen", key=f"{key}_reopen"):
        return by_id[chosen]
    return None
