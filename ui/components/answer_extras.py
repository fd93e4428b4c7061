"""What an answer brought besides text: its tool calls (valid against their schemas or not), its
reasoning (folded), whether it matched the requested JSON schema, its token classes, and the
answer that followed the tool results."""
from __future__ import annotations

import json

import streamlit as st

from core.playground.sessions import answer_stats
from core.pricing import cost_label

__all__ = ["show", "token_line"]


def token_line(answer: dict) -> str:
    """``reasoning 120 · cache read 6,000 · cache write 3,000 · cache saved $0.0140``, or ""."""
    parts = [f"{label} {answer[name]:,}" for name, label in (
        ("reasoning_tokens", "reasoning"), ("cache_read_tokens", "cache read"),
        ("cache_write_tokens", "cache write"), ("image_tokens", "image")) if answer.get(name)]
    saved = answer.get("saved_cost")
    if saved:
        parts.append(f"cache saved {cost_label(saved)}" if saved > 0 else f"cache cost {cost_label(-saved)} more")
    return " · ".join(parts)


def show(*, key: str, answer: dict, is_local: bool = False) -> None:
    """Render the extras of ``answer`` (a ``GenerationResult.to_json`` dict); nothing for a
    plain text answer."""
    if answer.get("reasoning"):
        with st.expander("Reasoning"):
            st.markdown(answer["reasoning"])
    if answer.get("json_valid") is not None:
        if answer["json_valid"]:
            st.badge("valid JSON", icon=":material/check:", color="green")
        else:
            st.badge("invalid JSON", icon=":material/close:", color="red")
            st.caption("; ".join(answer.get("json_errors") or []))
    for call in answer.get("tool_calls") or []:
        arguments = call["arguments"] if isinstance(call["arguments"], str) else json.dumps(call["arguments"])
        mark = "✅" if call.get("valid") else "❌"
        st.markdown(f"{mark} tool call `{call['name']}({arguments})`")
        if call.get("errors"):
            st.caption("; ".join(call["errors"]))
    line = token_line(answer)
    if line:
        st.caption(line)
    final = answer.get("after_tools")
    if final:
        for result in answer.get("tool_results") or []:
            st.caption(f"↳ {result['name']} returned: {result['content']}")
        st.markdown("**After the tool results:**")
        if final.get("error"):
            st.error(final["error"])
        else:
            with st.container(border=True, key=f"{key}_after_tools"):
                st.markdown(final.get("content") or "_(empty answer)_")
            st.caption(answer_stats(final, is_local))
            show(key=f"{key}_final", answer={k: v for k, v in final.items() if k != "after_tools"},
                 is_local=is_local)
