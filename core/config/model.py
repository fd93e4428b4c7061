"""One configured deployment (``ModelConfig``) and the names of the bundled local model.

Kept apart from the rest of ``core.config`` so that the loader, the environment defaults and
local-server discovery can all build ``ModelConfig``s without importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ModelConfig", "LOCAL_PROVIDER", "LOCAL_MODEL_NAME"]

LOCAL_PROVIDER = "parley-local"  # the LiteLLM provider prefix of the bundled model
LOCAL_MODEL_NAME = "local"


@dataclass(frozen=True)
class ModelConfig:
    """One deployment from ``model_list``. ``missing_env`` says, one phrase each, what keeps it
    from being usable ("ANTHROPIC_API_KEY is not set"); ``key_present`` is True when nothing
    does. ``litellm_params`` holds resolved secrets: never log it."""

    name: str
    litellm_params: dict[str, Any] = field(repr=False)
    model_info: dict[str, Any]
    missing_env: tuple[str, ...] = ()

    @property
    def key_present(self) -> bool:
        return not self.missing_env

    @property
    def provider_model(self) -> str:
        return str(self.litellm_params["model"])
