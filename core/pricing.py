"""What a call costs, in words a page can show, and what one will cost before it is sent.

``estimate_cost(entry, input_tokens, max_output_tokens)`` prices a call from the catalog's
per-token prices (tiers above 200k input tokens included): an upper bound, since a model may
stop before ``max_output_tokens``. ``estimate_call`` counts the input tokens with the model's
tokenizer through ``core.gateway.count_tokens`` (which imports litellm: call it only once
there is a prompt to price). ``cost_label`` renders a cost: ``$0.000123``, ``local`` or
``price unknown`` (never $0 for a price nobody knows).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.catalog import ModelEntry

__all__ = ["Estimate", "estimate_cost", "estimate_call", "estimate_columns", "cost_label",
           "DEFAULT_MAX_TOKENS"]

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


def estimate_call(entry: ModelEntry, messages: list[dict[str, str]],
                  max_tokens: int | None = None) -> Estimate:
    """The estimate for sending ``messages`` to ``entry`` (input counted by its tokenizer
    where LiteLLM has one, else tiktoken's), output bounded by ``max_tokens``."""
    from core.gateway import count_tokens

    tokens = count_tokens(entry.provider_model, messages)
    return estimate_cost(entry, tokens, max_tokens or DEFAULT_MAX_TOKENS)


def estimate_columns(catalog, prompt: str, columns: list,
                     histories: list[list[dict]] | None = None) -> list[Estimate]:
    """One estimate per comparison column (``core.compare.ColumnConfig``): its system
    prompt, its own earlier turns (``histories[i]``) and ``prompt`` in; its max tokens out."""
    from core.calls import messages_for

    histories = histories or [[] for _ in columns]
    return [estimate_call(catalog.get(column.model),
                          messages_for(prompt, column.system_prompt, history), column.max_tokens)
            for column, history in zip(columns, histories)]


def cost_label(cost: float | None, is_local: bool = False) -> str:
    """``$0.000123`` (six decimals below a cent), ``local`` for a free local model, or
    ``price unknown``."""
    if cost is None:
        return "price unknown"
    if is_local and not cost:
        return "local"
    return f"${cost:.6f}" if cost < 0.01 else f"${cost:.4f}"
