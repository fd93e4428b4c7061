"""Answers streaming side by side: drains a ``FanOut``'s events into one placeholder per column."""
from __future__ import annotations

import streamlit as st

from core.playground.fanout import FanOut
from core.playground.sessions import answer_stats
from core.results import GenerationResult
from ui.components import safe_answer
from ui.components.answer_card import BLIND_FAILURE

__all__ = ["show"]


def show(*, key: str, run: FanOut, headers: list[str], order: list[int],
         hidden: bool = False) -> list[GenerationResult | None]:
    """Stream every column of ``run`` (already started) in ``order``, each as fast as its own
    tokens arrive; columns still waiting show the time passing. Returns the results, one per
    column. A rerun (the user clicks elsewhere) stops the run; its calls are recorded as
    abandoned. Answers are rendered so they fetch nothing (``safe_answer``); ``hidden`` (blind
    mode) shows no time, tokens, cost or error text that could tell the models apart."""
    slots = {}
    for position, column in zip(st.columns(len(order)), order):
        with position:
            st.markdown(f"**{headers[column]}**")
            slots[column] = (st.empty(), st.empty())
            slots[column][1].caption("waiting for the first token…")
    texts = {column: "" for column in order}
    try:
        for event in run.events(ticks=True):
            if event.kind == "tick":
                for column in order:
                    if not texts[column] and run.results[column] is None and not hidden:
                        slots[column][1].caption(f"waiting for the first token… "
                                                 f"{event.elapsed_ms / 1000:.1f} s")
                continue
            body, caption = slots[event.column]
            if event.kind == "delta":
                if not texts[event.column]:
                    caption.caption("streaming…" if hidden
                                    else f"first token {event.elapsed_ms:.0f} ms · streaming…")
                texts[event.column] += event.text
                safe_answer.show(texts[event.column], container=body, cursor=True)
            elif event.result.ok:
                safe_answer.show(event.result.content or "_(empty answer)_", container=body)
                caption.caption(safe_answer.BLIND_CAPTION if hidden
                                else answer_stats(event.result.to_json()))
            else:
                body.error(BLIND_FAILURE if hidden else event.result.error)
                caption.empty()
    finally:
        run.cancel()
    return run.results
