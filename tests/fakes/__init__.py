"""A local HTTP server that speaks the OpenAI, Anthropic and Gemini wire protocols.

Tests and benchmarks point LiteLLM at it with `api_base` (see `ProviderEmulator`) and script it
with `Reply` and `Fault`; it records every request with the exact usage it reported.
"""

from .handler import ReceivedRequest
from .script import Fault, Reply, ToolCall, Usage
from .server import ProviderEmulator

__all__ = ["Fault", "ProviderEmulator", "ReceivedRequest", "Reply", "ToolCall", "Usage"]
