"""The models users can pick: names, providers, display names, badges, prices, context windows.

Prices come from LiteLLM's bundled cost map, read as JSON without importing litellm (the
import costs seconds and the catalog is needed for a page's first paint), overridden by
``model_info`` (``input_cost_per_token``, ``output_cost_per_token``, ``max_input_tokens``).
A model with no price anywhere has ``price_known = False``: it is shown as unknown, never $0.
Local models are free unless ``model_info`` gives a compute price.

``model_statuses`` says whether each can answer now, for the providers page: a cloud model when
its key is set, a model on a local server when that server answers its model-list request
(short timeout), the bundled model when it is installed. Its ``key`` says only "set", "not
set", "not needed" or "not in config": a key's value never leaves ``Settings``.
"""
from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from core.config import LOCAL_PROVIDER, ModelConfig, Settings
from core.config.discovery import Endpoint, discover
from core.config.environment import how_to_add, reference_models
from core.errors import UnknownModelError

__all__ = ["ModelEntry", "Catalog", "LOCAL_PROVIDERS", "CLASS_PRICE_KEYS", "cost_map_entry", "provider_of",
           "ModelStatus", "model_statuses"]

LOCAL_PROVIDERS = {"ollama", "lm_studio", "vllm", "local"}  # their calls cost nothing
_PROVIDER_ALIASES = {"ollama_chat": "ollama", "hosted_vllm": "vllm", LOCAL_PROVIDER: "local",
                     "vertex_ai": "gemini", "vertex_ai_beta": "gemini", "azure": "openai",
                     "text-completion-openai": "openai"}
_TIER_KEYS = ("input_cost_per_token_above_200k_tokens", "output_cost_per_token_above_200k_tokens")
# LiteLLM's cost-map keys for each token class a price book entry keeps (USD per token).
CLASS_PRICE_KEYS = {"input": "input_cost_per_token", "output": "output_cost_per_token",
                    "cache_read": "cache_read_input_token_cost",
                    "cache_write": "cache_creation_input_token_cost",
                    "reasoning": "output_cost_per_reasoning_token",
                    "image": "input_cost_per_image_token"}


@dataclass(frozen=True)
class ModelEntry:
    """One pickable model. Prices are USD per token; ``None`` when unknown."""

    name: str
    provider: str
    provider_model: str
    display_name: str
    badge: str | None
    description: str | None
    context_window: int | None
    input_cost_per_token: float | None
    output_cost_per_token: float | None
    tiers: dict[str, float]
    available: bool
    missing: tuple[str, ...]
    # Every token class's price as configured (``CLASS_PRICE_KEYS``: map, then litellm_params,
    # then model_info); a class absent here is priced at the input (or output) rate.
    class_prices: dict[str, float] = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return self.provider in LOCAL_PROVIDERS

    @property
    def price_known(self) -> bool:
        return self.input_cost_per_token is not None and self.output_cost_per_token is not None

    def per_million(self, which: str) -> float | None:
        price = self.input_cost_per_token if which == "input" else self.output_cost_per_token
        return None if price is None else round(price * 1_000_000, 6)

    def price_label(self) -> str:
        """"$3.00 / $15.00 per 1M tokens", "local", "local · $x / $y per 1M" or "price unknown"."""
        if not self.price_known:
            return "price unknown"
        text = f"${self.per_million('input'):.2f} / ${self.per_million('output'):.2f} per 1M tokens"
        if self.is_local:
            free = not self.input_cost_per_token and not self.output_cost_per_token
            return "local" if free else f"local · {text}"
        return text

    def choice_label(self, *, badge: bool = False) -> str:
        """What a picker shows: ``Claude (Anthropic) · Premium · $3.00 / $15.00 per 1M tokens``,
        each part only once (``SmolLM2 135M (bundled) · local``, not "... · Local · local")."""
        parts = [self.display_name]
        for part in ([self.badge] if badge and self.badge else []) + [self.price_label()]:
            if part.lower() not in " · ".join(parts).lower():
                parts.append(part)
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The public shape of ``models --json`` (DESIGN.md)."""
        return {"name": self.name, "provider": self.provider, "display_name": self.display_name,
                "input_cost_per_1m": self.per_million("input"),
                "output_cost_per_1m": self.per_million("output"),
                "price_known": self.price_known, "context_window": self.context_window,
                "available": self.available}


class Catalog:
    """The configured models by name (the first deployment of a name describes it)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._entries: dict[str, ModelEntry] = {}
        for config in settings.models:
            self._entries.setdefault(config.name, _entry(config))

    def __iter__(self):
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def display_names(self) -> dict[str, str]:
        """Each model's name -> the name people read (``claude`` -> ``Claude (Anthropic)``)."""
        return {name: entry.display_name for name, entry in self._entries.items()}

    def get(self, name: str) -> ModelEntry:
        """The entry for ``name``; ``UnknownModelError`` listing the choices if not configured."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownModelError(str(name), self.names(), how_to_add(str(name))) from None

    def available(self) -> list[ModelEntry]:
        return [e for e in self._entries.values() if e.available]

    def with_references(self) -> list[ModelEntry]:
        """Every configured model, then Claude, Gemini and GPT (priced from LiteLLM's cost
        map) where no configured model of that name exists: the yardsticks of re-pricing."""
        extra = [_entry(c) for c in reference_models() if c.name not in self._entries]
        return [*self._entries.values(), *extra]


def provider_of(model: str, cost_entry: dict | None = None) -> str:
    """The provider named by a LiteLLM model string (``anthropic/...`` -> ``anthropic``)."""
    if "/" in model:
        prefix = model.split("/", 1)[0]
        return _PROVIDER_ALIASES.get(prefix, prefix)
    if cost_entry and cost_entry.get("litellm_provider"):
        found = str(cost_entry["litellm_provider"])
        return _PROVIDER_ALIASES.get(found, found)
    return "openai" if model.startswith(("gpt", "o1", "o3", "o4")) else "unknown"


@functools.lru_cache(maxsize=1)
def _cost_map() -> dict[str, Any]:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(list(spec.submodule_search_locations)[0]) / "model_prices_and_context_window_backup.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def cost_map_entry(model: str) -> dict[str, Any] | None:
    """LiteLLM's cost-map entry for a model string, trying it with and without its prefix."""
    table = _cost_map()
    if model in table:
        return table[model]
    if "/" in model:
        bare = model.split("/", 1)[1]
        entry = table.get(bare)
        prefix = model.split("/", 1)[0]
        if entry and entry.get("litellm_provider", prefix) in (prefix, _PROVIDER_ALIASES.get(prefix)):
            return entry
    return None


def _entry(config: ModelConfig) -> ModelEntry:
    model = config.provider_model
    info = config.model_info
    base = cost_map_entry(model) or {}
    provider = provider_of(model, base)
    merged = {**base, **{k: v for k, v in config.litellm_params.items() if "cost_per" in k}, **info}
    local = provider in LOCAL_PROVIDERS
    input_price = merged.get("input_cost_per_token", 0.0 if local else None)
    output_price = merged.get("output_cost_per_token", 0.0 if local else None)
    return ModelEntry(
        name=config.name, provider=provider, provider_model=model,
        display_name=str(info.get("display_name") or config.name),
        badge=info.get("badge"), description=info.get("description"),
        context_window=merged.get("max_input_tokens") or merged.get("max_tokens"),
        input_cost_per_token=None if input_price is None else float(input_price),
        output_cost_per_token=None if output_price is None else float(output_price),
        tiers={k: float(merged[k]) for k in _TIER_KEYS if merged.get(k) is not None},
        available=config.key_present, missing=config.missing_env,
        class_prices={name: float(merged[key]) for name, key in CLASS_PRICE_KEYS.items()
                      if isinstance(merged.get(key), (int, float))})


# -- status: can each model answer now (the providers page) ------------------------------

_SERVER_KINDS = {"ollama": "ollama", "lm_studio": "lm_studio", "vllm": "vllm"}

Probe = Callable[[str, str], Endpoint]


@dataclass(frozen=True)
class ModelStatus:
    entry: ModelEntry
    key: str            # set | not set | not needed | not in config (LiteLLM reads its env var)
    available: bool
    problem: str | None  # why it cannot answer now, one phrase; None when it can


def model_statuses(settings: Settings, catalog: Catalog, probe: Probe | None = discover
                   ) -> list[ModelStatus]:
    """Every configured model, in config order. ``probe(kind, base_url)`` checks a local
    server (None: do not probe); each server is asked once."""
    configs = {}
    for config in settings.models:
        configs.setdefault(config.name, config)
    probed: dict[tuple[str, str], Endpoint] = {}
    return [_status(entry, configs[entry.name], probe, probed) for entry in catalog]


def _status(entry: ModelEntry, config: ModelConfig, probe: Probe | None,
            probed: dict[tuple[str, str], Endpoint]) -> ModelStatus:
    key = _key_state(entry, config)
    if config.missing_env:
        return ModelStatus(entry, key, False, "; ".join(config.missing_env))
    kind = _SERVER_KINDS.get(entry.provider)
    base = config.litellm_params.get("api_base")
    if probe is not None and kind and isinstance(base, str):
        endpoint = probed.get((kind, base))
        if endpoint is None:
            endpoint = probed[(kind, base)] = probe(kind, base)
        if not endpoint.reachable:
            return ModelStatus(entry, key, False, endpoint.problem)
    return ModelStatus(entry, key, True, None)


def _key_state(entry: ModelEntry, config: ModelConfig) -> str:
    if any("_KEY is not set" in m or "_TOKEN is not set" in m for m in config.missing_env):
        return "not set"
    if config.litellm_params.get("api_key"):
        return "set"
    return "not needed" if entry.is_local else "not in config"
