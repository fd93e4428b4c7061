"""A client's prompt-cache breakpoints (Anthropic's ``cache_control`` marks) carried through a
``Call`` to the messages sent to an Anthropic model.

    marks = cache_marks(chat_messages)             # from a request in OpenAI's chat shape
    messages = with_cache_marks(messages, marks)   # the same messages, the marks set again

A route's messages become a ``Call``'s system prompt, history and prompt as text, which drops
the marks; ``CacheMarks`` remembers where they were: on the system prompt and on a turn
(counted from the first message that is not the system's). A turn marked on any of its blocks
is marked as a whole (the breakpoint falls at the end of that turn, as LiteLLM's own
``cache_control_injection_points`` places it). Marks on tools need no help: they stay on the
tools the call sends.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CacheMarks", "cache_marks", "with_cache_marks"]


@dataclass(frozen=True)
class CacheMarks:
    """Where a client marked its prompt for caching: each mark's ``cache_control`` as sent
    (its ``ttl`` kept). ``turns`` maps a turn's index (system messages not counted) to it."""

    system: dict | None = None
    turns: dict[int, dict] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.system is not None or bool(self.turns)


def cache_marks(messages: list[dict[str, Any]]) -> CacheMarks:
    """The marks of chat ``messages``: a message's own ``cache_control`` or one on any of its
    content parts (the last system mark wins)."""
    system, turns, index = None, {}, 0
    for message in messages:
        mark = _mark_of(message)
        if message.get("role") in ("system", "developer"):
            system = mark or system
            continue
        if mark:
            turns[index] = mark
        index += 1
    return CacheMarks(system, turns)


def with_cache_marks(messages: list[dict[str, Any]], marks: CacheMarks | None) -> list[dict]:
    """``messages`` (a system message first, if any, then the turns) with ``marks`` set as
    message-level ``cache_control``, which LiteLLM's Anthropic provider places on the last
    block of the message; a mark past the last turn is ignored."""
    if not marks:
        return messages
    marked, index = [], 0
    for message in messages:
        if message.get("role") == "system":
            mark = marks.system
        else:
            mark, index = marks.turns.get(index), index + 1
        marked.append({**message, "cache_control": dict(mark)} if mark else message)
    return marked


def _mark_of(message: dict[str, Any]) -> dict | None:
    content = message.get("content")
    parts = content if isinstance(content, list) else []
    found = [p["cache_control"] for p in parts if isinstance(p, dict) and p.get("cache_control")]
    own = message.get("cache_control")
    mark = found[-1] if found else own
    return dict(mark) if isinstance(mark, dict) else None
