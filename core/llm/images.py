"""Image generation through the gateway's LiteLLM Router, priced by LiteLLM.

``generate_images(gateway, request)`` returns an ``Outcome`` whose result has ``kind="image"``,
``images`` (``{"b64_json" | "url", "revised_prompt"}`` each), the tokens the provider billed
(GPT image models report them; Imagen bills per image and reports none) and ``cost``: what
LiteLLM prices the response at from its cost map (per image, per size and quality, or per
token). A model LiteLLM cannot price costs None (unknown), never $0. Failures raise the
``ParleyError`` for the provider's error, with the attempt attached for the call log.
"""
from __future__ import annotations

import time

from core.errors import ParleyError, ProviderBadResponse, ProviderError
from core.llm import runtime
from core.llm.errors import to_parley_error
from core.llm.gateway import Outcome
from core.llm.runtime import Attempt, ms_since
from core.results import GenerationResult

__all__ = ["generate_images"]


async def generate_images(gateway, request) -> Outcome:
    entry = gateway.catalog.get(request.model)
    options = {k: v for k, v in (("n", request.n), ("size", request.size), ("quality", request.quality)) if v}
    started = time.perf_counter()
    try:
        response = await gateway.router.aimage_generation(
            prompt=request.prompt, model=request.model, litellm_call_id=request.call_id,
            drop_params=True, caching=False, **options)  # every generation is new, and billed
    except Exception as exc:
        error: ParleyError = _no_endpoint(exc, request.model) or to_parley_error(
            exc, request.model, gateway.settings.secrets())
        error.attempts = [Attempt(request.model, ms_since(started), exc)]
        raise error from None
    elapsed = ms_since(started)
    images = [{k: v for k, v in (("b64_json", item.b64_json), ("url", item.url),
                                 ("revised_prompt", item.revised_prompt)) if v}
              for item in response.data or []]
    if not images:
        error = ProviderBadResponse(f"{request.model} answered with no image; its provider may "
                                    "have no image endpoint. Pick another image model.",
                                    model=request.model, status=200)
        error.attempts = [Attempt(request.model, elapsed, error)]
        raise error
    usage = getattr(response, "usage", None)
    input_tokens = int(getattr(usage, "input_tokens", 0) or 0)
    output_tokens = int(getattr(usage, "output_tokens", 0) or 0)
    result = GenerationResult(
        content=next((i["revised_prompt"] for i in images if "revised_prompt" in i), ""),
        model=request.model, provider=entry.provider, provider_model=entry.provider_model,
        input_tokens=input_tokens, output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens, response_time_ms=round(elapsed, 2),
        call_id=request.call_id, served_by=request.model, kind="image", images=images,
        finish_reason="stop")
    result.cost = _image_cost(response, entry.provider_model, request)
    result.price_known = result.cost is not None
    return Outcome(result, [Attempt(request.model, elapsed)])


_NO_ENDPOINT_HINTS = ("not supported", "does not support", "unsupported", "no route",
                      "not found", "unknown url", "not implemented")


def _no_endpoint(exc: BaseException, model: str) -> ProviderError | None:
    """A provider (or LiteLLM for it) saying it has no image endpoint: the gateway's fault to
    report (502), not the caller's (400)."""
    status = getattr(exc, "status_code", None)
    text = str(exc).lower()
    if status in (404, 405, 501) or (type(exc).__name__ in ("BadRequestError", "NotFoundError")
                                     and any(hint in text for hint in _NO_ENDPOINT_HINTS)):
        return ProviderError(f"{model}'s provider has no image generation endpoint (it answered "
                             f"{status or type(exc).__name__}); pick another image model.",
                             model=model, status=502)
    return None


def _image_cost(response, provider_model: str, request) -> float | None:
    """LiteLLM's price of the response (it computed it during the call; else it is asked)."""
    cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
    if not isinstance(cost, (int, float)) or cost <= 0:
        try:
            cost = runtime.load().completion_cost(completion_response=response, model=provider_model,
                                           call_type="image_generation", size=request.size,
                                           quality=request.quality, n=request.n)
        except Exception:  # LiteLLM raises for a model it has no price for: the cost is unknown
            return None
    return float(cost) if cost and cost > 0 else None
