"""One comparison column's settings, folded into a popover: model, temperature, max tokens,
optional system prompt, tools. The button names the column and its model
(``A · Claude (Anthropic)``); the line under it says the settings it sends
(``t=0.7 · 1,024 tokens · system prompt``), so both stay readable at four columns.

The column's settings are one state object, ``st.session_state[key]``: the values its widgets
show, kept by this component. Widgets come and go (the popover's contents mount in the browser
only when first opened, "same settings for all" hides the settings of columns 2-4, a fourth
column disappears at three), and Streamlit forgets a widget's value when it is not drawn; the
state object does not, so switching the column count, blind mode or shared settings never
changes a column's settings.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from core.llm.local.engine import DEFAULT_TEMPERATURE as LOCAL_TEMPERATURE
from core.pricing import DEFAULT_MAX_TOKENS
from core.validation import ColumnConfig
from ui.components import column_tools

__all__ = ["load", "show", "summary", "settings_summary", "widget_values"]

CLOUD_TEMPERATURE = 0.7
BASIC = ("model", "temperature", "max_tokens", "system")  # the widgets' key suffixes


def widget_values(key: str, column: ColumnConfig) -> dict[str, Any]:
    """The values ``show(key=key)``'s widgets take to display ``column``, by widget key."""
    return {f"{key}_model": column.model,
            f"{key}_temperature": (CLOUD_TEMPERATURE if column.temperature is None
                                   else float(column.temperature)),
            f"{key}_max_tokens": column.max_tokens or DEFAULT_MAX_TOKENS,
            f"{key}_system": column.system_prompt or "",
            **column_tools.widget_values(f"{key}_extras", column.structured())}


def load(key: str, column: ColumnConfig) -> None:
    """Make ``show(key=key)`` show ``column`` from its next run (a reopened comparison, a call
    opened in the playground). Call it before the column's widgets are drawn in this run."""
    values = widget_values(key, column)
    for name in values:
        st.session_state.pop(name, None)  # a widget's last value would otherwise win
    st.session_state[key] = values


def settings_summary(column: ColumnConfig) -> str:
    """``t=0.7 · 1,024 tokens · system prompt``: the settings that are set, in words."""
    parts = []
    if column.temperature is not None:
        parts.append(f"t={column.temperature:g}")
    if column.max_tokens is not None:
        parts.append(f"{column.max_tokens:,} token{'' if column.max_tokens == 1 else 's'}")
    rest = dataclasses.replace(column, temperature=None, max_tokens=None).label()
    return " · ".join(parts + rest.split(" · ")[1:])


def summary(display_name: str, column: ColumnConfig) -> str:
    """``Claude (Anthropic) · t=0.7 · 1,024 tokens · system prompt``."""
    return " · ".join(part for part in (display_name, settings_summary(column)) if part)


def show(*, key: str, models: list, default: str, shared: ColumnConfig | None = None,
         label: str = "Model") -> ColumnConfig | None:
    """A popover button naming the column and its model, holding its widgets, with the
    settings it sends on the line below. ``shared``: the settings this column uses instead of
    its own ("same settings for all"), which are then neither shown nor changed; only the
    model is offered. Returns the column as it is sent, or None if ``models`` is empty."""
    if not models:
        return None
    by_name = {m.name: m for m in models}
    names = list(by_name)
    values = _values(key, by_name, default)
    drawn = ("model",) if shared else (*BASIC, *(f"extras_{f}" for f in column_tools.FIELDS))
    for suffix in drawn:
        # Told to the browser on every run: a widget first mounted later (the popover opened
        # for the first time) would otherwise start at its own default (0.0, 1 token).
        st.session_state[f"{key}_{suffix}"] = values[f"{key}_{suffix}"]
    model = by_name[values[f"{key}_model"]]
    extras = {}
    with st.popover(f"{label} · {model.display_name}", key=f"{key}_settings", width="stretch"):
        st.selectbox("Model", names, key=f"{key}_model",
                     format_func=lambda n: by_name[n].choice_label())
        if not shared:
            st.slider("Temperature", 0.0, 2.0, step=0.1, key=f"{key}_temperature")
            st.number_input("Max tokens", 1, 200_000, step=64, key=f"{key}_max_tokens")
            st.text_area("System prompt (optional)", key=f"{key}_system", height=68)
            extras = column_tools.show(key=f"{key}_extras")
    column = dataclasses.replace(shared, model=model.name) if shared else _column(key, values, extras)
    st.caption(settings_summary(column) + (" (same as the first column)" if shared else ""))
    return column


def _values(key: str, by_name: dict, default: str) -> dict[str, Any]:
    """The column's state object, brought up to date with what its widgets hold now (a value
    the user just changed arrives in the widget's key before the script runs)."""
    state = st.session_state
    values = state.get(key)
    if values is None:
        model = default if default in by_name else next(iter(by_name))
        values = widget_values(key, ColumnConfig(model))
        # The bundled 135M model loops at high (and at zero) temperature: start it at its own.
        if by_name[model].is_local:
            values[f"{key}_temperature"] = LOCAL_TEMPERATURE
    for name in values:
        if name in state:
            values[name] = state[name]
    if values[f"{key}_model"] not in by_name:
        values[f"{key}_model"] = default if default in by_name else next(iter(by_name))
    state[key] = values
    return values


def _column(key: str, values: dict[str, Any], extras: dict[str, Any]) -> ColumnConfig:
    """The column its own settings make (tools and schema only when they check)."""
    return ColumnConfig(values[f"{key}_model"], float(values[f"{key}_temperature"]),
                        int(values[f"{key}_max_tokens"]),
                        values[f"{key}_system"].strip() or None, **extras)
