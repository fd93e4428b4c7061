"""A comparison's turns: the prompt, then each column's answer in display order."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from core.playground.sessions import Comparison
from ui.components import answer_card, column_config, safe_answer, tool_results

__all__ = ["show", "header"]

ToolResults = Callable[[int, dict[str, str]], None]


def header(comparison: Comparison, column: int, display_names: dict[str, str] | None = None) -> str:
    """``Model A`` while names are hidden, else ``A · Gemini (Google) · t=0.7 · 1,024 tokens``
    (the model's display name from ``display_names`` when given)."""
    if comparison.hidden:
        return f"Model {comparison.letter(column)}"
    config = comparison.columns[column]
    name = (display_names or {}).get(config.model, config.model)
    return f"{comparison.letter(column)} · {column_config.summary(name, config)}"


def show(*, key: str, comparison: Comparison, local_models: set[str],
         display_names: dict[str, str] | None = None,
         on_tool_results: ToolResults | None = None) -> int | None:
    """Render every turn, the earlier ones folded so the latest stays on the first screen; the
    column whose "Continue with this answer" was clicked, else None (offered on the latest
    turn's answers once names are visible). A latest answer with tool calls gets a box per
    call; sending them calls ``on_tool_results(column, results)``."""
    earlier = len(comparison.turns) - 1
    if earlier:
        with st.expander(f"Earlier turns ({earlier})"):
            for n in range(earlier):
                _turn(key, comparison, n, local_models, display_names, None)
    return _turn(key, comparison, earlier, local_models, display_names, on_tool_results)


def _turn(key: str, comparison: Comparison, n: int, local_models: set[str],
          display_names: dict[str, str] | None, on_tool_results: ToolResults | None) -> int | None:
    """Turn ``n``'s prompt and answers; the column whose "Continue" was clicked (latest only)."""
    turn, last = comparison.turns[n], n == len(comparison.turns) - 1
    chosen = None
    files = f" 📎 {', '.join(turn['attachments'])}" if turn.get("attachments") else ""
    safe_answer.show(f"**You:** {turn['prompt']}{files}")
    order = comparison.display_order()
    for place, column in zip(st.columns(len(order)), order):
        with place:
            answer = turn["answers"][column]
            answer_card.show(key=f"{key}_{n}_{column}",
                             header=header(comparison, column, display_names),
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
