"""Request bodies of the HTTP API (pydantic): what each route accepts, validated before any
call is made. Unknown fields are ignored, as OpenAI's API ignores what it does not use;
fields Parley cannot honour (tools, n > 1, images) are refused with a sentence."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ChatMessage", "ChatCompletionRequest", "CompletionsRequest", "ChatRequest",
           "RoutedChatRequest", "PreferenceRequest", "ImageGenerationRequest", "messages_to_call"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=False)


class ChatMessage(_Body):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None  # an assistant turn that called tools
    tool_call_id: str | None = None  # a tool result: the call it answers

    def text(self) -> str:
        """The message's text; a list of parts may hold only text parts."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        texts = []
        for part in self.content:
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ValueError("only text content parts are supported")
            texts.append(part["text"])
        return "".join(texts)


class ChatCompletionRequest(_Body):
    """OpenAI's ``/v1/chat/completions`` body, the parts Parley uses."""

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=1)
    user: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    stream_options: dict[str, Any] | None = None

    def structured(self) -> dict[str, Any]:
        """tools, tool_choice, response_format and reasoning_effort, as ``AIService`` takes
        them (it checks them: a bad one is a 400)."""
        return {"tools": self.tools or None, "tool_choice": self.tool_choice,
                "response_format": self.response_format, "reasoning_effort": self.reasoning_effort}


class CompletionsRequest(_Body):
    """``/api/v1/ai/completions``: a message history in, one completion out."""

    messages: list[ChatMessage] = Field(min_length=1)
    model: str | None = None
    provider: str | None = None  # the seed API's name for model
    service_type: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    stream: bool = False


class ChatRequest(_Body):
    """``/api/v1/ai/chat``: a prompt and an optional system prompt."""

    prompt: str = Field(min_length=1)
    system_prompt: str | None = None
    model: str | None = None
    provider: str | None = None
    service_type: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    stream: bool = False


class RoutedChatRequest(ChatRequest):
    """``/api/v1/ai/chat/routed``: ``complexity`` picks the route; none: classified."""

    complexity: Literal["simple", "moderate", "complex", "search"] | None = None


class ImageGenerationRequest(_Body):
    """OpenAI's ``/v1/images/generations`` body: ``model`` a configured image model (absent:
    the first one); images come back as base64 (``b64_json``) or as the provider's URL."""

    prompt: str = Field(min_length=1)
    model: str | None = None
    n: int = Field(default=1, ge=1)
    size: str | None = None
    quality: str | None = None
    response_format: Literal["b64_json", "url"] | None = None


class PreferenceRequest(_Body):
    model: str = Field(min_length=1)
    service_type: str | None = None


def messages_to_call(messages: list[ChatMessage]) -> dict[str, Any]:
    """OpenAI messages as ``AIService`` arguments: ``prompt`` (the last message when it is the
    user's; None when the conversation continues after tool results), ``system_prompt``
    (system/developer messages joined) and ``history`` (earlier turns, tool calls and results
    included)."""
    system = [m.text() for m in messages if m.role in ("system", "developer")]
    turns = [m for m in messages if m.role not in ("system", "developer")]
    if not turns or turns[-1].role not in ("user", "tool"):
        raise ValueError("the last message must be the user's, or a tool result")
    last_is_user = turns[-1].role == "user"
    history = [_turn(m) for m in (turns[:-1] if last_is_user else turns)]
    return {"prompt": turns[-1].text() if last_is_user else None,
            "system_prompt": "\n\n".join(s for s in system if s) or None, "history": history or None}


def _turn(message: ChatMessage) -> dict[str, Any]:
    turn: dict[str, Any] = {"role": message.role, "content": message.text()}
    if message.tool_calls:
        turn.update(tool_calls=message.tool_calls, content=message.text() or None)
    if message.tool_call_id is not None:
        turn["tool_call_id"] = message.tool_call_id
    return turn
