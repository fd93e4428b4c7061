"""Blind-vote win rates per model beside the average cost of an answer."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.pricing import cost_label

__all__ = ["show"]


def show(*, key: str, rows: list[dict]) -> None:
    """A table of ``Store.leaderboard`` rows; an empty state when nobody has voted."""
    if not rows:
        st.info("No blind votes yet. Turn on blind mode, send a prompt and vote.")
        return
    table = pd.DataFrame([{
        "Model": r["model"], "Win rate": f"{r['win_rate']:.0%}", "Votes": r["votes"],
        "Wins": r["wins"], "Ties": r["ties"], "Losses": r["losses"], "Both bad": r["both_bad"],
        "Avg cost / answer": cost_label(r["avg_cost"]) if r["priced_answers"] else "price unknown",
        "Wins per $": (f"{r['wins'] / (r['avg_cost'] * r['priced_answers']):,.0f}"
                       if r["avg_cost"] and r["priced_answers"] else "–"),
        "Avg time": "–" if r["avg_latency_ms"] is None else f"{r['avg_latency_ms']:.0f} ms",
    } for r in rows])
    st.table(table.set_index("Model"))
    st.caption("Win rate counts a tie as half a win. Votes between a model and itself compare "
               "settings, not models, and are left out.")
