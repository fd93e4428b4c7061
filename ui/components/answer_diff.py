"""Word-by-word difference between two answers of the latest turn."""
from __future__ import annotations

import html

import streamlit as st

from core.playground.sessions import word_diff

__all__ = ["show"]

_STYLE = {"delete": "background:#ffd7d5;text-decoration:line-through",
          "insert": "background:#ccffd8"}


def show(*, key: str, answers: dict[str, str]) -> None:
    """Pick two of ``answers`` (label -> text) and see what differs."""
    labels = list(answers)
    if len(labels) < 2:
        return
    left_col, right_col = st.columns(2)
    left = left_col.selectbox("From", labels, index=0, key=f"{key}_left")
    right = right_col.selectbox("To", labels, index=1, key=f"{key}_right")
    pieces = word_diff(answers[left], answers[right])
    body = "".join(_inert(text) if op == "equal" else
                   f'<span style="{_STYLE[op]}">{_inert(text)}</span>' for op, text in pieces)
    st.markdown(f'<div style="white-space:pre-wrap">{body}</div>', unsafe_allow_html=True)


def _inert(text: str) -> str:
    """Answer text as HTML that stays text: escaped, with no blank line (which would end the
    HTML block and let Markdown, images included, be parsed again) and no ``!`` to start an
    image with."""
    return html.escape(text).replace("\n", "&#10;").replace("!", "&#33;")
