"""The shape every provider protocol implements, and the SSE framing they share.

A protocol (`openai_wire`, `anthropic_wire`, `gemini_wire`) is an object with:

    name: str                                    "openai" | "anthropic" | "gemini"
    request_id_header: str                       header carrying the request id
    route(path) -> str | None                    None if the path is not this protocol's; else the
                                                 model named by the path ("" if it is in the body)
    parse(path, query, body) -> Incoming         what was asked
    reply_body(incoming, turn) -> dict           the non-streaming JSON response
    stream_events(incoming, turn) -> Iterator[tuple[bytes, bool]]
                                                 SSE events in order; the flag is True for events
                                                 carrying one text piece (paced, counted by "cut")
    error(fault, incoming) -> ErrorResponse      the provider's real error for an HTTP-level fault
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Incoming:
    """A parsed request.

    model, stream; messages: the conversation as (role, text) pairs with roles "system" | "user" |
    "assistant" | "tool" (a tool result); include_usage: OpenAI's stream option.
    attachments: media types of the image and document parts, in order; image_units: images plus
    PDF pages (what image tokens are counted for).
    tools: the offered tools as {"name", "parameters"}; tool_choice: "auto" | "none" | "required" |
    a tool name | None; tool_results: (tool name or call id, result text) of every tool result.
    response_schema: the JSON schema asked for (None: none); json_mode: JSON asked for at all.
    thinking: the request asked for reasoning text; reasoning_effort: what it asked for, as sent.
    options: protocol extras (image generation: n, size, quality).
    """

    model: str
    stream: bool
    messages: list[tuple[str, str]]
    include_usage: bool = False
    attachments: tuple[str, ...] = ()
    image_units: int = 0
    tools: tuple[dict, ...] = ()
    tool_choice: str | None = None
    tool_results: tuple[tuple[str, str], ...] = ()
    response_schema: dict | None = None
    json_mode: bool = False
    thinking: bool = False
    reasoning_effort: str | None = None
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ErrorResponse:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


def sse(data: dict, event: str | None = None, newline: str = "\n") -> bytes:
    """One server-sent event: optional `event:` line, one `data:` line, blank line."""
    lines = [f"event: {event}"] if event else []
    lines.append("data: " + json.dumps(data, separators=(",", ":")))
    return (newline.join(lines) + newline + newline).encode()


def content_text(content: object) -> str:
    """Text of a message's content: a string, or a list of parts with "text" fields."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part.get("text", "") for part in content if isinstance(part, dict)]
        return " ".join(text for text in texts if isinstance(text, str) and text)
    return ""


def new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def seconds_header(seconds: float) -> str:
    """A retry-after value: whole seconds when integral, else a decimal."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
