"""Answers streaming side by side: drains a ``FanOut``'s events into one placeholder per column."""
from __future__ import annotations

import streamlit as st

from core.compare import FanOut
from core.comparison import answer_stats
from core.results import GenerationResult

__all__ = ["show"]


def show(*, key: str, run: FanOut, headers: list[str], order: list[int],
         hidden: bool = False) -> list[GenerationResult | None]:
    """Stream every column of ``run`` (already started) in ``order``, each as fast as its own
    tokens arrive; returns the results, one per column. Stops the run if the page is left."""
    slots = {}
    for position, column in zip(st.columns(len(order)), order):
        with position:
            st.markdown(f"**{headers[column]}**")
            slots[column] = (st.empty(), st.empty())
            slots[column][1].caption("waiting for the first token…")
    texts = {column: "" for column in order}
    try:
        for event in run.events():
            body, caption = slots[event.column]
            if event.kind == "delta":
                if not texts[event.column]:
                    caption.caption(f"first token {event.elapsed_ms:.0f} ms · streaming…")
                texts[event.column] += event.text
                body.markdown(texts[event.column] + "▌")
                continue
            result = event.result
            if result.ok:
                body.markdown(result.content or "_(empty answer)_")
                answer = result.to_json()
                if hidden:
                    answer["fallback_used"] = False
                caption.caption(answer_stats(answer))
            else:
                body.error(result.error)
                caption.empty()
    finally:
        run.cancel()
    return run.results
