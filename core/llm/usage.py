"""The token classes of a LiteLLM usage object, and what prompt caching saved on a call.

LiteLLM normalises every provider's usage to OpenAI's shape; the classes are parts of the
totals, never added to them:

    prompt_tokens      includes cache reads (prompt_tokens_details.cached_tokens), cache writes
                       (cache_creation_input_tokens: Anthropic) and image tokens
    completion_tokens  includes reasoning (completion_tokens_details.reasoning_tokens)

``saved_by_cache`` prices the same usage as if nothing had been cached (every prompt token at
the input rate) through LiteLLM's own ``cost_per_token``, and returns the difference: positive
when cache reads saved money, negative when a cache write cost more than it saved yet.
``priced_usage`` is LiteLLM's price of a call's usage (what ``core.pricing.call_cost`` uses).
"""
from __future__ import annotations

from dataclasses import dataclass

from core.llm import runtime

__all__ = ["TokenClasses", "token_classes", "saved_by_cache", "tool_calls_and_reasoning", "priced_usage",
           "reported_cost"]


@dataclass(frozen=True)
class TokenClasses:
    """Parts of a call's tokens; None where the provider reported nothing."""

    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    image_tokens: int | None = None


def token_classes(usage) -> TokenClasses:
    """Read the classes off a LiteLLM ``Usage`` (None for anything else)."""
    if usage is None:
        return TokenClasses()
    prompt = getattr(usage, "prompt_tokens_details", None)
    completion = getattr(usage, "completion_tokens_details", None)
    write = getattr(usage, "cache_creation_input_tokens", None) or _count(prompt, "cache_creation_tokens")
    return TokenClasses(
        reasoning_tokens=_count(completion, "reasoning_tokens"),
        cache_read_tokens=_count(prompt, "cached_tokens") or _count(usage, "cache_read_input_tokens"),
        cache_write_tokens=int(write) if write else None,
        image_tokens=_count(prompt, "image_tokens"))


def saved_by_cache(provider_model: str, usage, cost: float | None) -> float | None:
    """What prompt caching saved on a call that cost ``cost`` (None: no caching, or unpriced)."""
    classes = token_classes(usage)
    if cost is None or not (classes.cache_read_tokens or classes.cache_write_tokens):
        return None
    litellm = runtime.load()
    completion = getattr(usage, "completion_tokens_details", None)
    uncached = litellm.Usage(
        prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
        total_tokens=usage.prompt_tokens + usage.completion_tokens,
        completion_tokens_details=completion)
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=provider_model, prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens, usage_object=uncached)
    except Exception:  # LiteLLM raises for a model it cannot price: then nothing is claimed
        return None
    return prompt_cost + completion_cost - cost


def tool_calls_and_reasoning(response) -> tuple[list[dict], str | None]:
    """The tool calls (``{"id", "name", "arguments"}``, arguments as the model's JSON text) and
    the reasoning text of a LiteLLM ``ModelResponse``."""
    if not getattr(response, "choices", None):
        return [], None
    message = response.choices[0].message
    calls = [{"id": call.id, "name": call.function.name, "arguments": call.function.arguments or ""}
             for call in getattr(message, "tool_calls", None) or []]
    reasoning = getattr(message, "reasoning_content", None)
    return calls, reasoning or None


def priced_usage(provider_model: str, response, input_tokens: int, output_tokens: int,
                   use_reported: bool = True) -> float | None:
    """LiteLLM's price of the provider's usage on ``response``, or None when it has none.

    The cost LiteLLM put on the response while making the call (documented as
    ``response._hidden_params["response_cost"]``) is used when positive: pricing the same usage
    again was most of Parley's own time per call (bench/overhead.py). LiteLLM reports 0 for a
    model it cannot price, so otherwise the usage is priced again, tiers included."""
    cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
    if use_reported and isinstance(cost, (int, float)) and cost > 0:
        return float(cost)
    litellm = runtime.load()
    usage = getattr(response, "usage", None)
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=provider_model, prompt_tokens=input_tokens, completion_tokens=output_tokens,
            usage_object=usage if isinstance(usage, litellm.Usage) else None)
    except Exception:  # LiteLLM raises when the model is not in its cost map: the price is unknown
        return None
    return prompt_cost + completion_cost


def _count(holder, name: str) -> int | None:
    value = getattr(holder, name, None)
    return int(value) if value else None


def reported_cost(usage) -> float | None:
    """The ``cost`` a usage object carries (USD), or None. The caller asks only for
    OpenRouter's responses, where it is the provider's own figure ("usage accounting")."""
    cost = getattr(usage, "cost", None)
    if cost is None and isinstance(getattr(usage, "model_extra", None), dict):
        cost = usage.model_extra.get("cost")
    return float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None
