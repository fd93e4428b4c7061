"""One comparison column's tools, answer schema and reasoning effort, typed as JSON and checked.

``show(key=..., values=...)`` returns the keywords ``ColumnConfig`` takes (``tools``, ``tool_choice``,
``response_format``, ``reasoning_effort``); an option that does not parse or check is shown as
an error under its box and left out, so the column still runs without it.
"""
from __future__ import annotations

import json
from typing import Any

import streamlit as st

from core.errors import BadRequestError
from core.structured import check_structured

__all__ = ["FIELDS", "show", "values_of"]

FIELDS = ("tools", "tool_choice", "schema", "effort")  # the widgets' key suffixes
EFFORTS = ["model default", "minimal", "low", "medium", "high"]
CHOICES = ["auto", "required", "none"]
TOOLS_HELP = ('A list of OpenAI function tools, or one: {"type": "function", "function": '
              '{"name": "get_weather", "parameters": {"type": "object", "properties": '
              '{"city": {"type": "string"}}, "required": ["city"]}}}')


def values_of(options: dict[str, Any]) -> dict[str, Any]:
    """What the widgets show for ``options`` (``ColumnConfig.structured()``), by ``FIELDS``."""
    schema = ((options.get("response_format") or {}).get("json_schema") or {}).get("schema")
    choice = options.get("tool_choice")
    return {"tools": json.dumps(options["tools"], indent=2) if options.get("tools") else "",
            "tool_choice": choice if choice in CHOICES else "auto",
            "schema": json.dumps(schema, indent=2) if schema else "",
            "effort": options.get("reasoning_effort") or EFFORTS[0]}


def show(*, key: str, values: dict[str, Any]) -> dict[str, Any]:
    """The widgets, folded, starting from ``values`` (by ``FIELDS``; a widget's own value wins
    once it has one); returns the checked options (None for each one not set)."""
    options: dict[str, Any] = dict.fromkeys(("tools", "tool_choice", "response_format", "reasoning_effort"))
    with st.expander("Tools · JSON schema · reasoning"):
        tools_text = st.text_area("Tools (JSON)", values["tools"], key=f"{key}_tools", height=110,
                                  help=TOOLS_HELP)
        choice = st.selectbox("Tool choice", CHOICES, CHOICES.index(values["tool_choice"]),
                              key=f"{key}_tool_choice")
        schema_text = st.text_area("Answer schema (JSON Schema)", values["schema"], key=f"{key}_schema",
                                   height=90, help="The answer must be JSON valid against this schema.")
        effort = st.selectbox("Reasoning effort", EFFORTS, EFFORTS.index(values["effort"]),
                              key=f"{key}_effort")
        tools = _parsed(tools_text, "Tools")
        if tools is not None:
            tools = [_as_tool(t) for t in (tools if isinstance(tools, list) else [tools])]
            options.update(tools=tools, tool_choice=choice)
        schema = _parsed(schema_text, "The schema")
        if schema is not None:
            options["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
        if effort != EFFORTS[0]:
            options["reasoning_effort"] = effort
        try:
            check_structured(**options)
        except BadRequestError as err:
            st.error(str(err))
            return dict.fromkeys(options)
    return options


def _parsed(text: str, what: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as err:
        st.error(f"{what} is not valid JSON ({err.msg}, line {err.lineno}); it is left out.")
        return None


def _as_tool(tool: Any) -> Any:
    """A bare ``{"name", "parameters"}`` function is wrapped as OpenAI's tool shape."""
    if isinstance(tool, dict) and "name" in tool and "function" not in tool:
        return {"type": "function", "function": tool}
    return tool
