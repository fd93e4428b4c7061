"""Parley's engine: routing, LiteLLM calls and recording. Never imports streamlit.

Importing ``core`` is cheap and changes nothing global: litellm is loaded on the first call.
Every error a public method raises is exported here (the tree is drawn in ``core.errors``).
"""
from core.catalog import Catalog, ModelEntry
from core.config import Settings, load_settings
from core.errors import (AllModelsFailedError, AuthError, BadRequestError, BudgetExceededError,
                         ConfigError, ContextTooLongError, NotAllowedError, ParleyError,
                         ProviderBadResponse,
                         ProviderDownError, ProviderError, ProviderTimeoutError, QuotaError,
                         RateLimitError, StoreUnavailableError, UnknownModelError,
                         UserRateLimitError)
from core.preparation import Call, Plan
from core.results import CallRecord, Delta, GenerationResult
from core.service import AIService
from core.validation import ColumnConfig

__all__ = [
    "AIService", "Call", "Plan", "GenerationResult", "CallRecord", "Delta", "ColumnConfig", "Catalog", "ModelEntry",
    "Settings", "load_settings",
    "ParleyError", "ConfigError", "BadRequestError", "UnknownModelError", "ContextTooLongError",
    "ProviderError", "AuthError", "RateLimitError", "QuotaError", "ProviderTimeoutError",
    "ProviderDownError", "ProviderBadResponse", "AllModelsFailedError", "BudgetExceededError",
    "UserRateLimitError", "StoreUnavailableError", "NotAllowedError",
]
