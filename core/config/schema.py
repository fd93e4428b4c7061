"""The shape of ``parley.yaml``, as pydantic models: every key and its type, checked at load.

``validate_file(data, source)`` checks a whole file and returns a ``ConfigFile``; a fault
raises ``ConfigError`` naming the key (``router_settings.fallbacks[0]``) and what is wrong, and
a misspelt key of Parley's own names the nearest valid one. Top-level sections of LiteLLM's
proxy that Parley does not run (``guardrails``, ``mcp_servers``, ``litellm_settings``...) are
returned in ``ConfigFile.ignored`` for one warning; they are not an error, so a LiteLLM proxy
config loads unchanged. Name checks (does ``default_model`` exist?) live in the loader.
"""
from __future__ import annotations

import difflib
from typing import Any, Literal, Optional, Union

from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt,
                      StrictStr, ValidationError, field_validator, model_validator)
from typing_extensions import Annotated

from core.errors import ConfigError

__all__ = ["ConfigFile", "ParleySection", "RouterSettings", "validate_file", "validate_section",
           "PARLEY_KEYS", "PROXY_ONLY_KEYS"]

PARLEY_KEYS = ("model_list", "router_settings", "parley", "environment_variables")
# Sections of LiteLLM's proxy server config that Parley does not run: named in one warning.
PROXY_ONLY_KEYS = ("litellm_settings", "general_settings", "guardrails", "mcp_servers",
                   "mcp_tools", "search_tools", "sandbox_tools", "files_settings",
                   "finetune_settings", "policies", "policy_attachments", "worker_registry",
                   "callback_settings", "credential_list", "vector_store_registry", "prompts",
                   "agents", "pass_through_endpoints", "model_group_settings", "include")

Number = Union[StrictInt, StrictFloat]
Count = Annotated[StrictInt, Field(ge=0, le=10)]
Seconds = Annotated[Number, Field(ge=0, le=3600)]
Dollars = Annotated[Number, Field(ge=0)]
Name = Annotated[StrictStr, Field(min_length=1)]
FallbackList = list[dict[Name, list[Name]]]
ROUTING_STRATEGIES = ("simple-shuffle", "least-busy", "usage-based-routing",
                      "latency-based-routing", "cost-based-routing", "usage-based-routing-v2", "lar1")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RetryPolicy(_Section):
    """LiteLLM's retries per error class (``router_settings.retry_policy``)."""

    BadRequestErrorRetries: Optional[Count] = None
    AuthenticationErrorRetries: Optional[Count] = None
    TimeoutErrorRetries: Optional[Count] = None
    RateLimitErrorRetries: Optional[Count] = None
    ContentPolicyViolationErrorRetries: Optional[Count] = None
    InternalServerErrorRetries: Optional[Count] = None
    ServiceUnavailableErrorRetries: Optional[Count] = None
    NotFoundErrorRetries: Optional[Count] = None
    DefaultRetries: Optional[Count] = None


class RouterSettings(_Section):
    """``router_settings``: ``litellm.Router``'s keyword arguments (LiteLLM 1.106). Those Parley
    relies on are typed; the rest are LiteLLM's to check, but must be spelt as LiteLLM spells them."""

    num_retries: Optional[Count] = None
    allowed_fails: Optional[Count] = None
    max_fallbacks: Optional[Annotated[StrictInt, Field(ge=0, le=20)]] = None
    timeout: Optional[Seconds] = None
    stream_timeout: Optional[Seconds] = None
    cooldown_time: Optional[Seconds] = None
    retry_after: Optional[Seconds] = None
    fallbacks: Optional[FallbackList] = None
    context_window_fallbacks: Optional[FallbackList] = None
    content_policy_fallbacks: Optional[FallbackList] = None
    default_fallbacks: Optional[list[Name]] = None
    retry_policy: Optional[RetryPolicy] = None
    model_group_retry_policy: Optional[dict[Name, RetryPolicy]] = None
    routing_strategy: Optional[Literal[ROUTING_STRATEGIES]] = None  # type: ignore[valid-type]
    routing_strategy_args: Optional[dict[str, Any]] = None
    model_group_alias: Optional[dict[Name, Union[StrictStr, dict[str, Any]]]] = None
    enable_pre_call_checks: Optional[StrictBool] = None
    enable_tag_filtering: Optional[StrictBool] = None
    tag_filtering_match_any: Optional[StrictBool] = None
    disable_cooldowns: Optional[StrictBool] = None
    cache_responses: Optional[StrictBool] = None
    set_verbose: Optional[StrictBool] = None
    # Accepted as LiteLLM takes them; Parley passes them to the Router unchanged.
    alerting_config: Any = None
    allowed_fails_policy: Any = None
    assistants_config: Any = None
    auto_router_capability_limit: Any = None
    background_health_check_model_groups: Any = None
    cache_kwargs: Any = None
    caching_groups: Any = None
    client_ttl: Any = None
    debug_level: Any = None
    default_litellm_params: Any = None
    default_max_parallel_requests: Any = None
    default_priority: Any = None
    deployment_affinity_ttl_seconds: Any = None
    enable_health_check_routing: Any = None
    enable_weighted_failover: Any = None
    fallback_access_check: Any = None
    fallback_budget_check: Any = None
    guardrail_list: Any = None
    health_check_ignore_transient_errors: Any = None
    health_check_staleness_threshold: Any = None
    ignore_invalid_deployments: Any = None
    model_group_affinity_config: Any = None
    optional_pre_call_checks: Any = None
    plugins: Any = None
    polling_interval: Any = None
    provider_budget_config: Any = None
    redis_db: Any = None
    redis_host: Any = None
    redis_password: Any = None
    redis_port: Any = None
    redis_url: Any = None
    router_general_settings: Any = None
    routing_groups: Any = None
    search_tools: Any = None
    tag_routing_prefix: Any = None


class ModelInfo(BaseModel):
    """``model_info``: free-form (LiteLLM keeps many keys), but prices and windows are typed."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    display_name: Optional[StrictStr] = None
    badge: Optional[StrictStr] = None
    description: Optional[StrictStr] = None
    max_input_tokens: Optional[Annotated[StrictInt, Field(gt=0)]] = None
    max_output_tokens: Optional[Annotated[StrictInt, Field(gt=0)]] = None
    max_tokens: Optional[Annotated[StrictInt, Field(gt=0)]] = None

    @model_validator(mode="after")
    def _prices_are_numbers(self) -> "ModelInfo":
        _check_prices(self.model_extra or {})
        return self


class LiteLLMParams(BaseModel):
    """``litellm_params``: ``model`` is required; prices set here are checked like model_info's."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    model: Name

    @model_validator(mode="after")
    def _prices_are_numbers(self) -> "LiteLLMParams":
        _check_prices(self.model_extra or {})
        return self


def _check_prices(extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if "cost_per" in key and value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise ValueError(f"{key} must be a price in US dollars, 0 or more, not {value!r}")


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    model_name: Name
    litellm_params: LiteLLMParams
    model_info: Optional[ModelInfo] = None

    @field_validator("model_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("model_name is empty")
        return value.strip()


class Budgets(_Section):
    default: Optional[Dollars] = None
    users: dict[StrictStr, Dollars] = Field(default_factory=dict)
    hard: StrictBool = False


class KeyLimits(_Section):
    """Caps on a key a user who is not an admin makes for themselves; ``null`` lifts a cap
    (``core/store/key_policy.py`` holds the defaults an unset field keeps)."""

    monthly_budget: Optional[Dollars] = None
    models: Optional[list[Name]] = None
    rate_limit_per_minute: Optional[Annotated[StrictInt, Field(ge=1, le=100_000)]] = None
    expiry_days: Optional[Annotated[StrictInt, Field(ge=1, le=3650)]] = None
    max_keys: Optional[Annotated[StrictInt, Field(ge=1, le=1000)]] = None


class KeyPolicy(KeyLimits):
    """``parley.key_policy``: the caps for everyone, and ``users``: one user's own caps (each
    field over everyone's)."""

    users: dict[StrictStr, KeyLimits] = Field(default_factory=dict)


Complexity = Literal["simple", "moderate", "complex", "search"]
ServerKind = Literal["ollama", "lm_studio", "vllm"]


class CacheSettings(_Section):
    """``parley.cache``: LiteLLM's response cache (``redis`` needs ``PARLEY_REDIS_URL``)."""

    type: Literal["local", "redis"] = "local"
    ttl: Annotated[Number, Field(gt=0, le=30 * 86400)] = 3600
    # Who shares answers: user (default), key (the API key), global (everyone; opt-in).
    scope: Literal["user", "key", "global"] = "user"


class ParleySection(_Section):
    """The ``parley:`` section: Parley's own keys (see README "Configuration")."""

    default_model: Optional[Name] = None
    service_types: list[Name] = Field(default_factory=list)
    routes: dict[Complexity, Name] = Field(default_factory=dict)
    route_over_preferences: StrictBool = False
    admins: list[Name] = Field(default_factory=list)
    privacy: Literal["none", "store", "hash"] = "none"
    budgets: Optional[Budgets] = None
    key_policy: Optional[KeyPolicy] = None
    rate_limit_per_minute: Optional[Annotated[StrictInt, Field(ge=1, le=100_000)]] = None
    endpoints: dict[ServerKind, Annotated[StrictStr, Field(pattern=r"^https?://")]] = Field(
        default_factory=dict)
    # Team sign-in: a hosted-domain claim (``hd``) in this list stands in for email_verified.
    allowed_domains: list[Name] = Field(default_factory=list)
    max_request_bytes: Optional[Annotated[StrictInt, Field(ge=1_000)]] = None
    max_request_tokens: Optional[Annotated[StrictInt, Field(ge=100)]] = None
    # Read by the HTTP API's response cache and spend alerts (main, #16), which check them further.
    cache: Optional[CacheSettings] = None
    alerts: Optional[dict[StrictStr, Any]] = None


class ConfigFile(_Section):
    model_list: list[ModelEntry] = Field(default_factory=list)
    router_settings: RouterSettings = Field(default_factory=RouterSettings)
    parley: ParleySection = Field(default_factory=ParleySection)
    environment_variables: dict[StrictStr, Any] = Field(default_factory=dict)
    ignored: tuple[str, ...] = ()  # LiteLLM proxy sections present in the file, not run here


def validate_file(data: dict, source: str) -> ConfigFile:
    """The whole file checked, or ``ConfigError`` naming the first faulty key."""
    ignored = tuple(k for k in data if k in PROXY_ONLY_KEYS)
    unknown = [k for k in data if k not in PARLEY_KEYS and k not in PROXY_ONLY_KEYS]
    if unknown:
        key = str(unknown[0])
        raise ConfigError(f"is not a top-level key{_nearest(key, PARLEY_KEYS + PROXY_ONLY_KEYS)}",
                          source=source, key=key)
    kept = {k: ({} if v is None else v) for k, v in data.items() if k in PARLEY_KEYS}
    return _validated(ConfigFile, {**kept, "ignored": ignored}, source, "")


def validate_section(model: type[BaseModel], data: Any, source: str, key: str) -> Any:
    """One section (``ParleySection``, ``RouterSettings``...) checked, errors named under ``key``."""
    return _validated(model, {} if data is None else data, source, key)


def _validated(model: type[BaseModel], data: Any, source: str, prefix: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, model, source, prefix, data) from None


def _config_error(exc: ValidationError, model: type[BaseModel], source: str,
                  prefix: str, data: Any = None) -> ConfigError:
    error = exc.errors()[0]
    loc = [p for p in error["loc"] if not _is_type_tag(p)]
    key = _dotted([prefix, *loc] if prefix else loc) or prefix or "(file)"
    key = _with_model_name(key, loc, data)
    if error["type"] == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        choices = tuple(parent.model_fields) if parent else ()
        return ConfigError(f"is not a setting Parley knows{_nearest(str(loc[-1]), choices)}",
                           source=source, key=key)
    if error["type"] == "missing":
        if loc[0] == "model_list" and loc[-1] in ("litellm_params", "model"):
            return ConfigError("litellm_params.model is missing; write e.g. "
                               "'anthropic/claude-sonnet-4-5-20250929'", source=source,
                               key=_with_model_name(f"model_list[{loc[1]}]", loc, data))
        return ConfigError("is missing", source=source, key=key)
    message = error["msg"]
    if message.startswith("Value error, "):
        return ConfigError(message[len("Value error, "):], source=source, key=key)
    hint = next((h for part in reversed(loc) for names, h in _HINTS if str(part) in names), None)
    if error["type"] == "literal_error":
        hint = "one of " + error["ctx"]["expected"].replace("'", "").replace(" or ", ", ")
    shown = repr(error.get("input"))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    problem = f"must be {hint}" if hint else f"{message[0].lower()}{message[1:]}"
    return ConfigError(f"{problem}, not {shown}", source=source, key=key)


_SECONDS = ("timeout", "stream_timeout", "cooldown_time", "retry_after")
_HINTS = (
    (_SECONDS, "a number of seconds from 0 to 3600"),
    (("num_retries", "allowed_fails", *RetryPolicy.model_fields),
     "a whole number from 0 to 10"),
    (("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"),
     "a list of entries like {claude: [gemini]}"),
    (("max_input_tokens", "max_output_tokens", "max_tokens"), "a whole number of tokens above 0"),
    (("rate_limit_per_minute",), "a whole number of calls from 1 to 100000"),
    (("default", "users"), "a number of US dollars, 0 or more"),
    (("budgets",), "a mapping with default, users and hard"),
    (("endpoints",), "a mapping of ollama, lm_studio or vllm to an http(s) base URL"),
    (("service_types", "admins", "allowed_domains", "default_fallbacks"), "a list of names"),
    (("route_over_preferences", "hard"), "true or false"),
)


def _with_model_name(key: str, loc: list, data: Any) -> str:
    """``model_list[0] (claude).litellm_params``: the entry's name, so a reader finds it."""
    if len(loc) < 2 or loc[0] != "model_list" or not isinstance(loc[1], int):
        return key
    try:
        name = data["model_list"][loc[1]]["model_name"]
    except (KeyError, IndexError, TypeError):
        return key
    head = f"model_list[{loc[1]}]"
    return key.replace(head, f"{head} ({name})", 1) if isinstance(name, str) else key


_TYPE_TAGS = {"int", "float", "str", "bool", "dict", "list", "none"}


def _is_type_tag(part: Any) -> bool:
    """pydantic names the union member it tried inside ``loc`` (``int``, ``dict[str,...]``)."""
    return isinstance(part, str) and (part in _TYPE_TAGS or "[" in part
                                      or part.startswith(("function-", "constrained-", "literal")))


def _dotted(parts: list) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part:
            out += f".{part}" if out else str(part)
    return out


def _model_at(model: type[BaseModel], loc: list) -> type[BaseModel] | None:
    """The pydantic model a location inside ``model`` points into (for key suggestions)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        current = _inner_model(field.annotation) if field else None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _nearest(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
