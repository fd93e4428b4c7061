"""The calls list's one-line notes: what sets a call apart, in words, so the list fits at
1400 px and the details view carries the figures."""
from __future__ import annotations

from ui.components.call_details import notes

PLAIN = {"kind": "chat", "fallback_of": None, "tool_calls": 0, "reasoning_tokens": 0,
         "cache_read_tokens": 0, "saved_cost": None, "key_id": None}


def test_a_plain_call_has_no_notes():
    assert notes(PLAIN) == ""


def test_each_thing_that_sets_a_call_apart_is_named():
    call = {**PLAIN, "kind": "image", "fallback_of": "abc", "tool_calls": 2,
            "reasoning_tokens": 1200, "cache_read_tokens": 6000, "saved_cost": 0.014,
            "key_id": "k_1"}
    assert notes(call) == ("image · fallback · 2 tool calls · 1,200 reasoning · cache read 6,000 · "
                           "cache saved $0.014 · API key")
    assert notes({**PLAIN, "tool_calls": 1}) == "1 tool call"
