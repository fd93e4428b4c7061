"""``Settings``: everything Parley was configured with, validated, connecting to nothing.

Local servers (``parley.endpoints``, ``OLLAMA_BASE_URL``...) are asked for their model lists
the first time ``Settings.models`` is read (a page or command that lists models), never while
the settings load. Until then ``declared`` holds the models known without asking anyone.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config.discovery import local_server_models
from core.config.model import LOCAL_PROVIDER, ModelConfig

__all__ = ["Settings", "PRIVACY_MODES", "COMPLEXITY_LEVELS"]

PRIVACY_MODES = ("none", "store", "hash")
COMPLEXITY_LEVELS = ("simple", "moderate", "complex", "search")  # keys of ``parley.routes``


@dataclass(frozen=True)
class Settings:
    declared: tuple[ModelConfig, ...]  # model_list, or the environment's cloud and bundled models
    router_settings: dict[str, Any]
    default_model: str | None
    service_types: tuple[str, ...] = ()
    routes: dict[str, str] = field(default_factory=dict)
    route_over_preferences: bool = False  # see core/routing for the precedence
    admins: tuple[str, ...] = ()
    privacy: str = "none"
    database_url: str = ""
    data_dir: Path = Path(".parley")
    source: str = "environment"
    budgets: dict[str, Any] = field(default_factory=dict)
    rate_limit_per_minute: int | None = None
    key_policy: dict[str, Any] = field(default_factory=dict)  # parley.key_policy, as written
    redis_url: str = ""  # PARLEY_REDIS_URL: limits, budgets, cooldowns and the cache shared
    cache: dict[str, Any] = field(default_factory=dict)  # parley.cache: {type, ttl, scope}; {} = off
    alerts: dict[str, Any] = field(default_factory=dict)  # parley.alerts (core/console/alerts.py)
    allowed_domains: tuple[str, ...] = ()  # team sign-in: hosted domains trusted without email_verified
    max_request_bytes: int = 4_000_000     # system prompt + history + prompt, UTF-8 bytes
    max_request_tokens: int | None = None  # the same in tokens; None: the model's context window
    ignored: tuple[str, ...] = ()          # LiteLLM proxy sections in the file that Parley does not run
    # Local servers {kind: base_url} and {kind: the one model to serve}, listed on first use.
    endpoints: dict[str, str] = field(default_factory=dict)
    endpoint_only: dict[str, str] = field(default_factory=dict)

    @functools.cached_property
    def models(self) -> tuple[ModelConfig, ...]:
        """Every configured model: the declared ones, then what each local server lists (asked
        now, once; an unreachable server is one unavailable entry saying why)."""
        if not self.endpoints:
            return self.declared
        served = tuple(local_server_models(self.endpoints, self.endpoint_only))
        bundled = tuple(m for m in self.declared if m.name == self._bundled_name())
        return tuple(m for m in self.declared if m not in bundled) + served + bundled

    @property
    def model_names(self) -> list[str]:
        """Configured model names, in config order, each once."""
        return list(dict.fromkeys(m.name for m in self.models))

    def secrets(self) -> tuple[str, ...]:
        """Every resolved secret value, so error text can be scrubbed of them."""
        keys = ("api_key", "aws_secret_access_key", "vertex_credentials")
        return tuple(str(m.litellm_params[k]) for m in self.declared for k in keys
                     if m.litellm_params.get(k))

    def _bundled_name(self) -> str | None:
        return next((m.name for m in self.declared
                     if m.provider_model.startswith(f"{LOCAL_PROVIDER}/")), None)
