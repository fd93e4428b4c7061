"""Blind-vote buttons: "A better", "B better", ..., "Tie", "Both bad"."""
from __future__ import annotations

import streamlit as st

__all__ = ["show"]


def show(*, key: str, letters: str) -> str | None:
    """The outcome clicked this run (a letter, ``tie`` or ``both_bad``), else None."""
    choices = [(f"{letter} better", letter) for letter in letters] + [("Tie", "tie"),
                                                                       ("Both bad", "both_bad")]
    clicked = None
    for column, (label, outcome) in zip(st.columns(len(choices)), choices):
        if column.button(label, key=f"{key}_{outcome}", width="stretch"):
            clicked = outcome
    return clicked
