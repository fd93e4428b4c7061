"""What a call costs, in words a page can show, and what one will cost before it is sent.

``estimate_cost(entry, input_tokens, max_output_tokens)`` prices a call from the catalog's
per-token prices (tiers above 200k input tokens included): an upper bound, since a model may
stop before ``max_output_tokens``. ``estimate_call`` counts the input tokens with the token
counter it is given (``AIService.count_tokens``: the model's own tokenizer). ``call_cost``
prices a call that was made; ``cost_label`` renders a cost: ``$0.0123``, ``< $0.0001``,
``local`` or ``price unknown`` (never $0 for a price nobody knows); ``price_kind`` names which.

Every money decision is here. What LiteLLM knows of prices reaches this module two ways: the
catalog's per-token prices (read from LiteLLM's bundled cost map, ``core.catalog``), and, for a
call that was made, a function that asks LiteLLM to price the provider's own usage (tiers and
token classes included; supplied by ``core.llm``, the only home of litellm).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from core.catalog import CLASS_PRICE_KEYS, ModelEntry, cost_map_entry
from core.validation import messages_for

TokenCounter = Callable[[ModelEntry, list[dict]], int]

__all__ = ["Estimate", "estimate_cost", "estimate_call", "estimate_columns", "cost_label",
           "money", "price_kind", "call_cost", "DEFAULT_MAX_TOKENS", "TokenCounter", "TokenUsage",
           "price_tokens", "has_price_override", "entry_rates"]

DEFAULT_MAX_TOKENS = 1024  # the output bound an estimate assumes when a call sets none
_TIER_THRESHOLD = 200_000


@dataclass(frozen=True)
class Estimate:
    """The most a call should cost: ``cost`` None when the price is unknown."""

    model: str
    input_tokens: int
    max_output_tokens: int
    cost: float | None
    is_local: bool

    @property
    def label(self) -> str:
        return f"≤ {cost_label(self.cost, self.is_local)}" if self.cost else cost_label(self.cost, self.is_local)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "input_tokens": self.input_tokens,
                "max_output_tokens": self.max_output_tokens, "cost": self.cost,
                "price_known": self.cost is not None}


def estimate_cost(entry: ModelEntry, input_tokens: int, max_output_tokens: int) -> Estimate:
    """Price ``input_tokens`` in and at most ``max_output_tokens`` out at ``entry``'s prices."""
    if not entry.price_known:
        return Estimate(entry.name, input_tokens, max_output_tokens, None, entry.is_local)
    input_price, output_price = entry.input_cost_per_token, entry.output_cost_per_token
    if input_tokens > _TIER_THRESHOLD:
        input_price = entry.tiers.get("input_cost_per_token_above_200k_tokens", input_price)
        output_price = entry.tiers.get("output_cost_per_token_above_200k_tokens", output_price)
    cost = input_tokens * input_price + max_output_tokens * output_price
    return Estimate(entry.name, input_tokens, max_output_tokens, cost, entry.is_local)


def estimate_call(entry: ModelEntry, messages: list[dict[str, str]], max_tokens: int | None,
                  count_tokens: TokenCounter) -> Estimate:
    """The estimate for sending ``messages`` to ``entry`` (input counted by ``count_tokens``),
    output bounded by ``max_tokens``."""
    tokens = count_tokens(entry, messages)
    return estimate_cost(entry, tokens, max_tokens or DEFAULT_MAX_TOKENS)


def estimate_columns(catalog, prompt: str, columns: list, count_tokens: TokenCounter,
                     histories: list[list[dict]] | None = None) -> list[Estimate]:
    """One estimate per comparison column (``core.validation.ColumnConfig``): its system
    prompt, its own earlier turns (``histories[i]``) and ``prompt`` in; its max tokens out."""
    histories = histories or [[] for _ in columns]
    return [estimate_call(catalog.get(column.model),
                          messages_for(prompt, column.system_prompt, history), column.max_tokens,
                          count_tokens)
            for column, history in zip(columns, histories)]


@dataclass(frozen=True)
class TokenUsage:
    """A call's tokens. The classes are parts of the totals: ``input_tokens`` includes cache
    reads and writes, ``output_tokens`` includes reasoning."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


def price_tokens(rates: dict[str, float | None], usage: TokenUsage,
                 tiers: dict[str, float] | None = None) -> float | None:
    """USD for ``usage`` at ``rates`` (USD per token by class: input, output, cache_read,
    cache_write, reasoning). A class without a rate of its own is priced at the input rate
    (cache) or the output rate (reasoning); None when input or output has no price. Above
    200k input tokens, the ``*_above_200k_tokens`` rates of ``tiers`` apply to plain input and
    output."""
    if rates.get("input") is None or rates.get("output") is None:
        return None
    input_rate, output_rate = rates["input"], rates["output"]
    if usage.input_tokens > _TIER_THRESHOLD and tiers:
        input_rate = tiers.get("input_cost_per_token_above_200k_tokens", input_rate)
        output_rate = tiers.get("output_cost_per_token_above_200k_tokens", output_rate)
    read, write = usage.cache_read_tokens or 0, usage.cache_write_tokens or 0
    reasoning = min(usage.reasoning_tokens or 0, usage.output_tokens)
    plain_input = max(0, usage.input_tokens - read - write)
    return (plain_input * input_rate + read * _rate(rates, "cache_read", input_rate)
            + write * _rate(rates, "cache_write", input_rate)
            + (usage.output_tokens - reasoning) * output_rate
            + reasoning * _rate(rates, "reasoning", output_rate))


def _rate(rates: dict[str, float | None], name: str, default: float) -> float:
    value = rates.get(name)
    return default if value is None else value


def entry_rates(entry: ModelEntry) -> dict[str, float | None]:
    """``entry``'s configured price of every token class (USD per token; None: no own rate)."""
    rates: dict[str, float | None] = {name: entry.class_prices.get(name) for name in CLASS_PRICE_KEYS}
    rates["input"], rates["output"] = entry.input_cost_per_token, entry.output_cost_per_token
    return rates


def call_cost(entry: ModelEntry, input_tokens: int, output_tokens: int,
              priced_by_provider: Callable[[], float | None] | None = None,
              usage: TokenUsage | None = None) -> float | None:
    """USD cost of a call that was made; None when the price is unknown.

    A local model, or one whose ``model_info`` overrides a price, is priced from the
    catalog's prices of every token class (``usage``: cache reads and writes and reasoning
    at their own rates when configured). Otherwise ``priced_by_provider()`` is LiteLLM's
    price of the provider's own usage (tiers and token classes included; None when LiteLLM
    cannot price it); without one (token counts that are estimates) the catalog's apply."""
    if not entry.price_known:
        return None
    if entry.is_local or has_price_override(entry) or priced_by_provider is None:
        return price_tokens(entry_rates(entry), usage or TokenUsage(input_tokens, output_tokens),
                            entry.tiers)
    return priced_by_provider()


def has_price_override(entry: ModelEntry) -> bool:
    """Does ``model_info`` (or ``litellm_params``) set a price, of any token class, other
    than LiteLLM's cost map?"""
    base = cost_map_entry(entry.provider_model) or {}
    if (base.get("input_cost_per_token") != entry.input_cost_per_token
            or base.get("output_cost_per_token") != entry.output_cost_per_token):
        return True
    return any(base.get(key) != entry.class_prices.get(name)
               for name, key in CLASS_PRICE_KEYS.items()
               if name in entry.class_prices and name not in ("input", "output"))


def cost_label(cost: float | None, is_local: bool = False) -> str:
    """``$0.0123`` (see ``money``), ``local`` for a free local model, or ``price unknown``."""
    if cost is None:
        return "price unknown"
    if is_local and not cost:
        return "local"
    return money(cost)


def money(amount: float) -> str:
    """Dollars with the precision the amount needs: ``$0``, ``< $0.0001``, ``$0.0123``,
    ``$0.25``, ``$1,234.56``. Never ``$0.0000`` for an amount that is not zero."""
    if amount == 0:
        return "$0"
    if abs(amount) < 0.0001:
        return "< $0.0001" if amount > 0 else "> -$0.0001"
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount >= 1:
        return f"{sign}${amount:,.2f}"
    text = f"{amount:.4f}".rstrip("0")
    if len(text.split(".")[1]) < 2:
        text = f"{amount:.2f}"
    return f"{sign}${text}"


def price_kind(cost: float | None, is_local: bool) -> str:
    """What a cost means, for JSON and CSV: ``local`` (a free local model), ``unknown`` (no
    price is configured; the cost is not $0) or ``known``."""
    if is_local and not cost:
        return "local"
    return "unknown" if cost is None else "known"
