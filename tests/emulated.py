"""Models and services pointed at the provider emulator (tests/fakes) through api_base.

Shared by every test folder: ``three_models(emu)`` builds claude/gemini/gpt configs,
``make_service(emu)`` an ``AIService`` on them, and ``write_config(emu, path)`` a
``parley.yaml`` in LiteLLM proxy format for tests that run the CLI or the app as a user would.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.config import ModelConfig, build_settings
from core.service import AIService

__all__ = ["KEYS", "PROVIDER_MODELS", "Collected", "three_models", "make_service", "write_config"]

# Recognisable fake keys: a test that finds one in output, a row or a page has found a leak.
KEYS = {"claude": "sk-ant-test-SECRET-aaaa1111", "gemini": "AIzaSyTEST-SECRET-bbbb2222",
        "gpt": "sk-test-SECRET-cccc3333"}
PROVIDER_MODELS = {"claude": "claude-sonnet-4-5-20250929", "gemini": "gemini-2.5-flash",
                   "gpt": "gpt-4.1-mini"}


class Collected:
    """A recorder that keeps the records it is handed, for a test to read (``records``)."""

    def __init__(self):
        self.records = []

    def record(self, record) -> None:
        self.records.append(record)

    def close(self, timeout: float | None = None) -> None:
        pass


def _base_for(emu, litellm_model: str) -> str:
    if litellm_model.startswith("gemini/"):
        return emu.gemini_base
    if litellm_model.startswith("anthropic/"):
        return emu.anthropic_base
    return emu.openai_base


def three_models(emu, **extra_models: tuple[str, dict]) -> list[ModelConfig]:
    """claude, gemini and gpt on the emulator, plus ``name=(litellm_model, model_info)`` extras."""
    models = [
        ModelConfig("claude", {"model": "anthropic/claude-sonnet-4-5-20250929",
                               "api_key": KEYS["claude"], "api_base": emu.anthropic_base}, {}),
        ModelConfig("gemini", {"model": "gemini/gemini-2.5-flash", "api_key": KEYS["gemini"],
                               "api_base": emu.gemini_base}, {}),
        ModelConfig("gpt", {"model": "openai/gpt-4.1-mini", "api_key": KEYS["gpt"],
                            "api_base": emu.openai_base}, {}),
    ]
    for name, (litellm_model, info) in extra_models.items():
        models.append(ModelConfig(name, {"model": litellm_model, "api_key": "sk-extra-key-0000",
                                         "api_base": _base_for(emu, litellm_model)}, info))
    return models


def make_service(emu, *, router: dict | None = None, recorder=None, parley: dict | None = None,
                 **extra) -> AIService:
    router = {"num_retries": 1, "timeout": 5, "fallbacks": [{"claude": ["gemini"]}],
              **(router or {})}
    settings = build_settings(tuple(three_models(emu, **extra)), router,
                              {"default_model": "gemini", **(parley or {})}, "test", {})
    return AIService(settings, recorder=recorder)


def write_config(emu, path: Path, *, models: tuple[str, ...] = ("claude", "gemini", "gpt"),
                 router: dict | None = None, parley: dict | None = None,
                 extra: list[dict] | None = None) -> Path:
    """A parley.yaml whose models live on the emulator; keys are ``os.environ/`` references
    (set ``KEYS`` in the environment, as a user would)."""
    env_var = {"claude": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY", "gpt": "OPENAI_API_KEY"}
    litellm_model = {"claude": "anthropic/claude-sonnet-4-5-20250929",
                     "gemini": "gemini/gemini-2.5-flash", "gpt": "openai/gpt-4.1-mini"}
    display = {"claude": "Claude (Anthropic)", "gemini": "Gemini (Google)", "gpt": "GPT (OpenAI)"}
    model_list: list[dict[str, Any]] = [
        {"model_name": name,
         "litellm_params": {"model": litellm_model[name], "api_key": f"os.environ/{env_var[name]}",
                            "api_base": _base_for(emu, litellm_model[name])},
         "model_info": {"display_name": display[name]}}
        for name in models]
    model_list.extend(extra or [])
    data = {"model_list": model_list,
            "router_settings": {"num_retries": 1, "timeout": 10, **(router or {})},
            "parley": {"default_model": models[0] if models else None,
                       "service_types": ["xray", "smart_questions", "answer_builder"],
                       **(parley or {})}}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
