"""Parley's errors. Each carries one sentence a user can act on, in ``str(err)``.

The tree::

    ParleyError
    ├── ConfigError                 parley.yaml or the environment is wrong
    ├── BadRequestError             the caller asked for something invalid
    │   ├── UnknownModelError       a model name that is not configured
    │   └── ContextTooLongError     the prompt does not fit the model's context window
    ├── ProviderError               a provider (or the network to it) failed the call
    │   ├── AuthError               key missing, wrong or revoked (401/403)
    │   ├── RateLimitError          too many requests right now (429); retry_after if known
    │   ├── QuotaError              the account is out of credit or quota
    │   ├── ProviderTimeoutError    no answer within the timeout
    │   ├── ProviderDownError       5xx / overloaded / connection refused / cut stream
    │   └── ProviderBadResponse     the provider answered with something unreadable
    ├── AllModelsFailedError        the model and every fallback failed; .failures lists each
    ├── NotAllowedError             the caller's API key may not use this model or service type
    ├── BudgetExceededError         the user's hard monthly budget is spent
    ├── UserRateLimitError          this user started too many calls this minute (Parley's limit)
    ├── StreamAbandonedError        the reader closed a stream before it ended (recorded, not raised)
    └── StoreUnavailableError       the call log's database cannot be reached or is not set up

Messages never contain a secret: provider error text is passed through
``redact`` before it is kept.
"""
from __future__ import annotations

import re

__all__ = [
    "ParleyError", "ConfigError", "BadRequestError", "UnknownModelError",
    "ContextTooLongError", "ProviderError", "AuthError", "RateLimitError", "QuotaError",
    "ProviderTimeoutError", "ProviderDownError", "ProviderBadResponse",
    "AllModelsFailedError", "NotAllowedError", "BudgetExceededError", "UserRateLimitError", "StreamAbandonedError",
    "StoreUnavailableError", "redact", "hide_urls",
]

_SECRET_PATTERNS = [
    # credentials inside a URL: scheme://user:password@host keeps the user, scheme://key@host nothing
    re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@'\"]*:)([^/\s@'\"]+)(?=@)"),
    re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/\s:@'\"]+)(?=@)"),
    re.compile(r"(sk-(?:ant-)?[A-Za-z0-9_\-]{6,})"),
    re.compile(r"(AIza[0-9A-Za-z_\-]{10,})"),
    re.compile(r"(?i)((?:api[_-]?key|key|token|authorization|bearer|x-api-key|apikey|password|passwd|"
               r"pwd|secret|client[_-]?secret)"
               r"[\"']?\s*[:=]\s*[\"']?(?>(?:bearer\s+)?))(?![a-z]{2,3}-\.\.\.)([^\s\"'&,}]+)"),
    re.compile(r"(eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*)"),
]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Return ``text`` with API keys, bearer tokens, JWTs, passwords (``password=``), credentials
    inside URLs (``postgresql://u:***@h``, ``https://***@host``) and the given ``secrets`` masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(lambda m: m.group(1) + "***", text)
        else:
            text = pattern.sub("***", text)
    return text


_URL = re.compile(r"(?i)\b(?:https?|wss?|postgres(?:ql)?|redis)://[^\s'\"<>)]+")


def hide_urls(text: str) -> str:
    """``text`` with every URL replaced by ``[internal address]``: for people who may use a
    server but need not know where it lives (the providers page, for non-admins)."""
    def hidden(match: re.Match) -> str:
        url = match.group(0)
        kept = url.rstrip(".,;:")  # sentence punctuation after a URL is not part of it
        return "[internal address]" + url[len(kept):]
    return _URL.sub(hidden, text)


class ParleyError(Exception):
    """Base of every Parley error; ``str(err)`` is the sentence to show a user."""

    kind = "error"

    def __init__(self, message: str, *, model: str | None = None):
        super().__init__(message)
        self.message = message
        self.model = model


class ConfigError(ParleyError):
    """The configuration cannot be used. The message names the file, the key and the fault."""

    kind = "config"

    def __init__(self, problem: str, *, source: str = "configuration", key: str | None = None):
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")
        self.source, self.key, self.problem = source, key, problem


class BadRequestError(ParleyError):
    kind = "bad_request"


class UnknownModelError(BadRequestError):
    kind = "unknown_model"

    def __init__(self, name: str, known: list[str], how_to_add: str = ""):
        names = ", ".join(known) if known else "none are configured"
        hint = f" {how_to_add}" if how_to_add else ""
        super().__init__(f"Model '{name}' is not configured; choose one of: {names}.{hint}",
                         model=name)


class ContextTooLongError(BadRequestError):
    kind = "context_too_long"


class ProviderError(ParleyError):
    """A provider failed the call. ``status`` is the HTTP status when there was one."""

    kind = "provider"

    def __init__(self, message: str, *, model: str | None = None, status: int | None = None):
        super().__init__(message, model=model)
        self.status = status


class AuthError(ProviderError):
    kind = "auth"


class RateLimitError(ProviderError):
    kind = "rate_limit"

    def __init__(self, message: str, *, model: str | None = None, status: int | None = 429,
                 retry_after: float | None = None):
        super().__init__(message, model=model, status=status)
        self.retry_after = retry_after


class QuotaError(ProviderError):
    kind = "quota"


class ProviderTimeoutError(ProviderError):
    kind = "timeout"


class ProviderDownError(ProviderError):
    kind = "provider_down"


class ProviderBadResponse(ProviderError):
    kind = "bad_response"


class AllModelsFailedError(ParleyError):
    """Every model tried failed. ``failures`` maps each model name to its error."""

    kind = "all_failed"

    def __init__(self, failures: dict[str, ParleyError]):
        parts = " ".join(f"{name}: {err}" for name, err in failures.items())
        super().__init__(f"Every model failed. {parts}")
        self.failures = failures


class NotAllowedError(ParleyError):
    """The call's API key may not do this (a model or service type outside its limits);
    ``code`` says which, for the API's error body (``model_not_allowed``, ...)."""

    kind = "not_allowed"

    def __init__(self, message: str, *, code: str = "model_not_allowed", model: str | None = None):
        super().__init__(message, model=model)
        self.code = code


class BudgetExceededError(ParleyError):
    kind = "budget"


class UserRateLimitError(ParleyError):
    """The user reached ``parley.rate_limit_per_minute``; ``retry_after`` is in seconds.
    Raised before any provider is called, so nothing is spent or recorded."""

    kind = "user_rate_limit"

    def __init__(self, user: str, limit: int, retry_after: float):
        wait = max(1, round(retry_after))
        calls = f"{limit} call{'s' if limit != 1 else ''}"
        super().__init__(f"{user} has started {calls} in the last minute, the most allowed per "
                         f"user; try again in {wait} second{'s' if wait != 1 else ''}.")
        self.user, self.limit, self.retry_after = user, limit, retry_after


class StreamAbandonedError(ParleyError):
    kind = "abandoned"


class StoreUnavailableError(ParleyError):
    """The store (SQLite file, Postgres or Supabase) cannot be reached or lacks its schema.
    The message names the backend and where it is, never a password or key."""

    kind = "store_unavailable"
