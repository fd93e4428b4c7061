"""Results for a column's pending tool calls: one box per call and a button to send them."""
from __future__ import annotations

import streamlit as st

__all__ = ["show"]


def show(*, key: str, calls: list[dict]) -> dict[str, str] | None:
    """A text box per call (``{"id", "name", "arguments"}``); on "Send tool results", the
    results by call id (None until then, or while a box is empty)."""
    st.markdown("**Tool results**")
    results = {call["id"]: st.text_input(f"Result of {call['name']}", key=f"{key}_{n}")
               for n, call in enumerate(calls)}
    ready = all(value.strip() for value in results.values())
    if st.button("Send tool results", key=f"{key}_send", disabled=not ready):
        return results
    return None
