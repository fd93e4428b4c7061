"""Reading one provider stream through LiteLLM: what it has delivered (``StreamState``),
whether the answer was cut off (``cut_short``), closing one being abandoned, and which of a
stream's attempts really failed (``settle_stream_attempts``). ``core.llm.gateway`` uses these
for every stream it opens.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from core.llm import runtime
from core.llm.runtime import Attempt, ms_since
from core.results import Signature, Thought

__all__ = ["StreamState", "cut_short", "close_quietly", "settle_stream_attempts"]


def settle_stream_attempts(attempts: list[Attempt], exc: BaseException | None = None) -> None:
    """A stream that opened but broke before its first token looks like a success to the
    Router's per-deployment call; every opened attempt but the one that answered failed."""
    opened = [a for a in attempts if a.ok]
    broken = opened[:-1] if exc is None else opened
    for attempt in broken:
        attempt.error = exc or ConnectionError("the stream failed before its first token")


async def close_quietly(response) -> None:
    """Close a stream being abandoned. Closing a stalled stream makes LiteLLM raise about the
    dropped connection; the stall is the error that counts, so this one is only logged."""
    try:
        await response.aclose()
    except Exception as exc:  # noqa: BLE001 - secondary to the error being raised
        logging.getLogger("parley").debug("closing an abandoned stream: %s", type(exc).__name__)


@dataclass
class StreamState:
    """What one stream has delivered so far."""

    started: float
    chunks: list = field(default_factory=list)
    ttft: float | None = None
    cache_hit: bool = False
    thoughts: bool = False  # hand the reasoning on as ``Thought`` pieces too

    def add(self, chunk) -> str | None:
        """Keep ``chunk``; return its text (or, with ``thoughts``, its reasoning as a
        ``Thought``), noting the time of the first."""
        self.chunks.append(chunk)
        delta = chunk.choices[0].delta if chunk.choices else None
        text = getattr(delta, "content", None)
        if not text and self.thoughts:
            thinking = getattr(delta, "reasoning_content", None)
            text = Thought(thinking) if isinstance(thinking, str) and thinking else None
            signed = [b.get("signature") for b in getattr(delta, "thinking_blocks", None) or ()
                      if isinstance(b, dict) and b.get("signature")]
            text = text or (Signature("".join(signed)) if signed else None)
        if text and self.ttft is None:
            self.ttft = ms_since(self.started)
        return text

    def readable(self) -> bool:
        """Did the stream carry text or token usage? (LiteLLM gives any stream a finish
        reason of its own, so that proves nothing.)"""
        return self.ttft is not None or any(
            getattr(getattr(c, "usage", None), "total_tokens", 0) for c in self.chunks)


def cut_short(response) -> bool:
    """Was the answer the provider started cut off? LiteLLM keeps, in the stream's ``chunks``,
    a finish reason only when the provider sent one (the "stop" it yields at the end of any
    stream is its own). A connection dropped mid-answer can end the stream quietly, or the
    Router may continue it on a fallback model (whose chunks are not in this list): text with
    no finish reason of the provider's means the answer was cut. A first model that failed
    before any text and handed over to a fallback is not a cut."""
    has_text = finished = False
    for chunk in runtime.provider_chunks(response):
        choices = getattr(chunk, "choices", None)
        if choices:
            finished = finished or bool(getattr(choices[0], "finish_reason", None))
            has_text = has_text or bool(getattr(getattr(choices[0], "delta", None), "content", None))
    return has_text and not finished
