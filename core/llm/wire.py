"""What the fast path's wires share (core/llm/direct.py, core/llm/direct_anthropic.py): how a
call that is not sent directly is handed back, the request a wire builds (``Sending``), and the
``Reading`` of a stream (OpenAI's chunks; a wire with other events subclasses it)."""
from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from core.errors import ProviderDownError
from core.llm import runtime
from core.llm.runtime import Attempt, ms_since
from core.results import Thought

__all__ = ["Unsuitable", "Declined", "Sending", "Reading", "api_base", "wanted_params", "error_text",
           "provider_config"]


class Unsuitable(Exception):
    """The direct call failed before its first text: the gateway sends the call through the
    Router instead. ``attempt`` is the failed direct attempt (recorded with the call)."""

    def __init__(self, reason: str, attempt: Attempt | None):
        super().__init__(reason)
        self.attempt = attempt


class Declined(Unsuitable):
    """The call is not one the fast path sends (nothing was sent): the Router makes it."""

    def __init__(self, reason: str):
        super().__init__(reason, None)


def api_base(params: dict[str, Any], variables: tuple[str, ...], default: str) -> str:
    """The deployment's base URL as LiteLLM finds it: its ``api_base``, else the first of the
    provider's environment variables that is set, else the provider's own."""
    found = params.get("api_base") or next((os.environ[v] for v in variables if os.environ.get(v)), None)
    return str(found or default).rstrip("/")


@dataclass
class Sending:
    """One request as a wire builds it, and how the whole answer becomes a ``ModelResponse``
    (``answer``: the provider's answer, as JSON, to LiteLLM's response)."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    answer: Callable[[dict[str, Any]], Any]


@dataclass
class Reading:
    """What one direct stream has delivered: text pieces, tool-call fragments, usage. A wire's
    reading knows its protocol's events (``take``); this one OpenAI's chunks."""

    started: float
    pieces: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tools: dict[int, dict[str, Any]] = field(default_factory=dict)
    usage: dict[str, Any] | None = None
    finish: str | None = None
    ttft: float | None = None
    model: str | None = None
    done: bool = False
    answer: Callable[[dict[str, Any]], Any] | None = None  # set from the request's Sending
    thoughts: bool = False  # hand the reasoning on as ``Thought`` pieces too
    handed_on: bool = False  # text (or a thought) has gone to the reader

    def take(self, event: dict[str, Any]) -> str | None:
        """Keep what ``event`` (one chunk) carries; return its text, if any."""
        if event.get("usage"):
            self.usage = event["usage"]
        if "error" in event and not event.get("choices"):
            raise ProviderDownError(error_text(event["error"]))
        self.model = self.model or event.get("model")
        choices = event.get("choices")
        if not choices:
            return None
        choice = choices[0]
        if choice.get("finish_reason"):
            self.finish = choice["finish_reason"]
        delta = choice.get("delta") or {}
        if delta.get("tool_calls"):
            self._tool_fragments(delta["tool_calls"])
        thinking = delta.get("reasoning_content") or delta.get("reasoning")
        thought = self._thought(thinking) if isinstance(thinking, str) else None
        return self._text(delta.get("content")) or thought

    def _text(self, text: str | None) -> str | None:
        if text:
            self.handed_on = True
            if self.ttft is None:
                self.ttft = ms_since(self.started)
            self.pieces.append(text)
            return text
        return None

    def _thought(self, thinking: str) -> Thought | None:
        """Keep a piece of reasoning; hand it on when the reader asked for it (from then on
        the answer has begun: no other model may take over)."""
        if not thinking:
            return None
        self.reasoning.append(thinking)
        if not self.thoughts:
            return None
        self.handed_on = True
        if self.ttft is None:
            self.ttft = ms_since(self.started)
        return Thought(thinking)

    def _tool_fragments(self, fragments: list[dict[str, Any]]) -> None:
        if self.ttft is None:  # a tool call is the answer's first token too
            self.ttft = ms_since(self.started)
        for fragment in fragments:
            call = self.tools.setdefault(int(fragment.get("index") or 0),
                                         {"id": None, "type": "function",
                                          "function": {"name": "", "arguments": ""}})
            call["id"] = fragment.get("id") or call["id"]
            function = fragment.get("function") or {}
            call["function"]["name"] += function.get("name") or ""
            call["function"]["arguments"] += function.get("arguments") or ""

    def started_answering(self) -> bool:
        """Has the reader been handed anything? (Until then another model may take over, as
        on the Router's path: a tool call is handed on only whole, with the result.)"""
        return self.handed_on

    def finished(self) -> bool:
        """Did the stream say it ended (not merely stop)?"""
        return self.finish is not None

    def body(self, call_id: str) -> dict[str, Any]:
        """The whole answer in OpenAI's non-streaming shape."""
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.pieces) or None}
        if self.tools:
            message["tool_calls"] = [self.tools[i] for i in sorted(self.tools)]
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        return {"id": call_id, "object": "chat.completion", "created": int(time.time()),
                "model": self.model or "", "usage": self.usage,
                "choices": [{"index": 0, "finish_reason": self.finish or "stop",
                             "message": message}]}

    def response(self, call_id: str):
        """The answer as LiteLLM's ``ModelResponse``, built the request's way."""
        return self.answer(self.body(call_id))


def wanted_params(request) -> dict[str, Any]:
    """The OpenAI parameters a call asks for (LiteLLM's ``non_default_params``)."""
    wanted: dict[str, Any] = dict(request.options)
    if request.temperature is not None:
        wanted["temperature"] = request.temperature
    if request.max_tokens is not None:
        wanted["max_tokens"] = request.max_tokens
    return wanted


def error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or "the provider failed")
    return str(error)


@functools.cache
def provider_config(provider_model: str, provider: str):
    """LiteLLM's chat config for ``provider_model`` at ``provider`` (``openai``: GPT, o-series,
    GPT-5...; ``anthropic``: Claude), as its own handlers get it."""
    from litellm.types.utils import LlmProviders
    from litellm.utils import ProviderConfigManager

    runtime.load()
    return ProviderConfigManager.get_provider_chat_config(model=provider_model,
                                                          provider=LlmProviders(provider))
