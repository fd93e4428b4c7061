"""A call's attempts as ``CallRecord`` rows, ready for the recorder.

``build_records`` gives the answer's row the call id; each failed attempt before it gets
``<call id>.<n>``, and every row links to the attempt it replaced through ``fallback_of``.
"""
from __future__ import annotations

from core.llm.errors import to_parley_error
from core.results import CallRecord, GenerationResult

__all__ = ["build_records"]


def build_records(request, result: GenerationResult, attempts: list, catalog,
                  user_id: str, service_type: str, metadata: dict | None,
                  estimated: tuple[int, int, float | None] | None = None) -> list[CallRecord]:
    """One ``CallRecord`` per attempt; the last (answer or final failure) carries the call id.
    Every record carries the request's ``key_id`` (the API key, if any). ``estimated``
    (input tokens, output tokens, cost) replaces the call's own counts, marked as an estimate:
    what an abandoned stream was billed."""
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
            messages=request.messages, metadata=dict(metadata or {}), kind=result.kind))
        previous = record_id
    if result.ok or not failed:
        records.append(_final_record(request, result, catalog, user_id, service_type, metadata, previous))
    else:  # the last failed attempt is the call itself: give it the call id
        records[-1].call_id, records[-1].response = request.call_id, result.content or None
        records[-1].error = result.error
    for record in records:
        record.key_id = getattr(request, "key_id", None)
    if estimated is not None:
        last = records[-1]
        last.input_tokens, last.output_tokens, last.total_cost = estimated
        last.total_tokens = last.input_tokens + last.output_tokens
        last.metadata["tokens_estimated"] = True
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
        kind=result.kind, reasoning_tokens=result.reasoning_tokens or 0,
        cache_read_tokens=result.cache_read_tokens or 0,
        cache_write_tokens=result.cache_write_tokens or 0, tool_calls=len(result.tool_calls),
        cache_hit=result.cache_hit, saved_cost=result.saved_cost if result.ok else None,
        price_id=result.price_id, provider_cost=result.provider_cost)


def _error_text(attempt, catalog) -> str:
    return str(to_parley_error(attempt.error, attempt.model, catalog.settings.secrets()))
