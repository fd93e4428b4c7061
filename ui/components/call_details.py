"""One call's details: tokens by class, cost, latency, route and reason, fallback, error, and
the prompt and answer when the privacy setting kept them."""
from __future__ import annotations

import streamlit as st

__all__ = ["show", "prompt_of", "system_of"]


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
    cost = "price unknown" if call["total_cost"] is None else f"${call['total_cost']:.6f}"
    cols = st.columns(5)
    cols[0].metric("Model", call["model"])
    cols[1].metric("Cost", cost)
    cols[2].metric("Tokens in / out", f"{call['input_tokens']:,} / {call['output_tokens']:,}")
    cols[3].metric("Latency", f"{call['response_time_ms'] or 0:,.0f} ms")
    cols[4].metric("First token", "-" if call["ttft_ms"] is None else f"{call['ttft_ms']:,.0f} ms")
    st.caption(f"{call['created_at']} · {call['user_id']} · {call['service_type']} · "
               f"{call['provider']} ({call['provider_model']}) · {call['status']}")
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
