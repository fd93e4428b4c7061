"""Blind-vote win rates per contestant (a model, or a model's configuration when the columns of
a comparison shared one model, told apart by letter when two columns were identical) beside
the average cost of an answer."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.playground.sessions import IDENTICAL, shown_as
from core.pricing import cost_label

__all__ = ["show"]


def show(*, key: str, rows: list[dict], local_models: set[str] = frozenset()) -> None:
    """A table of ``Store.leaderboard`` rows; an empty state that says how to fill it."""
    if not rows:
        st.info("No blind votes yet. Turn on **Blind mode**, send a prompt and pick the better "
                "answer. With one model, give the columns different settings (temperature, max "
                "tokens or a system prompt): each configuration then competes.")
        return
    table = pd.DataFrame([{
        "Contestant": r["model"], "Win rate": f"{r['win_rate']:.0%}", "Votes": r["votes"],
        "Wins": r["wins"], "Ties": r["ties"], "Losses": r["losses"], "Both bad": r["both_bad"],
        "Avg cost / answer": _avg_cost(r, local_models),
        "Wins per $": (f"{r['wins'] / (r['avg_cost'] * r['priced_answers']):,.0f}"
                       if r["avg_cost"] and r["priced_answers"] else "–"),
        "Avg time": "–" if r["avg_latency_ms"] is None else f"{r['avg_latency_ms']:,.0f} ms",
    } for r in rows])
    st.table(table.set_index("Contestant"))
    st.caption("Win rate counts a tie as half a win. Where the columns ran one model, each "
               "configuration (model · settings) is a contestant.")
    if any(shown_as(r["model"]) for r in rows):
        st.caption(f"Rows ending “{IDENTICAL.strip(' ·')} A” (or B, C, D) come from votes between "
                   "identical columns, the same model with the same settings: they measure how much "
                   "one configuration's answers vary, and whether the answer shown first is "
                   "favoured, not which settings are better.")


def _avg_cost(row: dict, local_models: set[str]) -> str:
    is_local = row["model"].split(" · ")[0] in local_models
    if not row["priced_answers"]:
        return "local" if is_local else "price unknown"
    return cost_label(row["avg_cost"], is_local)
