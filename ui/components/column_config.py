"""One comparison column's settings: model, temperature, max tokens, optional system prompt."""
from __future__ import annotations

import streamlit as st

from core.validation import ColumnConfig
from core.llm.local.engine import DEFAULT_TEMPERATURE as LOCAL_TEMPERATURE
from core.pricing import DEFAULT_MAX_TOKENS
from ui.components import column_tools

__all__ = ["show", "widget_values"]


def widget_values(key: str, column: ColumnConfig) -> dict:
    """Session-state values that make ``show(key=key)`` display ``column`` on the next run."""
    return {f"{key}_model": column.model,
            f"{key}_temperature": 0.7 if column.temperature is None else float(column.temperature),
            f"{key}_max_tokens": column.max_tokens or DEFAULT_MAX_TOKENS,
            f"{key}_system": column.system_prompt or "",
            **column_tools.widget_values(f"{key}_extras", column.structured())}


def show(*, key: str, models: list, default: str, settings: bool = True,
         label: str = "Model") -> ColumnConfig | None:
    """Widgets for one column; ``settings=False`` shows only the model (the settings are
    shared). Returns the column (settings None when hidden), or None if ``models`` is empty."""
    if not models:
        return None
    names = [m.name for m in models]
    by_name = {m.name: m for m in models}
    if st.session_state.get(f"{key}_model") not in names:
        st.session_state[f"{key}_model"] = default if default in names else names[0]
    model = st.selectbox(label, names, key=f"{key}_model",
                         format_func=lambda n: f"{by_name[n].display_name} · {by_name[n].price_label()}")
    if not settings:
        return ColumnConfig(model)
    # The bundled 135M model loops at high (and at zero) temperature: start it at its own default.
    start = LOCAL_TEMPERATURE if by_name[model].provider == "local" else 0.7
    temperature = st.slider("Temperature", 0.0, 2.0, start, 0.1, key=f"{key}_temperature")
    max_tokens = st.number_input("Max tokens", 1, 200_000, DEFAULT_MAX_TOKENS, 64,
                                 key=f"{key}_max_tokens")
    system = st.text_area("System prompt (optional)", key=f"{key}_system", height=68)
    extras = column_tools.show(key=f"{key}_extras")
    return ColumnConfig(model, float(temperature), int(max_tokens), system.strip() or None, **extras)
