"""One call's details: tokens by class, cost, latency, route and reason, fallback, error, and
the prompt and answer when the privacy setting kept them."""
from __future__ import annotations

import streamlit as st

from core.catalog import LOCAL_PROVIDERS
from core.pricing import cost_label

__all__ = ["show", "notes", "cost_of", "prompt_of", "system_of"]


def cost_of(call: dict) -> str:
    """A recorded call's cost in words: ``$0.0123``, ``local`` (a local provider answered) or
    ``price unknown``."""
    return cost_label(call["total_cost"], call.get("provider") in LOCAL_PROVIDERS)


def notes(call: dict) -> str:
    """What sets a call apart, in a few words for the list (``fallback · 2 tool calls · 120
    reasoning · cache read 6,000``); the details view has the figures."""
    parts = []
    if call.get("kind") not in (None, "chat"):
        parts.append(call["kind"])
    if call.get("fallback_of"):
        parts.append("fallback")
    if call.get("tool_calls"):
        parts.append(f"{call['tool_calls']} tool call{'s' * (call['tool_calls'] != 1)}")
    if call.get("reasoning_tokens"):
        parts.append(f"{call['reasoning_tokens']:,} reasoning")
    if call.get("cache_read_tokens"):
        parts.append(f"cache read {call['cache_read_tokens']:,}")
    if call.get("saved_cost"):
        parts.append(f"cache saved {cost_label(call['saved_cost'])}")
    if call.get("key_id"):
        parts.append("API key")
    return " · ".join(parts)


def prompt_of(call: dict) -> str | None:
    """The last user message's text, when the call kept its prompt."""
    messages = call.get("messages")
    if not isinstance(messages, list):
        return None
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    content = users[-1].get("content") if users else None
    return content if isinstance(content, str) else None


def system_of(call: dict) -> str | None:
    messages = call.get("messages")
    systems = [m for m in messages if isinstance(m, dict) and m.get("role") == "system"] \
        if isinstance(messages, list) else []
    return systems[0].get("content") if systems else None


def show(*, key: str, call: dict) -> None:
    st.subheader(f"Call {call['litellm_call_id']}")
    cost = cost_of(call)
    cols = st.columns(5)
    cols[0].metric("Model", call["model"])
    cols[1].metric("Cost", cost)
    cols[2].metric("Tokens in / out", f"{call['input_tokens']:,} / {call['output_tokens']:,}")
    cols[3].metric("Latency", f"{call['response_time_ms'] or 0:,.0f} ms")
    cols[4].metric("First token", "-" if call["ttft_ms"] is None else f"{call['ttft_ms']:,.0f} ms")
    st.caption(f"{call['created_at']} · {call['user_id']} · {call['service_type']} · "
               f"{call['provider']} ({call['provider_model']}) · {call['status']}")
    reasoning = call.get("reasoning_tokens") or 0
    extras = [f"kind {call.get('kind') or 'chat'}",
              f"{reasoning:,} reasoning token{'' if reasoning == 1 else 's'}",
              f"cache read / write {call.get('cache_read_tokens') or 0:,} / "
              f"{call.get('cache_write_tokens') or 0:,} tokens",
              f"tool calls {call.get('tool_calls') or 0}"]
    if call.get("saved_cost") is not None:
        extras.append(f"saved by the cache {cost_label(call['saved_cost'])}")
    if call.get("key_id"):
        extras.append(f"API key {call['key_id']}")
    st.caption(" · ".join(extras))
    if call.get("route_reason"):
        st.caption(f"Route: {call.get('route') or '-'} · {call['route_reason']}")
    if call["fallback_of"]:
        st.warning(f"Answered by a fallback after {call['fallback_of']} failed.")
    for attempt in call.get("attempts", []):
        st.caption(f"Attempt {attempt['litellm_call_id']} on {attempt['model']}: "
                   f"{attempt['error'] or attempt['status']}")
    if call["error"]:
        st.error(call["error"])
    messages = call.get("messages")
    if isinstance(messages, list):
        with st.expander("Prompt", expanded=True):
            for message in messages:
                st.markdown(f"**{message.get('role')}**")
                st.text(message.get("content") if isinstance(message.get("content"), str)
                        else str(message.get("content")))
        with st.expander("Answer", expanded=True):
            st.text(call.get("response") or "")
    elif messages:
        st.caption("The prompt and answer were kept as hashes only (parley.privacy: hash).")
    else:
        st.caption("The prompt and answer were not kept (parley.privacy: none).")
