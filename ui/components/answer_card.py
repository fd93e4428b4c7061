"""One column's answer: a header, the text, and a line of time, tokens and cost."""
from __future__ import annotations

import streamlit as st

from core.playground.sessions import answer_stats
from ui.components import answer_extras

__all__ = ["show"]


def show(*, key: str, header: str, answer: dict, is_local: bool = False,
         hidden: bool = False) -> None:
    """Render ``answer`` (a ``GenerationResult.to_json`` dict). ``hidden`` keeps the model's
    name out of the stats line (blind mode)."""
    st.markdown(f"**{header}**")
    if answer.get("error"):
        st.error(answer["error"])
        return
    with st.container(border=True, key=f"{key}_box"):
        st.markdown(answer.get("content") or "_(empty answer)_")
    stats = dict(answer)
    if hidden:
        stats["fallback_used"] = False
    st.caption(answer_stats(stats, is_local))
    if answer.get("fallback_used") and not hidden:
        st.badge(f"fallback: {answer.get('served_by')} answered", color="orange")
    answer_extras.show(key=f"{key}_extras", answer=answer, is_local=is_local)
