"""What the emulator is told to do: scripted replies and faults, and the turn each reply becomes.

A model's behaviour is a `Reply` (answer with text, usage and pacing) or a `Fault` (fail the way
a real provider fails). `plan_turn` turns a `Reply` and the received conversation into a `Turn`:
the exact text pieces to emit and the exact `Usage` to report, which the emulator records so tests
can compare what Parley measured with what the "provider" billed.
"""

from __future__ import annotations

from dataclasses import dataclass

ECHO_PREFIX = "Echo:"
ECHO_MAX_WORDS = 12
PER_MESSAGE_OVERHEAD = 4

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

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Reply:
    """A successful answer.

    text: the answer; None means the default "Echo: <last user message, first 12 words>".
    input_tokens: None means derived from the request (words + 4 per message).
    output_tokens: None means the number of text pieces emitted (one per word) plus
        reasoning_tokens.
    ttft: seconds before the first byte of the response.
    tokens_per_second: pace of streamed pieces (None = no delay); a non-streaming reply waits
        as long as the stream would have taken.
    finish_reason: "stop" or "length", translated to each protocol's vocabulary.
    """

    text: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    ttft: float = 0.0
    tokens_per_second: float | None = None
    finish_reason: str = "stop"


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
    """One planned answer: the pieces to emit, in order, and the usage to report."""

    pieces: tuple[str, ...]
    usage: Usage
    finish_reason: str
    ttft: float
    piece_interval: float

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


def echo_text(messages: list[tuple[str, str]]) -> str:
    """The default answer: "Echo: " and the first words of the last user message."""
    user_texts = [text for role, text in messages if role == "user"]
    words = user_texts[-1].split()[:ECHO_MAX_WORDS] if user_texts else []
    return " ".join([ECHO_PREFIX, *words])


def plan_turn(reply: Reply, messages: list[tuple[str, str]]) -> Turn:
    """Resolve a Reply against the received conversation into exact pieces and usage."""
    text = echo_text(messages) if reply.text is None else reply.text
    pieces = split_pieces(text)
    input_tokens = count_input_tokens(messages) if reply.input_tokens is None else reply.input_tokens
    output_tokens = reply.output_tokens
    if output_tokens is None:
        output_tokens = len(pieces) + reply.reasoning_tokens
    usage = Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        reasoning_tokens=reply.reasoning_tokens,
        cached_tokens=reply.cached_tokens,
        cache_creation_tokens=reply.cache_creation_tokens,
    )
    interval = 1.0 / reply.tokens_per_second if reply.tokens_per_second else 0.0
    return Turn(pieces, usage, reply.finish_reason, reply.ttft, interval)
