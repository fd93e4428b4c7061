"""What each configured model is, what it costs and whether it can answer now, for the
providers page: one ``ModelStatus`` per model, with no secret in it.

A cloud model can answer when its key is set (``os.environ/`` references resolved); a model on
a local server (Ollama, LM Studio, vLLM) when that server answers its model-list request
(``core.discovery``, short timeout); the bundled model when it is installed. ``key`` says only
"set", "not set", "not needed" or "not in config": a key's value never leaves ``Settings``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from core.catalog import Catalog, ModelEntry
from core.config import ModelConfig, Settings
from core.discovery import Endpoint, discover

__all__ = ["ModelStatus", "model_statuses"]

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
