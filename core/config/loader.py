"""Settings: ``parley.yaml`` (LiteLLM proxy format + a ``parley:`` section), env and secrets.

``load_settings()`` reads the file named by ``PARLEY_CONFIG`` (else ``./parley.yaml`` when
present, else defaults built from the environment) and returns a validated ``Settings``.
Any fault raises ``ConfigError`` naming the file, the key and what is wrong. Values written
``os.environ/NAME`` are read from the environment; a missing key makes that model
unavailable, not the config invalid. Resolved secrets live only in ``ModelConfig.litellm_params``
and are never printed.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import yaml

from core.config.discovery import SERVERS, environment_only
from core.config.environment import environment_models
from core.config.model import ModelConfig
from core.config.settings import COMPLEXITY_LEVELS, PRIVACY_MODES, Settings
from core.errors import ConfigError

__all__ = ["load_settings", "build_settings", "resolve_env_refs"]

_ENV_PREFIX = "os.environ/"
_ROUTER_DEFAULTS = {"num_retries": 2, "timeout": 30.0}


def load_settings(path: str | os.PathLike | None = None,
                  env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; ``env`` defaults to ``os.environ``."""
    env = os.environ if env is None else env
    if path is None:
        path = env.get("PARLEY_CONFIG") or ("parley.yaml" if Path("parley.yaml").exists() else None)
    data_dir = Path(env.get("PARLEY_DATA_DIR") or ".parley")
    common = {"data_dir": data_dir, "database_url": _database_url(env, data_dir),
              "redis_url": env.get("PARLEY_REDIS_URL") or ""}
    if path is None:
        found = environment_models(env)
        return build_settings(found["models"], found["router"], found["parley"], "environment",
                              common, endpoints=found["endpoints"],
                              endpoint_only=found["endpoint_only"])
    return _parse(_read_yaml(Path(path)), str(path), env, common)


def _database_url(env: Mapping[str, str], data_dir: Path) -> str:
    return env.get("PARLEY_DATABASE_URL") or f"sqlite:///{data_dir / 'parley.db'}"


def _read_yaml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot be read ({exc.strerror})", source=str(path)) from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"is not valid YAML{where}", source=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("must be a mapping with model_list, router_settings and parley",
                          source=str(path))
    return data


def _parse(data: dict, source: str, env: Mapping[str, str], common: dict) -> Settings:
    unknown = set(data) - {"model_list", "router_settings", "parley", "litellm_settings",
                           "general_settings", "environment_variables"}
    if unknown:
        raise ConfigError(f"unknown top-level key(s) {sorted(unknown)}", source=source)
    models = tuple(_parse_model(i, item, source, env)
                   for i, item in enumerate(_expect(data, "model_list", list, source, [])))
    parley = _expect(data, "parley", dict, source, {})
    endpoints = _endpoints(parley.get("endpoints"), source)
    if not models and not endpoints:
        raise ConfigError("lists no models; add at least one entry (or parley.endpoints)",
                          source=source, key="model_list")
    names = _Names({m.name for m in models}, endpoints)
    router = {**_ROUTER_DEFAULTS, **_expect(data, "router_settings", dict, source, {})}
    _check_router(router, names, source)
    return build_settings(models, router, parley, source, common, endpoints=endpoints,
                          endpoint_only=environment_only(env))


def _endpoints(endpoints: Any, source: str) -> dict[str, str]:
    """``parley.endpoints: {ollama: http://localhost:11434, vllm: ...}``: local servers whose
    models are listed when the models are first asked for (connecting to nothing now)."""
    if not endpoints:
        return {}
    kinds = {s.kind for s in SERVERS}
    if not isinstance(endpoints, dict) or not all(
            k in kinds and isinstance(v, str) and v.startswith(("http://", "https://"))
            for k, v in endpoints.items()):
        raise ConfigError(f"must map {', '.join(sorted(kinds))} to http(s) base URLs",
                          source=source, key="parley.endpoints")
    return dict(endpoints)


class _Names(set):
    """Model names a setting may refer to: the declared ones, and any name a configured local
    server may serve (``ollama/<model>``), which is checked when that server is asked."""

    def __init__(self, declared: set[str], endpoints: dict[str, str]):
        super().__init__(declared)
        self.kinds = tuple(endpoints)

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or (
            isinstance(name, str) and any(name == k or name.startswith(f"{k}/") for k in self.kinds))


def build_settings(models: tuple[ModelConfig, ...], router: dict, parley: dict, source: str,
                   common: dict, *, endpoints: dict[str, str] | None = None,
                   endpoint_only: dict[str, str] | None = None) -> Settings:
    """Validate the ``parley:`` section against ``models`` and assemble ``Settings``."""
    endpoints = endpoints or {}
    names = _Names({m.name for m in models}, endpoints)
    if not names and not endpoints:
        raise ConfigError("lists no models", source=source, key="model_list")
    default = parley.get("default_model", models[0].name if models else None)
    if default is not None or models:  # only local servers: the first they list, once asked
        _check_name(default, names, source, "parley.default_model")
    routes = parley.get("routes") or {}
    if not isinstance(routes, dict):
        raise ConfigError("must be a mapping of complexity to model", source=source, key="parley.routes")
    for level, target in routes.items():
        if level not in COMPLEXITY_LEVELS:
            raise ConfigError(f"{level!r} is not a complexity; use {', '.join(COMPLEXITY_LEVELS)}",
                              source=source, key="parley.routes")
        _check_name(target, names, source, f"parley.routes.{level}")
    route_first = parley.get("route_over_preferences", False)
    if not isinstance(route_first, bool):
        raise ConfigError("must be true or false", source=source, key="parley.route_over_preferences")
    privacy = parley.get("privacy", "none")
    if privacy not in PRIVACY_MODES:
        raise ConfigError(f"must be one of {', '.join(PRIVACY_MODES)}, not {privacy!r}",
                          source=source, key="parley.privacy")
    return Settings(
        declared=tuple(models), router_settings=router, default_model=default,
        endpoints=dict(endpoints), endpoint_only=dict(endpoint_only or {}),
        service_types=tuple(_str_list(parley, "service_types", source)),
        routes=dict(routes), route_over_preferences=route_first,
        admins=tuple(_str_list(parley, "admins", source)),
        privacy=privacy, source=source, budgets=dict(parley.get("budgets") or {}),
        rate_limit_per_minute=_rate_limit(parley, source), cache=_cache(parley, source, common),
        alerts=_alerts(parley, source), **common)


def _alerts(parley: dict, source: str) -> dict[str, Any]:
    """``parley.alerts``, checked here so a wrong one fails when the settings load."""
    from core.config.alerts import AlertSettings

    raw = parley.get("alerts") or {}
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping (webhook, smtp, spike_factor, interval_s)",
                          source=source, key="parley.alerts")
    AlertSettings.from_config(raw, source)
    return dict(raw)


def _cache(parley: dict, source: str, common: dict) -> dict[str, Any]:
    """``parley.cache: {type: local|redis, ttl: seconds}`` (LiteLLM's response cache);
    ``redis`` needs ``PARLEY_REDIS_URL``. Unset: no cache."""
    raw = parley.get("cache")
    if raw is None:
        return {}
    if not isinstance(raw, dict) or set(raw) - {"type", "ttl"}:
        raise ConfigError("must be a mapping with type (local or redis) and ttl (seconds)",
                          source=source, key="parley.cache")
    kind, ttl = raw.get("type", "local"), raw.get("ttl", 3600)
    if kind not in ("local", "redis"):
        raise ConfigError(f"type must be local or redis, not {kind!r}", source=source,
                          key="parley.cache.type")
    if kind == "redis" and not common.get("redis_url"):
        raise ConfigError("type redis needs PARLEY_REDIS_URL to be set", source=source,
                          key="parley.cache.type")
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl <= 30 * 86400:
        raise ConfigError(f"ttl must be a number of seconds up to 30 days, not {ttl!r}",
                          source=source, key="parley.cache.ttl")
    return {"type": kind, "ttl": float(ttl)}


def _rate_limit(parley: dict, source: str) -> int | None:
    """``parley.rate_limit_per_minute``: calls one user may start per minute; unset = no limit."""
    value = parley.get("rate_limit_per_minute")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100_000:
        raise ConfigError(f"must be a whole number of calls from 1 to 100000, not {value!r}",
                          source=source, key="parley.rate_limit_per_minute")
    return value


def _expect(data: dict, key: str, kind: type, source: str, default: Any) -> Any:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise ConfigError(f"must be a {kind.__name__}, not {type(value).__name__}",
                          source=source, key=key)
    return value


def _str_list(section: dict, key: str, source: str) -> list[str]:
    value = section.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("must be a list of strings", source=source, key=f"parley.{key}")
    return value


def _check_name(name: Any, names: set[str], source: str, key: str) -> None:
    if name not in names:
        raise ConfigError(f"names model {name!r}, which is not in model_list "
                          f"(configured: {', '.join(sorted(names))})", source=source, key=key)


def _parse_model(index: int, item: Any, source: str, env: Mapping[str, str]) -> ModelConfig:
    key = f"model_list[{index}]"
    if not isinstance(item, dict):
        raise ConfigError("must be a mapping with model_name and litellm_params", source=source, key=key)
    name = item.get("model_name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("model_name is missing or empty", source=source, key=key)
    params = item.get("litellm_params")
    if not isinstance(params, dict) or not isinstance(params.get("model"), str):
        raise ConfigError("litellm_params.model is missing; write e.g. "
                          "'anthropic/claude-sonnet-4-5-20250929'", source=source, key=f"{key} ({name})")
    info = item.get("model_info") or {}
    if not isinstance(info, dict):
        raise ConfigError("model_info must be a mapping", source=source, key=f"{key} ({name})")
    resolved, missing = resolve_env_refs(params, env)
    return ModelConfig(name=name.strip(), litellm_params=resolved, model_info=dict(info),
                       missing_env=tuple(missing))


def resolve_env_refs(params: dict, env: Mapping[str, str]) -> tuple[dict, list[str]]:
    """Replace ``os.environ/NAME`` values with the environment's; return names that are unset."""
    resolved, missing = {}, []
    for key, value in params.items():
        if isinstance(value, str) and value.startswith(_ENV_PREFIX):
            var = value[len(_ENV_PREFIX):]
            if env.get(var):
                resolved[key] = env[var]
            else:
                missing.append(f"{var} is not set")
        else:
            resolved[key] = value
    return resolved, missing


def _check_router(router: dict, names: set[str], source: str) -> None:
    for key in ("num_retries", "allowed_fails"):
        value = router.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or not 0 <= value <= 10):
            raise ConfigError("must be a whole number from 0 to 10", source=source,
                              key=f"router_settings.{key}")
    for key in ("timeout", "cooldown_time", "retry_after"):
        value = router.get(key)
        if value is not None and (not isinstance(value, (int, float)) or value < 0 or value > 3600):
            raise ConfigError("must be a number of seconds from 0 to 3600", source=source,
                              key=f"router_settings.{key}")
    for key in ("fallbacks", "context_window_fallbacks"):
        for entry in router.get(key) or []:
            if not isinstance(entry, dict) or not all(isinstance(v, list) for v in entry.values()):
                raise ConfigError("entries must look like {claude: [gemini]}", source=source,
                                  key=f"router_settings.{key}")
            for primary, targets in entry.items():
                for target in [primary, *targets]:
                    _check_name(target, names, source, f"router_settings.{key}")
