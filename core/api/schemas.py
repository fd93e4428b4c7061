"""Request bodies of the HTTP API (pydantic): what each route accepts, validated before any
call is made. Unknown fields are ignored, as OpenAI's API ignores what it does not use;
fields Parley cannot honour (tools, n > 1, images) are refused with a sentence."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ChatMessage", "ChatCompletionRequest", "CompletionsRequest", "ChatRequest",
           "RoutedChatRequest", "PreferenceRequest", "messages_to_call"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=False)


class ChatMessage(_Body):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[dict[str, Any]] | None = None

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
    tools: list[Any] | None = None
    stream_options: dict[str, Any] | None = None

    @field_validator("tools")
    @classmethod
    def _no_tools(cls, tools):
        if tools:
            raise ValueError("tool calling is not supported by Parley's API yet")
        return tools


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


class PreferenceRequest(_Body):
    model: str = Field(min_length=1)
    service_type: str | None = None


def messages_to_call(messages: list[ChatMessage]) -> dict[str, Any]:
    """OpenAI messages as ``AIService`` arguments: ``prompt`` (the last message, which must be
    the user's), ``system_prompt`` (system/developer messages joined) and ``history``."""
    system = [m.text() for m in messages if m.role in ("system", "developer")]
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ValueError("the last message must be the user's")
    history = [{"role": m.role, "content": m.text()} for m in turns[:-1]]
    return {"prompt": turns[-1].text(), "system_prompt": "\n\n".join(s for s in system if s) or None,
            "history": history or None}
