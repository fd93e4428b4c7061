"""Local model servers (Ollama, LM Studio, vLLM): which models they serve, and whether they answer.

``discover(kind, base_url)`` asks the server for its model list (Ollama: ``GET /api/tags``;
LM Studio and vLLM, OpenAI-compatible: ``GET <base>/models``) with a short timeout and returns
an ``Endpoint``; it never raises for an unreachable or odd server, it says so in ``problem``.
``endpoint_models(...)`` turns that into ``ModelConfig`` entries: one per served model, or, when
the server cannot be reached, one unavailable entry that says why (a page lists it as such).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import httpx

from core.config.model import ModelConfig

__all__ = ["Endpoint", "SERVERS", "discover", "endpoint_models", "environment_endpoints",
           "local_server_models", "environment_only"]

TIMEOUT_SECONDS = 1.5


@dataclass(frozen=True)
class Server:
    kind: str           # ollama | lm_studio | vllm: also the model-name prefix users see
    url_var: str        # the environment variable naming its base URL
    model_var: str      # optional: serve only this model
    litellm_prefix: str
    display_name: str


SERVERS = (
    Server("ollama", "OLLAMA_BASE_URL", "OLLAMA_MODEL", "ollama_chat", "Ollama"),
    Server("lm_studio", "LM_STUDIO_BASE_URL", "LM_STUDIO_MODEL", "lm_studio", "LM Studio"),
    Server("vllm", "VLLM_BASE_URL", "VLLM_MODEL", "hosted_vllm", "vLLM"),
)
_BY_KIND = {s.kind: s for s in SERVERS}


@dataclass(frozen=True)
class Endpoint:
    kind: str
    base_url: str
    models: tuple[str, ...] = ()
    problem: str | None = None  # None when the server answered with its model list

    @property
    def reachable(self) -> bool:
        return self.problem is None


def discover(kind: str, base_url: str, *, timeout: float = TIMEOUT_SECONDS) -> Endpoint:
    """The models the ``kind`` server at ``base_url`` lists, or why they could not be listed."""
    server = _BY_KIND[kind]
    url = _list_url(kind, base_url)
    try:
        reply = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return Endpoint(kind, base_url, problem=f"{server.display_name} at {base_url} is not "
                                                f"reachable ({type(exc).__name__})")
    if reply.status_code != 200:
        return Endpoint(kind, base_url, problem=f"{server.display_name} at {base_url} answered "
                                                f"HTTP {reply.status_code} to {url}")
    try:
        body = reply.json()
        names = ([m["name"] for m in body["models"]] if kind == "ollama"
                 else [m["id"] for m in body["data"]])
    except (ValueError, KeyError, TypeError):
        return Endpoint(kind, base_url, problem=f"{server.display_name} at {base_url} did not "
                                                f"send a model list")
    return Endpoint(kind, base_url, tuple(str(n) for n in names))


def _list_url(kind: str, base_url: str) -> str:
    base = base_url.rstrip("/")
    if kind == "ollama":
        return (base[:-3] if base.endswith("/v1") else base) + "/api/tags"
    return base + "/models"


def environment_endpoints(env: Mapping[str, str]) -> dict[str, str]:
    """``{kind: base_url}`` for the servers named in the environment."""
    return {s.kind: env[s.url_var] for s in SERVERS if env.get(s.url_var)}


def environment_only(env: Mapping[str, str]) -> dict[str, str]:
    """``{kind: model}`` for servers narrowed to one model by ``<KIND>_MODEL``."""
    return {s.kind: env[s.model_var] for s in SERVERS if env.get(s.model_var)}


def local_server_models(endpoints: Mapping[str, str], only: Mapping[str, str]) -> list[ModelConfig]:
    """The models of each local server (``{kind: base_url}``), as their servers list them
    (asked now); ``only[kind]`` narrows a server to one model."""
    found = []
    for server in SERVERS:
        if server.kind in endpoints:
            found.extend(endpoint_models(server.kind, endpoints[server.kind],
                                         only=only.get(server.kind) or None))
    return found


def endpoint_models(kind: str, base_url: str, only: str | None = None,
                    endpoint: Endpoint | None = None) -> list:
    """``ModelConfig`` entries for what the server serves (``only``: just that model).

    Names are ``<kind>/<model id>`` (``ollama/llama3.2``); an unreachable server gives one
    entry named ``kind`` whose ``missing_env`` says why, so it is listed as unavailable."""
    server = _BY_KIND.get(kind)
    if server is None:
        raise KeyError(kind)
    endpoint = endpoint or discover(kind, base_url)
    info = {"display_name": f"{server.display_name} (local)", "badge": "Local",
            "description": f"Served by {server.display_name} at {base_url}."}
    api_base = base_url.rstrip("/")
    if kind == "ollama" and api_base.endswith("/v1"):
        api_base = api_base[:-3]
    if not endpoint.reachable:
        model = f"{server.litellm_prefix}/{only or 'unknown'}"
        return [ModelConfig(kind, {"model": model, "api_base": api_base}, info,
                            missing_env=(endpoint.problem,))]
    names = [only] if only else list(endpoint.models)
    if not names:
        return [ModelConfig(kind, {"model": f"{server.litellm_prefix}/none", "api_base": api_base},
                            info, missing_env=(f"{server.display_name} at {base_url} serves no "
                                               f"model yet",))]
    return [ModelConfig(f"{kind}/{name}", {"model": f"{server.litellm_prefix}/{name}",
                                           "api_base": api_base},
                        {**info, "display_name": f"{name} ({server.display_name}, local)"})
            for name in names]
