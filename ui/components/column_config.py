"""One comparison column's settings, folded into a popover whose button reads as a one-line
summary (``A · Claude (Anthropic) · t=0.7 · 1,024 tokens``): model, temperature, max tokens,
optional system prompt."""
from __future__ import annotations

import dataclasses

import streamlit as st

from core.validation import ColumnConfig
from core.llm.local.engine import DEFAULT_TEMPERATURE as LOCAL_TEMPERATURE
from core.pricing import DEFAULT_MAX_TOKENS
from ui.components import column_tools

__all__ = ["show", "widget_values", "summary"]


def widget_values(key: str, column: ColumnConfig) -> dict:
    """Session-state values that make ``show(key=key)`` display ``column`` on the next run."""
    return {f"{key}_model": column.model,
            f"{key}_temperature": 0.7 if column.temperature is None else float(column.temperature),
            f"{key}_max_tokens": column.max_tokens or DEFAULT_MAX_TOKENS,
            f"{key}_system": column.system_prompt or "",
            **column_tools.widget_values(f"{key}_extras", column.structured())}


def summary(display_name: str, column: ColumnConfig) -> str:
    """``Claude (Anthropic) · t=0.7 · 1,024 tokens · system prompt`` (the settings that are
    set: the column's own label, with the display name and the max tokens in words)."""
    parts = [display_name]
    if column.temperature is not None:
        parts.append(f"t={column.temperature:g}")
    if column.max_tokens is not None:
        parts.append(f"{column.max_tokens:,} tokens")
    rest = dataclasses.replace(column, temperature=None, max_tokens=None).label()
    return " · ".join(parts + rest.split(" · ")[1:])


def show(*, key: str, models: list, default: str, settings: bool = True,
         label: str = "Model") -> ColumnConfig | None:
    """A popover button summarising the column, holding its widgets; ``settings=False`` offers
    only the model (the settings are shared). Returns the column (settings None when hidden),
    or None if ``models`` is empty."""
    if not models:
        return None
    names = [m.name for m in models]
    by_name = {m.name: m for m in models}
    state = st.session_state
    if state.get(f"{key}_model") not in names:
        state[f"{key}_model"] = default if default in names else names[0]
    # The bundled 135M model loops at high (and at zero) temperature: start it at its own default.
    start = LOCAL_TEMPERATURE if by_name[state[f"{key}_model"]].is_local else 0.7
    state.setdefault(f"{key}_temperature", start)
    state.setdefault(f"{key}_max_tokens", DEFAULT_MAX_TOKENS)
    state.setdefault(f"{key}_system", "")
    basic = _current(key, settings)
    extras = {}
    with st.popover(f"{label} · {summary(by_name[basic.model].display_name, basic)}",
                    key=f"{key}_settings", width="stretch"):
        st.selectbox("Model", names, key=f"{key}_model",
                     format_func=lambda n: by_name[n].choice_label())
        if settings:
            st.slider("Temperature", 0.0, 2.0, step=0.1, key=f"{key}_temperature")
            st.number_input("Max tokens", 1, 200_000, step=64, key=f"{key}_max_tokens")
            st.text_area("System prompt (optional)", key=f"{key}_system", height=68)
            extras = column_tools.show(key=f"{key}_extras")
    column = _current(key, settings)
    return dataclasses.replace(column, **extras) if extras else column


def _current(key: str, settings: bool) -> ColumnConfig:
    """The column as its widgets' values stand (tools and schema aside)."""
    state = st.session_state
    if not settings:
        return ColumnConfig(state[f"{key}_model"])
    return ColumnConfig(state[f"{key}_model"], float(state[f"{key}_temperature"]),
                        int(state[f"{key}_max_tokens"]), state[f"{key}_system"].strip() or None)
