"""Settings: ``parley.yaml`` (LiteLLM proxy format + a ``parley:`` section), env and secrets.

``load_settings()`` reads the file named by ``PARLEY_CONFIG`` (else ``./parley.yaml`` when
present, else defaults built from the environment) and returns a validated ``Settings``.
Any fault raises ``ConfigError`` naming the file, the key and what is wrong. Values written
``os.environ/NAME`` are read from the environment; a missing key makes that model
unavailable, not the config invalid. Resolved secrets live only in ``ModelConfig.litellm_params``
and are never printed.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping

import yaml

from core.config.database import check_postgres_url
from core.config.discovery import environment_only
from core.config.environment import environment_models
from core.config.model import ModelConfig
from core.config.schema import ParleySection, validate_file, validate_section
from core.config.settings import Settings
from core.errors import ConfigError

__all__ = ["load_settings", "build_settings", "resolve_env_refs"]

log = logging.getLogger("parley")
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
    url = (env.get("PARLEY_DATABASE_URL") or "").strip()
    if url.startswith(("postgresql://", "postgres://")):
        check_postgres_url(url)
    return url or f"sqlite:///{data_dir / 'parley.db'}"


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
    checked = validate_file(data, source)
    if checked.ignored:
        log.warning("%s: ignoring %s: LiteLLM proxy settings that Parley does not run",
                    source, ", ".join(checked.ignored))
    models = tuple(_model_config(entry, env) for entry in checked.model_list)
    parley = checked.parley.model_dump(exclude_unset=True)
    endpoints = dict(checked.parley.endpoints)
    if not models and not endpoints:
        raise ConfigError("lists no models; add at least one entry (or parley.endpoints)",
                          source=source, key="model_list")
    names = _Names({m.name for m in models}, endpoints)
    router = {**_ROUTER_DEFAULTS,
              **checked.router_settings.model_dump(exclude_unset=True, exclude_none=True)}
    _check_router(router, names, source)
    return build_settings(models, router, parley, source, common, endpoints=endpoints,
                          endpoint_only=environment_only(env), ignored=checked.ignored)


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
                   endpoint_only: dict[str, str] | None = None,
                   ignored: tuple[str, ...] = ()) -> Settings:
    """Validate the ``parley:`` section against ``models`` and assemble ``Settings``."""
    section: ParleySection = validate_section(ParleySection, parley, source, "parley")
    endpoints = endpoints or {}
    names = _Names({m.name for m in models}, endpoints)
    if not names and not endpoints:
        raise ConfigError("lists no models", source=source, key="model_list")
    default = section.default_model or (models[0].name if models else None)
    if default is not None or models:  # only local servers: the first they list, once asked
        _check_name(default, names, source, "parley.default_model")
    for level, target in section.routes.items():
        _check_name(target, names, source, f"parley.routes.{level}")
    return Settings(
        declared=tuple(models), router_settings=router, default_model=default,
        endpoints=dict(endpoints), endpoint_only=dict(endpoint_only or {}),
        service_types=tuple(section.service_types), routes=dict(section.routes),
        route_over_preferences=section.route_over_preferences,
        admins=tuple(section.admins), privacy=section.privacy, source=source,
        budgets=section.budgets.model_dump(exclude_unset=True) if section.budgets else {},
        rate_limit_per_minute=section.rate_limit_per_minute,
        key_policy=section.key_policy.model_dump(exclude_unset=True) if section.key_policy else {},
        allowed_domains=tuple(d.lower() for d in section.allowed_domains),
        max_request_bytes=section.max_request_bytes or Settings.max_request_bytes,
        max_request_tokens=section.max_request_tokens, ignored=ignored,
        cache=_cache(parley, source, common), alerts=_alerts(parley, source), **common)


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
    """``parley.cache: {type: local|redis, ttl: seconds, scope: user|key|global}`` (LiteLLM's
    response cache); ``redis`` needs ``PARLEY_REDIS_URL``. Unset: no cache."""
    raw = parley.get("cache")
    if raw is None:
        return {}
    if not isinstance(raw, dict) or set(raw) - {"type", "ttl", "scope"}:
        raise ConfigError("must be a mapping with type (local or redis), ttl (seconds) and "
                          "scope (user, key or global)", source=source, key="parley.cache")
    kind, ttl, scope = raw.get("type", "local"), raw.get("ttl", 3600), raw.get("scope", "user")
    if scope not in ("user", "key", "global"):
        raise ConfigError(f"must be user, key or global, not {scope!r}", source=source,
                          key="parley.cache.scope")
    if kind not in ("local", "redis"):
        raise ConfigError(f"type must be local or redis, not {kind!r}", source=source,
                          key="parley.cache.type")
    if kind == "redis" and not common.get("redis_url"):
        raise ConfigError("type redis needs PARLEY_REDIS_URL to be set", source=source,
                          key="parley.cache.type")
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl <= 30 * 86400:
        raise ConfigError(f"ttl must be a number of seconds up to 30 days, not {ttl!r}",
                          source=source, key="parley.cache.ttl")
    return {"type": kind, "ttl": float(ttl), "scope": scope}


def _check_name(name: Any, names: set[str], source: str, key: str) -> None:
    if name not in names:
        raise ConfigError(f"names model {name!r}, which is not in model_list "
                          f"(configured: {', '.join(sorted(names))})", source=source, key=key)


def _model_config(entry, env: Mapping[str, str]) -> ModelConfig:
    resolved, missing = resolve_env_refs(entry.litellm_params.model_dump(), env)
    info = entry.model_info.model_dump(exclude_none=True) if entry.model_info else {}
    return ModelConfig(name=entry.model_name, litellm_params=resolved, model_info=info,
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
    """Every model a fallback list names is configured (types were checked by the schema)."""
    for key in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
        for index, entry in enumerate(router.get(key) or []):
            for primary, targets in entry.items():
                for target in [primary, *targets]:
                    _check_name(target, names, source, f"router_settings.{key}[{index}]")
