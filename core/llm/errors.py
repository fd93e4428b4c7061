"""Turn a LiteLLM exception into a Parley error with one sentence a user can act on.

LiteLLM's exception classes are matched by name and status code so this module does not
import litellm (only ``core.llm.gateway`` does). Provider text is redacted before it is kept.
"""
from __future__ import annotations

import re

from core import errors

__all__ = ["to_parley_error"]

# Gemini says "check quota" on plain rate limits too, so the hints are the unambiguous ones.
_QUOTA_HINTS = ("insufficient_quota", "exceeded your current quota", "billing", "credit balance")
_MALFORMED_HINTS = ("json", "decode", "unable to parse", "expecting value", "invalid response",
                    "malformed")
_CUT_HINTS = ("incomplete chunked read", "peer closed", "remoteprotocolerror", "server disconnected",
              "connection reset", "response ended prematurely", "mid-stream", "midstream")


def to_parley_error(exc: BaseException, model: str, secrets: tuple[str, ...] = ()) -> errors.ParleyError:
    """The ``ParleyError`` for ``exc`` raised while calling configured model ``model``."""
    if isinstance(exc, errors.ParleyError):
        return exc
    name = type(exc).__name__
    status = _status(exc)
    detail = _detail(exc, secrets)
    lower = detail.lower()
    if name == "ContextWindowExceededError":
        return errors.ContextTooLongError(
            f"The prompt is too long for {model}'s context window; shorten it or pick a "
            f"model with a larger window.", model=model)
    if name == "AuthenticationError" or status in (401, 403):
        return errors.AuthError(
            f"{model} rejected the API key ({detail}); check the key configured for it.",
            model=model, status=status)
    if name in ("RouterRateLimitError", "RouterRateLimitErrorBasic") or "no deployments available" in lower:
        wait = getattr(exc, "cooldown_time", None)
        when = f"for up to {wait:g} s " if isinstance(wait, (int, float)) else ""
        return errors.ProviderDownError(
            f"{model} is paused {when}after repeated failures (cooldown); try again shortly "
            f"or use another model.", model=model, status=status)
    if any(hint in lower for hint in _QUOTA_HINTS) and status in (400, 402, 403, 429, None):
        return errors.QuotaError(
            f"{model}'s account is out of quota or credit; top it up or use another model.",
            model=model, status=status)
    if name == "RateLimitError" or status == 429:
        retry_after = _retry_after(exc)
        wait = f" (retry after {retry_after:g}s)" if retry_after else ""
        return errors.RateLimitError(
            f"{model} is rate-limiting requests{wait}; wait a moment or use another model.",
            model=model, retry_after=retry_after)
    if name == "Timeout" or "timed out" in lower or "timeout" in name.lower():
        return errors.ProviderTimeoutError(
            f"{model} did not answer within the timeout; try again or raise router_settings.timeout.",
            model=model, status=status)
    if any(hint in lower for hint in _CUT_HINTS):
        return errors.ProviderDownError(
            f"{model}'s answer was cut off mid-way ({detail}); try again.", model=model, status=status)
    if any(hint in lower for hint in _MALFORMED_HINTS) and (status is None or status < 400 or status >= 500):
        return errors.ProviderBadResponse(
            f"{model} sent a response Parley could not read; try again or use another model.",
            model=model, status=status)
    if name in ("BadRequestError", "UnprocessableEntityError", "NotFoundError",
                "UnsupportedParamsError", "ContentPolicyViolationError") or status in (400, 404, 422):
        return errors.BadRequestError(f"{model} refused the request: {detail}", model=model)
    return errors.ProviderDownError(
        f"{model} is unavailable right now ({detail}); try again later or use another model.",
        model=model, status=status)


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    try:
        return int(status) if status is not None else None
    except (TypeError, ValueError):
        return None


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        value = headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


def _detail(exc: BaseException, secrets: tuple[str, ...]) -> str:
    """A short, secret-free description of what the provider said."""
    text = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    said = re.search(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
    if said:  # the provider's own sentence, out of its JSON error body
        text = said.group(1)
    text = re.sub(r"^(litellm\.)?[A-Za-z]+(Error|Exception|Timeout):\s*", "", text)
    text = re.sub(r"(litellm\.)?[A-Za-z]+(Error|Exception)(:|\s+-)\s*", "", text)
    text = text.split("Received Model Group")[0].split("LiteLLM Retried")[0]
    text = re.sub(r"\s+", " ", text).strip(" .:-")
    text = errors.redact(text, secrets)
    status = _status(exc)
    if status and str(status) not in text:
        text = f"HTTP {status}: {text}"
    return text[:200] + ("…" if len(text) > 200 else "")
