"""What a call returns (``GenerationResult``), what a stream yields before it (``Delta``), and
what is recorded of each attempt (``CallRecord``).

Both are plain data with no dependency beyond the standard library, so the UI can import
them without paying for litellm's import.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GenerationResult", "CallRecord", "Delta", "utc_now"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Delta(str):
    """A piece of a streamed answer: a ``str`` like any other, whose ``served_by`` names the
    model that is answering (a fallback's name when the chosen model failed before its first
    token), so a stream can say who answers as soon as the text starts."""

    served_by: str | None

    def __new__(cls, text: str, served_by: str | None = None) -> "Delta":
        piece = super().__new__(cls, text)
        piece.served_by = served_by
        return piece


class Thought(Delta):
    """A piece of the model's reasoning, streamed before its answer only to a call that asked
    for it (``Call.stream_reasoning``: an Anthropic client's ``thinking`` block comes first).
    It is not part of the answer's text; the whole reasoning is also in the result."""


class Signature(Thought):
    """The signature Claude gave the reasoning just streamed (its ``signature_delta``), for
    an Anthropic client to send back with the thinking block."""


@dataclass
class GenerationResult:
    """One answer (or, in ``compare``, one failed column with ``error`` set).

    ``cost`` is None when the price is unknown; ``price_known`` says which.
    ``model`` is the configured name that was asked for; ``served_by`` is the configured
    name that actually answered (differs from ``model`` when ``fallback_used``).
    ``provider_model`` is the provider's own model id (``claude-sonnet-4-5-20250929``).
    """

    content: str = ""
    model: str = ""
    provider: str = ""
    provider_model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    image_tokens: int | None = None
    tokens_estimated: bool = False
    cost: float | None = None
    price_known: bool = False
    response_time_ms: float = 0.0
    ttft_ms: float | None = None
    call_id: str = ""
    fallback_used: bool = False
    served_by: str = ""
    error: str | None = None
    error_kind: str | None = None
    finish_reason: str | None = None
    cache_hit: bool = False  # answered from the response cache (parley.cache): cost 0
    source: str | None = None  # what chose the model: explicit | auto | route | service | user | default
    route: str | None = None  # the complexity class whose parley.routes entry chose the model
    route_reason: str | None = None  # one sentence: why this model (core/routing/__init__.py)
    kind: str = "chat"  # chat | image | embedding
    # What caching saved: on a response-cache hit, what the call would have cost; otherwise
    # what prompt-cache reads saved (negative when cache writes cost more). None: no caching.
    saved_cost: float | None = None
    reasoning: str | None = None  # the thinking text, when the provider returned it
    # Claude's thinking blocks as it sent them, signatures included (handed back to an
    # Anthropic client, which sends them back with its next turn); not recorded
    thinking_blocks: list | None = None
    tool_calls: list[dict] = field(default_factory=list)  # {id, name, arguments, valid, errors}
    json_valid: bool | None = None  # the answer against the requested schema (None: none asked)
    json_errors: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)  # generate_image: {b64_json | url, revised_prompt}
    price_id: int | None = None  # the price-book entry the cost was computed with (core/price_book.py)
    provider_cost: float | None = None  # what the provider itself reported (OpenRouter's usage.cost)
    embeddings: list[list[float]] = field(default_factory=list)  # embed: one vector per input
    # The provider's own answer in the caller's protocol, when it answered natively (a Responses
    # API response object: core.llm.responses_native); None otherwise.
    native: dict | None = None

    JSON_FIELDS = ("content", "model", "provider", "input_tokens", "output_tokens",
                   "total_tokens", "cost", "price_known", "response_time_ms", "ttft_ms",
                   "call_id", "fallback_used", "served_by", "error", "route", "route_reason",
                   "kind", "reasoning_tokens", "cache_read_tokens", "cache_write_tokens",
                   "image_tokens", "saved_cost", "reasoning", "tool_calls", "json_valid",
                   "json_errors")

    @classmethod
    def failed(cls, model: str, error) -> "GenerationResult":
        """A compare column that could not be answered: ``error`` (a ``ParleyError``) says why."""
        return cls(model=model, served_by=model, error=str(error), error_kind=error.kind)

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape of ``ask`` and each ``compare`` entry (DESIGN.md), plus
        ``route`` and ``route_reason`` (core/routing/__init__.py), the token classes, tool calls,
        reasoning and schema validity (issue 18)."""
        return {name: getattr(self, name) for name in self.JSON_FIELDS}

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def cached_tokens(self) -> int | None:
        """Prompt tokens read from the provider's cache (the older name of cache_read_tokens)."""
        return self.cache_read_tokens


@dataclass
class CallRecord:
    """One attempt at a provider call, as written to ``request_logs``.

    ``call_id`` is the idempotency key (``litellm_call_id``). ``fallback_of`` holds the
    call id of the attempt this one replaced. ``total_cost`` None means the price is unknown.
    Token classes are parts of the totals, never added to them: ``input_tokens`` includes
    cache reads and writes, ``output_tokens`` includes reasoning. An image generation
    (``kind="image"``) carries the tokens its provider billed (none for a per-image price)
    and its image count in ``metadata["images"]``.
    ``messages``/``response`` are filled only as the privacy setting allows.
    """

    call_id: str
    user_id: str
    service_type: str
    model: str
    provider: str
    provider_model: str
    status: str  # "success" | "failure"
    created_at: dt.datetime = field(default_factory=utc_now)
    error_class: str | None = None
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    total_cost: float | None = None
    response_time_ms: float | None = None
    ttft_ms: float | None = None
    fallback_of: str | None = None
    is_demo: bool = False
    messages: Any = None
    response: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    kind: str = "chat"  # chat | image | embedding
    reasoning_tokens: int = 0  # part of output_tokens
    cache_read_tokens: int = 0  # part of input_tokens
    cache_write_tokens: int = 0  # part of input_tokens
    tool_calls: int = 0  # how many tool calls the answer made
    key_id: str | None = None  # the API key the call came through (core/api), if any
    cache_hit: bool = False  # answered from the response cache; total_cost is then 0
    # What caching saved on this call: on a response-cache hit the whole cost it would have
    # had; otherwise what prompt-cache reads saved (negative when cache writes cost more).
    # None: no caching was involved.
    saved_cost: float | None = None
    price_id: int | None = None  # the price-book entry ``total_cost`` was computed with
    provider_cost: float | None = None  # the provider's own figure, when it reports one
