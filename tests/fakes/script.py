"""What the emulator is told to do: scripted replies and faults, and the turn each reply becomes.

A model's behaviour is a `Reply` (answer with text, tool calls, reasoning, usage and pacing) or a
`Fault` (fail the way a real provider fails). `plan_turn` turns a `Reply` and the received request
into a `Turn`: the exact text pieces, tool calls and reasoning to emit and the exact `Usage` to
report, which the emulator records so tests can compare what Parley measured with what the
"provider" billed.

Defaults that prove the request arrived whole (each can be overridden by scripting the field):
- text: "Echo: <last user words>", then " [seen: image/png, application/pdf]" when the request
  carried images or documents; after a tool result, "Echo: <tool> returned <its words>"; under JSON
  mode, a JSON document (an instance of the requested schema, or {"echo": ...}).
- tool calls: when tools are offered, tool_choice is not "none" and the conversation does not end
  with a tool result, one call of the chosen tool (the forced one, else the first), its arguments
  an instance of the tool's schema.
- reasoning: when the request asked for thinking text (Anthropic `thinking`, Gemini
  `includeThoughts`), "Thinking about: <last user words>"; reasoning tokens default to its pieces.
- input tokens: words + 4 per message, plus IMAGE_TOKENS per image and per PDF page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .parts import instance_of
from .wire import Incoming

ECHO_PREFIX = "Echo:"
ECHO_MAX_WORDS = 12
PER_MESSAGE_OVERHEAD = 4
IMAGE_TOKENS = 258  # per image and per PDF page (Gemini's figure for a small image)

FAULT_KINDS = (
    "server_error", "unavailable", "overloaded", "rate_limit", "auth",
    "context_length", "quota", "hang", "cut", "malformed",
)
FAULT_ALIASES = {
    "500": "server_error", "503": "unavailable", "529": "overloaded", "429": "rate_limit",
    "401": "auth", "400": "context_length", "402": "quota",
}


@dataclass(frozen=True)
class Usage:
    """Tokens a provider bills for one call, in OpenAI's terms (what LiteLLM reports).

    `input_tokens` includes cached and cache-creation tokens; `output_tokens` includes reasoning
    tokens. Each protocol encodes these its own way on the wire (Anthropic reports uncached input
    separately from cache reads; Gemini reports thoughts beside candidates), and LiteLLM's
    `prompt_tokens`/`completion_tokens`/`total_tokens` come back equal to these fields.
    """

    input_tokens: int
    output_tokens: int
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    image_tokens: int = 0  # part of input_tokens: images and PDF pages

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class ToolCall:
    """One call of a tool the request offered: its name and JSON arguments (`id`: None = generated)."""

    name: str
    arguments: dict
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """A successful answer.

    text: the answer; None means the default "Echo: <last user message, first 12 words>".
    input_tokens: None means derived from the request (words + 4 per message).
    output_tokens: None means the number of text pieces emitted (one per word), plus one per
        tool call, plus reasoning_tokens.
    reasoning_tokens: None means the pieces of the reasoning text (0 without one).
    tool_calls: None means the default (see the module docstring); () means none.
    reasoning: the thinking text; None means the default (only when the request asked for it).
    image_tokens: input tokens per image or PDF page; None means IMAGE_TOKENS.
    ttft: seconds before the first byte of the response.
    tokens_per_second: pace of streamed pieces (None = no delay); a non-streaming reply waits
        as long as the stream would have taken.
    finish_reason: "stop" or "length", translated to each protocol's vocabulary.
    usage_at_end: an Anthropic stream's message_start reports no tokens, and only its
        message_delta says them all (OpenAI's usage chunk is always the last).
    """

    text: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    ttft: float = 0.0
    tokens_per_second: float | None = None
    finish_reason: str = "stop"
    tool_calls: tuple[ToolCall, ...] | None = None
    reasoning: str | None = None
    image_tokens: int | None = None
    usage_at_end: bool = False


@dataclass(frozen=True)
class Fault:
    """A failure, rendered in the protocol's real error shape.

    kind: one of FAULT_KINDS, or an alias "500", "503", "529", "429", "401", "400", "402".
      server_error 500, unavailable 503, overloaded (Anthropic 529; 503 elsewhere),
      rate_limit 429 with `retry-after`, auth (401; Gemini's real 400 API_KEY_INVALID),
      context_length 400 with the provider's context-window text, quota (OpenAI 429
      insufficient_quota, Anthropic 400 credit balance, Gemini 429 RESOURCE_EXHAUSTED),
      hang (never answers until the server stops or `max_hang` passes, then closes),
      cut (streaming: `after_pieces` pieces then the connection drops; otherwise half a body),
      malformed (200 whose body is not valid JSON / SSE).
    retry_after: seconds for the `retry-after` header of rate_limit faults.
    ttft: seconds to wait before failing.
    tokens_per_second: pace of the pieces a cut stream sends first (None: all at once, so the
      client may see the drop before any text).
    """

    kind: str
    retry_after: float = 1.0
    ttft: float = 0.0
    after_pieces: int = 2
    max_hang: float = 60.0
    tokens_per_second: float | None = None

    def __post_init__(self) -> None:
        kind = FAULT_ALIASES.get(self.kind, self.kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        object.__setattr__(self, "kind", kind)


@dataclass(frozen=True)
class Turn:
    """One planned answer: the pieces to emit, in order, the tool calls and reasoning, and the
    usage to report. `finish_reason` is "stop", "length" or "tool_calls"."""

    pieces: tuple[str, ...]
    usage: Usage
    finish_reason: str
    ttft: float
    piece_interval: float
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str = ""
    usage_at_end: bool = False

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def split_pieces(text: str) -> tuple[str, ...]:
    """Split text into word pieces that concatenate back to exactly `text`."""
    pieces: list[str] = []
    start = 0
    for index in range(1, len(text) + 1):
        at_boundary = index == len(text) or (text[index].isspace() and not text[index - 1].isspace())
        if at_boundary:
            pieces.append(text[start:index])
            start = index
    return tuple(piece for piece in pieces if piece)


def count_input_tokens(messages: list[tuple[str, str]]) -> int:
    """Deterministic prompt size: whitespace-separated words plus a per-message overhead."""
    return sum(len(text.split()) + PER_MESSAGE_OVERHEAD for _role, text in messages)


def _last_user_words(messages: list[tuple[str, str]]) -> list[str]:
    user_texts = [text for role, text in messages if role == "user"]
    return user_texts[-1].split()[:ECHO_MAX_WORDS] if user_texts else []


def echo_text(messages: list[tuple[str, str]]) -> str:
    """The default answer: "Echo: " and the first words of the last user message."""
    return " ".join([ECHO_PREFIX, *_last_user_words(messages)])


def default_text(incoming: Incoming) -> str:
    """What a Reply without text says for this request (see the module docstring)."""
    if incoming.messages and incoming.messages[-1][0] == "tool" and incoming.tool_results:
        name, content = incoming.tool_results[-1]
        text = " ".join([ECHO_PREFIX, name, "returned", *content.split()[:ECHO_MAX_WORDS]])
    else:
        text = echo_text(incoming.messages)
        if incoming.attachments:
            text += f" [seen: {', '.join(incoming.attachments)}]"
    if incoming.response_schema is not None:
        return json.dumps(instance_of(incoming.response_schema, text))
    if incoming.json_mode:
        return json.dumps({"echo": text})
    return text


def default_tool_calls(incoming: Incoming) -> tuple[ToolCall, ...]:
    """One call of the forced or first offered tool, unless tools are off or one just answered."""
    if not incoming.tools or incoming.tool_choice == "none":
        return ()
    if incoming.messages and incoming.messages[-1][0] == "tool":
        return ()
    by_name = {tool["name"]: tool for tool in incoming.tools}
    tool = by_name.get(incoming.tool_choice or "", incoming.tools[0])
    words = " ".join(_last_user_words(incoming.messages))
    return (ToolCall(tool["name"], instance_of(tool.get("parameters") or {}, words)),)


def plan_turn(reply: Reply, incoming: Incoming) -> Turn:
    """Resolve a Reply against the received request into exact pieces, calls and usage."""
    calls = default_tool_calls(incoming) if reply.tool_calls is None else reply.tool_calls
    if reply.text is not None:
        text = reply.text
    else:
        text = "" if calls else default_text(incoming)
    reasoning = reply.reasoning
    if reasoning is None:
        reasoning = " ".join(["Thinking about:", *_last_user_words(incoming.messages)]) if incoming.thinking else ""
    pieces = split_pieces(text)
    reasoning_tokens = reply.reasoning_tokens
    if reasoning_tokens is None:
        reasoning_tokens = len(split_pieces(reasoning))
    per_image = IMAGE_TOKENS if reply.image_tokens is None else reply.image_tokens
    image_tokens = per_image * incoming.image_units
    input_tokens = reply.input_tokens
    if input_tokens is None:
        input_tokens = count_input_tokens(incoming.messages) + image_tokens
    output_tokens = reply.output_tokens
    if output_tokens is None:
        output_tokens = len(pieces) + len(calls) + reasoning_tokens
    usage = Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        reasoning_tokens=reasoning_tokens,
        cached_tokens=reply.cached_tokens,
        cache_creation_tokens=reply.cache_creation_tokens,
        image_tokens=image_tokens,
    )
    interval = 1.0 / reply.tokens_per_second if reply.tokens_per_second else 0.0
    finish = "tool_calls" if calls and reply.finish_reason == "stop" else reply.finish_reason
    return Turn(pieces, usage, finish, reply.ttft, interval, tuple(calls), reasoning, reply.usage_at_end)
