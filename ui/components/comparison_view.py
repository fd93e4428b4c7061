"""A comparison's turns: the prompt, then each column's answer in display order."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from core.playground.sessions import Comparison
from ui.components import answer_card, safe_answer, tool_results

__all__ = ["show", "header"]


def header(comparison: Comparison, column: int) -> str:
    """``Model A`` while names are hidden, else ``A · gemini · t=0.7 · max 1024``."""
    if comparison.hidden:
        return f"Model {comparison.letter(column)}"
    return f"{comparison.letter(column)} · {comparison.columns[column].label()}"


def show(*, key: str, comparison: Comparison, local_models: set[str],
         on_tool_results: Callable[[int, dict[str, str]], None] | None = None) -> int | None:
    """Render every turn; the column whose "Continue with this answer" was clicked, else None
    (offered on the latest turn's answers once names are visible). A latest answer with tool
    calls gets a box per call; sending them calls ``on_tool_results(column, results)``."""
    chosen = None
    for n, turn in enumerate(comparison.turns):
        last = n == len(comparison.turns) - 1
        files = f" 📎 {', '.join(turn['attachments'])}" if turn.get("attachments") else ""
        safe_answer.show(f"**You:** {turn['prompt']}{files}")
        order = comparison.display_order()
        for place, column in zip(st.columns(len(order)), order):
            with place:
                answer = turn["answers"][column]
                answer_card.show(key=f"{key}_{n}_{column}", header=header(comparison, column),
                                 answer=answer, is_local=answer.get("served_by") in local_models,
                                 hidden=comparison.hidden)
                pending = comparison.pending_tool_calls(column) if last and not comparison.hidden else []
                if pending and on_tool_results is not None:
                    results = tool_results.show(key=f"{key}_tools_{column}", calls=pending)
                    if results is not None:
                        on_tool_results(column, results)
                elif last and not comparison.hidden and not answer.get("error") and st.button(
                        "Continue with this answer", key=f"{key}_continue_{column}"):
                    chosen = column
    return chosen
