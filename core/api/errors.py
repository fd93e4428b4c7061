"""Errors as the HTTP API answers them: the caller's protocol's shape, the right status,
never a secret. OpenAI's shape (every route but Anthropic's):

    {"error": {"type": "invalid_request_error", "message": "<one sentence>", "code": "..."}}

Anthropic's (``/v1/messages*``, and any unknown route a client sends ``x-api-key`` or
``anthropic-version`` to), with the same status and Anthropic's type for it
(``ANTHROPIC_TYPES``; a 503 is ``overloaded_error``, which its SDKs retry):

    {"type": "error", "error": {"type": "not_found_error", "message": "<one sentence>"}}

=======================================  ======  ===========================  ====================
cause                                    status  type                         code
=======================================  ======  ===========================  ====================
malformed JSON, wrong types, bad input   400     invalid_request_error        invalid_request
prompt too long for the model            400     invalid_request_error        context_length_exceeded
no, unknown, revoked or expired key      401     authentication_error         invalid_api_key / key_revoked / key_expired
model or service not allowed for the key 403     permission_error             model_not_allowed
unknown model                            404     not_found_error              model_not_found
body over the size limit                 413     invalid_request_error        request_too_large
rate limit, key or user budget spent     429     rate_limit_error             rate_limit_exceeded / budget_exceeded (Retry-After)
provider 500, bad answer, all failed     502     api_error                    provider_error
provider unavailable, overloaded, out of 503     api_error                    provider_unavailable
quota, rate-limited, or its key refused
provider timed out                       504     api_error                    provider_timeout
=======================================  ======  ===========================  ====================

Anything else is a 500 with a fixed sentence (the exception is logged, not shown).
"""
from __future__ import annotations

import logging
import math

from core.errors import (AllModelsFailedError, AuthError, BadRequestError, BudgetExceededError,
                         ConfigError, ContextTooLongError, NotAllowedError, ParleyError, ProviderDownError,
                         ProviderError, ProviderTimeoutError, QuotaError, RateLimitError,
                         StoreUnavailableError, UnknownModelError, UserRateLimitError, redact)

__all__ = ["ApiError", "from_parley_error", "error_body", "anthropic_error_body"]

log = logging.getLogger("parley.api")


class ApiError(Exception):
    """One error response: ``status``, OpenAI ``type``, ``code``, a sentence, and for a 429
    the seconds to wait (``retry_after``, sent as ``Retry-After``)."""

    def __init__(self, status: int, message: str, *, type: str | None = None,
                 code: str | None = None, retry_after: float | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after
        self.extra_headers = dict(headers or {})
        self.type = type or _TYPES.get(status, "api_error")
        self.code = code

    def body(self, shape: str = "openai") -> dict:
        """The JSON body in ``shape``: ``"openai"`` or ``"anthropic"``."""
        if shape == "anthropic":
            return anthropic_error_body(self.status, self.message)
        return error_body(self.type, self.message, self.code)

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return dict(self.extra_headers)
        return {**self.extra_headers, "Retry-After": str(max(1, math.ceil(self.retry_after)))}


_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error"}


ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                   403: "permission_error", 404: "not_found_error", 405: "invalid_request_error",
                   408: "timeout_error", 413: "request_too_large", 429: "rate_limit_error",
                   503: "overloaded_error", 504: "timeout_error"}


def error_body(type_: str, message: str, code: str | None) -> dict:
    return {"error": {"type": type_, "message": message, "code": code}}


def anthropic_error_body(status: int, message: str) -> dict:
    return {"type": "error", "error": {"type": ANTHROPIC_TYPES.get(status, "api_error"),
                                       "message": message}}


def from_parley_error(err: ParleyError, secrets: tuple[str, ...] = ()) -> ApiError:
    """The response for a Parley error (its sentence, scrubbed of secrets)."""
    message = redact(str(err), secrets)
    status, code = _status_of(err)
    retry = getattr(err, "retry_after", None)
    return ApiError(status, message, code=code, retry_after=retry if status == 429 else None)


def _status_of(err: ParleyError) -> tuple[int, str]:
    explicit = getattr(err, "status", None)
    if err.kind == "key_refused":
        return explicit, err.code
    if isinstance(err, NotAllowedError):
        return 403, err.code
    if isinstance(err, UnknownModelError):
        return 404, "model_not_found"
    if isinstance(err, ContextTooLongError):
        return 400, "context_length_exceeded"
    if isinstance(err, BadRequestError):
        return 400, "invalid_request"
    if isinstance(err, UserRateLimitError):
        return 429, "rate_limit_exceeded"
    if isinstance(err, BudgetExceededError):
        return 429, "budget_exceeded"
    if isinstance(err, AllModelsFailedError):
        return _worst(err)
    if isinstance(err, ProviderError):
        return _provider_status(err)
    if isinstance(err, (StoreUnavailableError, ConfigError)):
        return 503, "service_unavailable"
    return 502, "provider_error"


def _provider_status(err: ProviderError) -> tuple[int, str]:
    if isinstance(err, ProviderTimeoutError):
        return 504, "provider_timeout"
    if isinstance(err, ProviderDownError) and err.status in (500, 502):
        return 502, "provider_error"  # the provider answered with a server error
    if isinstance(err, (ProviderDownError, QuotaError, RateLimitError, AuthError)):
        return 503, "provider_unavailable"
    return 502, "provider_error"


def _worst(err: AllModelsFailedError) -> tuple[int, str]:
    """Every model failed: 504 if all timed out, else 502 (the gateway got bad answers)."""
    if all(isinstance(e, ProviderTimeoutError) for e in err.failures.values()):
        return 504, "provider_timeout"
    return 502, "provider_error"
