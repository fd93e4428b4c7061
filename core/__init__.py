"""Parley's engine: routing, LiteLLM calls and recording. Never imports streamlit.

Importing ``core`` is cheap: litellm is loaded on the first call through the gateway.
"""
from core.catalog import Catalog, ModelEntry
from core.config import Settings, load_settings
from core.errors import (AllModelsFailedError, AuthError, BadRequestError, ConfigError,
                         ContextTooLongError, ParleyError, ProviderDownError, ProviderError,
                         ProviderTimeoutError, QuotaError, RateLimitError, UnknownModelError,
                         UserRateLimitError)
from core.results import CallRecord, GenerationResult
from core.service import AIService

__all__ = [
    "AIService", "GenerationResult", "CallRecord", "Catalog", "ModelEntry", "Settings",
    "load_settings", "ParleyError", "ConfigError", "BadRequestError", "UnknownModelError",
    "ContextTooLongError", "ProviderError", "AuthError", "RateLimitError", "QuotaError",
    "ProviderTimeoutError", "ProviderDownError", "AllModelsFailedError", "UserRateLimitError",
]
