"""The pieces of a call around the gateway: input checks, messages, records, a loop thread.

``check_call`` rejects bad input with one sentence before anything is sent or recorded.
``build_records`` turns a call's attempts into ``CallRecord`` rows: the answer's row carries
the call id; each failed attempt before it gets ``<call id>.<n>``, and every row links to
the attempt it replaced through ``fallback_of``.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any, AsyncIterator, Iterator

from core.errors import BadRequestError
from core.results import CallRecord, GenerationResult

__all__ = ["check_call", "messages_for", "build_records", "LoopThread", "MAX_PROMPT_CHARS"]

MAX_PROMPT_CHARS = 2_000_000
MAX_OUTPUT_TOKENS = 1_000_000


def check_call(prompt: Any, temperature: Any, max_tokens: Any, user_id: Any) -> None:
    """Raise ``BadRequestError`` for input no provider should be sent."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequestError("The prompt is empty; type something to send.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequestError(f"The prompt is {len(prompt):,} characters; the limit is "
                              f"{MAX_PROMPT_CHARS:,}. Shorten it.")
    if temperature is not None and (isinstance(temperature, bool)
                                    or not isinstance(temperature, (int, float))
                                    or not 0 <= temperature <= 2):
        raise BadRequestError(f"Temperature must be a number from 0 to 2, not {temperature!r}.")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                   or not 1 <= max_tokens <= MAX_OUTPUT_TOKENS):
        raise BadRequestError(f"max_tokens must be a whole number from 1 to {MAX_OUTPUT_TOKENS:,}, "
                              f"not {max_tokens!r}.")
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 256:
        raise BadRequestError("user_id must be a non-empty string of at most 256 characters.")


def messages_for(prompt: str, system_prompt: str | None = None,
                 history: list[dict] | None = None) -> list[dict[str, str]]:
    """Chat messages: the system prompt, earlier turns, then the prompt."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for turn in history or []:
        if turn.get("role") not in ("user", "assistant") or not isinstance(turn.get("content"), str):
            raise BadRequestError("Each history turn needs role 'user' or 'assistant' and text content.")
        messages.append({"role": turn["role"], "content": turn["content"]})
    messages.append({"role": "user", "content": prompt})
    return messages


def build_records(request, result: GenerationResult, attempts: list, catalog,
                  user_id: str, service_type: str, metadata: dict | None) -> list[CallRecord]:
    """One ``CallRecord`` per attempt; the last (answer or final failure) carries the call id."""
    failed = [a for a in attempts if not a.ok]
    records, previous = [], None
    for n, attempt in enumerate(failed, start=1):
        entry = catalog.get(attempt.model)
        record_id = f"{request.call_id}.{n}"
        records.append(CallRecord(
            call_id=record_id, user_id=user_id, service_type=service_type, model=attempt.model,
            provider=entry.provider, provider_model=entry.provider_model, status="failure",
            error_class=type(attempt.error).__name__, error=_error_text(attempt, catalog),
            total_cost=0.0, response_time_ms=round(attempt.elapsed_ms, 2), fallback_of=previous,
            messages=request.messages, metadata=dict(metadata or {})))
        previous = record_id
    if result.ok or not failed:
        records.append(_final_record(request, result, catalog, user_id, service_type, metadata, previous))
    else:  # the last failed attempt is the call itself: give it the call id
        records[-1].call_id, records[-1].response = request.call_id, result.content or None
        records[-1].error = result.error
    return records


def _final_record(request, result, catalog, user_id, service_type, metadata, previous) -> CallRecord:
    served = result.served_by or result.model or request.model
    entry = catalog.get(served)
    meta = dict(metadata or {})
    if result.tokens_estimated:
        meta["tokens_estimated"] = True
    return CallRecord(
        call_id=request.call_id, user_id=user_id, service_type=service_type, model=served,
        provider=entry.provider, provider_model=entry.provider_model,
        status="success" if result.ok else "failure",
        error_class=None if result.ok else result.error_kind, error=result.error,
        input_tokens=result.input_tokens, output_tokens=result.output_tokens,
        total_tokens=result.total_tokens, total_cost=result.cost if result.ok else 0.0,
        response_time_ms=result.response_time_ms, ttft_ms=result.ttft_ms, fallback_of=previous,
        messages=request.messages, response=result.content or None, metadata=meta,
        cache_hit=result.cache_hit, saved_cost=result.saved_cost)


def _error_text(attempt, catalog) -> str:
    from core.provider_errors import to_parley_error
    return str(to_parley_error(attempt.error, attempt.model, catalog.settings.secrets()))


class LoopThread:
    """An event loop on a daemon thread, so synchronous callers share one loop (and its
    HTTP connection pools) instead of starting a new loop per call."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="parley-loop", daemon=True)
        self.thread.start()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def iterate(self, agen: AsyncIterator) -> Iterator:
        """Drive an async iterator from synchronous code, one item at a time."""
        try:
            while True:
                try:
                    yield self.run(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self.run(agen.aclose())

    def stop(self) -> None:
        """Cancel what still runs on the loop (LiteLLM leaves a logging worker there), then
        stop it; a task left pending would be destroyed with a warning at exit."""
        if self.thread.is_alive():
            self.run(_cancel_other_tasks())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


async def _cancel_other_tasks() -> None:
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
