"""A provider emulator for the session, and services pointed at it through api_base."""
from __future__ import annotations

import pytest

from core.config import ModelConfig, build_settings
from core.service import AIService
from tests.fakes import ProviderEmulator

KEYS = {"claude": "sk-ant-test-SECRET-aaaa1111", "gemini": "AIzaSyTEST-SECRET-bbbb2222",
        "gpt": "sk-test-SECRET-cccc3333"}
PROVIDER_MODELS = {"claude": "claude-sonnet-4-5-20250929", "gemini": "gemini-2.5-flash",
                   "gpt": "gpt-4.1-mini"}


@pytest.fixture(scope="session")
def emulator():
    with ProviderEmulator() as emu:
        yield emu


@pytest.fixture(autouse=True)
def fresh_emulator_script(request):
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset()


def three_models(emu, **extra_models: tuple[str, dict]) -> list[ModelConfig]:
    models = [
        ModelConfig("claude", {"model": "anthropic/claude-sonnet-4-5-20250929",
                               "api_key": KEYS["claude"], "api_base": emu.anthropic_base}, {}),
        ModelConfig("gemini", {"model": "gemini/gemini-2.5-flash", "api_key": KEYS["gemini"],
                               "api_base": emu.gemini_base}, {}),
        ModelConfig("gpt", {"model": "openai/gpt-4.1-mini", "api_key": KEYS["gpt"],
                            "api_base": emu.openai_base}, {}),
    ]
    for name, (litellm_model, info) in extra_models.items():
        base = emu.gemini_base if litellm_model.startswith("gemini/") else (
            emu.anthropic_base if litellm_model.startswith("anthropic/") else emu.openai_base)
        models.append(ModelConfig(name, {"model": litellm_model, "api_key": "sk-extra-key-0000",
                                         "api_base": base}, info))
    return models


def make_service(emu, *, router: dict | None = None, recorder=None, **extra) -> AIService:
    router = {"num_retries": 1, "timeout": 5, "fallbacks": [{"claude": ["gemini"]}],
              **(router or {})}
    settings = build_settings(tuple(three_models(emu, **extra)), router,
                              {"default_model": "gemini"}, "test", {})
    return AIService(settings, recorder=recorder)


@pytest.fixture
def service(emulator):
    svc = make_service(emulator)
    yield svc
    svc.close()
