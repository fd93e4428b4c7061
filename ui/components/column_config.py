"""One comparison column's settings, folded into a popover: model, temperature, max tokens,
optional system prompt, tools. The button names the column and its model
(``A · Claude (Anthropic)``); the line under it says the settings it sends
(``t=0.7 · 1,024 tokens · system prompt``), so both stay readable at four columns.

The column's settings are one state object, ``st.session_state[key]`` (a ``ColumnState``),
kept by this component. Widgets come and go: the popover's contents mount in the browser only
when it is first opened, "same settings for all" hides the settings of columns 2-4, a fourth
column disappears at three; and Streamlit forgets a widget's value when it is not drawn. So
every widget starts from the state object (its ``value``), and the state object takes each
widget's value back on the next run: switching the column count, blind mode or shared settings
never changes a column's settings. The state is never written into a widget's key, which would
make the browser reset a widget the user is moving; ``load`` draws new widgets instead.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from core.llm.local.engine import DEFAULT_TEMPERATURE as LOCAL_TEMPERATURE
from core.pricing import DEFAULT_MAX_TOKENS
from core.validation import ColumnConfig
from ui.components import column_tools

__all__ = ["ColumnState", "load", "show", "summary", "settings_summary"]

CLOUD_TEMPERATURE = 0.7


@dataclasses.dataclass
class ColumnState:
    """One column's settings as its widgets show them: ``values`` by widget (``model``,
    ``temperature``, ``max_tokens``, ``system``, ``extras_<column_tools.FIELDS>``), and the
    generation of the widgets, which ``load`` moves on so the browser draws fresh ones."""

    values: dict[str, Any]
    generation: int = 0

    @classmethod
    def of(cls, column: ColumnConfig, generation: int = 0) -> ColumnState:
        extras = column_tools.values_of(column.structured())
        return cls({"model": column.model,
                    "temperature": (CLOUD_TEMPERATURE if column.temperature is None
                                    else float(column.temperature)),
                    "max_tokens": column.max_tokens or DEFAULT_MAX_TOKENS,
                    "system": column.system_prompt or "",
                    **{f"extras_{name}": value for name, value in extras.items()}}, generation)

    def widget_key(self, key: str, name: str) -> str:
        """``cmp_col0_temperature``; after a load, ``cmp_col0_2_temperature``."""
        return f"{key}_{self.generation}_{name}" if self.generation else f"{key}_{name}"


def load(key: str, column: ColumnConfig) -> None:
    """Make ``show(key=key)`` show ``column`` from its next run (a reopened comparison, a call
    opened in the playground)."""
    previous = st.session_state.get(key)
    st.session_state[key] = ColumnState.of(column, previous.generation + 1 if previous else 0)


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
    state = _state(key, by_name, default)
    values, widget = state.values, (lambda name: state.widget_key(key, name))
    extras = {}
    with st.popover(f"{label} · {by_name[values['model']].display_name}", key=f"{key}_settings",
                    width="stretch"):
        values["model"] = st.selectbox("Model", names, names.index(values["model"]),
                                       key=widget("model"), format_func=lambda n: by_name[n].choice_label())
        if shared:
            st.caption("Its other settings are the first column's (Same settings for all).")
        else:
            temperature = st.slider("Temperature", 0.0, 2.0, float(values["temperature"]), step=0.1,
                                    key=widget("temperature"))
            max_tokens = st.number_input("Max tokens", 1, 200_000, int(values["max_tokens"]), step=64,
                                         key=widget("max_tokens"))
            system = st.text_area("System prompt (optional)", values["system"], key=widget("system"),
                                  height=68)
            extras = column_tools.show(key=widget("extras"), values={
                name: values[f"extras_{name}"] for name in column_tools.FIELDS})
    column = (dataclasses.replace(shared, model=values["model"]) if shared
              else ColumnConfig(values["model"], float(temperature), int(max_tokens),
                                system.strip() or None, **extras))
    st.caption(settings_summary(column) + (" (as the first column)" if shared else ""))
    return column


def _state(key: str, by_name: dict, default: str) -> ColumnState:
    """The column's state object, with what its widgets hold now (a value the user just changed
    is in the widget's key when the script starts)."""
    state = st.session_state.get(key)
    if state is None:
        model = default if default in by_name else next(iter(by_name))
        state = ColumnState.of(ColumnConfig(model))
        # The bundled 135M model loops at high (and at zero) temperature: start it at its own.
        if by_name[model].is_local:
            state.values["temperature"] = LOCAL_TEMPERATURE
        st.session_state[key] = state
    for name in state.values:
        if state.widget_key(key, name) in st.session_state:
            state.values[name] = st.session_state[state.widget_key(key, name)]
    if state.values["model"] not in by_name:
        state.values["model"] = default if default in by_name else next(iter(by_name))
    return state

