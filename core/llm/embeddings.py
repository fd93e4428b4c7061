"""Embeddings through the Router: ``embed(gateway, request)`` -> ``Outcome`` whose result
holds the vectors (``result.embeddings``), the input tokens and LiteLLM's price."""
from __future__ import annotations

import time

from core.errors import ParleyError
from core.llm import runtime
from core.llm.errors import to_parley_error
from core.llm.gateway import Outcome
from core.llm.runtime import Attempt, ms_since
from core.results import GenerationResult

__all__ = ["embed"]


async def embed(gateway, request) -> Outcome:
    """The vectors for ``request`` (an ``EmbeddingRequest``), or ``ParleyError``."""
    entry = gateway.catalog.get(request.model)
    options = {"dimensions": request.dimensions} if request.dimensions else {}
    started = time.perf_counter()
    try:
        response = await gateway.router.aembedding(
            input=list(request.inputs), model=request.model, litellm_call_id=request.call_id,
            caching=False, **options)
    except Exception as exc:
        error: ParleyError = to_parley_error(exc, request.model, gateway.settings.secrets())
        error.attempts = [Attempt(request.model, ms_since(started), exc)]
        raise error from None
    elapsed = ms_since(started)
    usage = getattr(response, "usage", None)
    input_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
    result = GenerationResult(
        content="", model=request.model, provider=entry.provider,
        provider_model=entry.provider_model, input_tokens=input_tokens, output_tokens=0,
        total_tokens=input_tokens, response_time_ms=round(elapsed, 2), call_id=request.call_id,
        served_by=request.model, kind="embedding", finish_reason="stop",
        embeddings=[list(item["embedding"]) for item in response.data or []])
    result.cost = _cost(response, entry.provider_model)
    result.price_known = result.cost is not None
    return Outcome(result, [Attempt(request.model, elapsed)])


def _cost(response, provider_model: str) -> float | None:
    """LiteLLM's price of the response (it computed it during the call; else it is asked)."""
    cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
    if not isinstance(cost, (int, float)) or cost <= 0:
        try:
            cost = runtime.load().completion_cost(completion_response=response, model=provider_model,
                                                  call_type="embedding")
        except Exception:  # LiteLLM raises for a model it has no price for: the cost is unknown
            return None
    return float(cost) if cost and cost > 0 else None
