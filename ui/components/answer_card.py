"""One column's answer: a header, the text, and a line of time, tokens and cost."""
from __future__ import annotations

import streamlit as st

from core.playground.sessions import answer_stats
from ui.components import answer_extras
from ui.components import safe_answer

__all__ = ["show", "BLIND_FAILURE"]

BLIND_FAILURE = "This model did not answer; what went wrong is shown after your vote."


def show(*, key: str, header: str, answer: dict, is_local: bool = False,
         hidden: bool = False) -> None:
    """Render ``answer`` (a ``GenerationResult.to_json`` dict) without fetching anything it
    links to. ``hidden`` (blind mode, before the vote) shows nothing that could tell which model
    answered: no time, tokens, cost, "local", fallback or error text naming a model."""
    st.markdown(f"**{header}**")
    if answer.get("error"):
        st.error(BLIND_FAILURE if hidden else answer["error"])
        return
    with st.container(border=True, key=f"{key}_box"):
        safe_answer.show(answer.get("content") or "_(empty answer)_")
    if hidden:
        st.caption(safe_answer.BLIND_CAPTION)
        return
    st.caption(answer_stats(answer, is_local))
    if answer.get("fallback_used"):
        st.badge(f"fallback: {answer.get('served_by')} answered", color="orange")
    answer_extras.show(key=f"{key}_extras", answer=answer, is_local=is_local)
