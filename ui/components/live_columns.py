"""Answers streaming side by side: drains a ``FanOut``'s events into one placeholder per column."""
from __future__ import annotations

import streamlit as st

from core.playground.fanout import FanOut
from core.playground.sessions import answer_stats
from core.results import GenerationResult

__all__ = ["show"]


def show(*, key: str, run: FanOut, headers: list[str], order: list[int],
         hidden: bool = False) -> list[GenerationResult | None]:
    """Stream every column of ``run`` (already started) in ``order``, each as fast as its own
    tokens arrive; columns still waiting show the time passing. Returns the results, one per
    column. A rerun (the user clicks elsewhere) stops the run; its calls are recorded as
    abandoned."""
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
                    if not texts[column] and run.results[column] is None:
                        slots[column][1].caption(f"waiting for the first token… "
                                                 f"{event.elapsed_ms / 1000:.1f} s")
                continue
            body, caption = slots[event.column]
            if event.kind == "delta":
                if not texts[event.column]:
                    caption.caption(f"first token {event.elapsed_ms:.0f} ms · streaming…")
                texts[event.column] += event.text
                body.markdown(texts[event.column] + "▌")
            elif event.result.ok:
                body.markdown(event.result.content or "_(empty answer)_")
                answer = event.result.to_json()
                answer["fallback_used"] = answer["fallback_used"] and not hidden
                caption.caption(answer_stats(answer))
            else:
                body.error(event.result.error)
                caption.empty()
    finally:
        run.cancel()
    return run.results
