"""Request bodies of the HTTP API (pydantic): what each route accepts, validated before any
call is made. Unknown fields are ignored, as OpenAI's API ignores what it does not use;
fields Parley cannot honour (n > 1, content parts other than text, image_url and file) are
refused with a sentence. Tools, tool results, response_format, reasoning_effort and image or
PDF parts pass to ``AIService``, which checks them (core/structured.py, core/attachments.py)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ChatMessage", "ChatCompletionRequest", "CompletionsRequest", "ChatRequest",
           "RoutedChatRequest", "PreferenceRequest", "ImageGenerationRequest", "messages_to_call"]

_FILE_PARTS = ("image_url", "file")


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=False)


class ChatMessage(_Body):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None  # an assistant turn's calls
    tool_call_id: str | None = None  # a tool result's call
    thinking_blocks: list[dict[str, Any]] | None = None  # an assistant turn's signed reasoning

    def text(self) -> str:
        """The message's text: its text parts joined (image and file parts are attachments)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        texts = []
        for part in self.content:
            if part.get("type") in _FILE_PARTS:
                continue
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ValueError("content parts are text, image_url or file")
            texts.append(part["text"])
        return "".join(texts)

    def attachments(self) -> list[dict[str, Any]]:
        """The message's image_url and file parts."""
        if not isinstance(self.content, list):
            return []
        return [part for part in self.content if part.get("type") in _FILE_PARTS]

    def turn(self) -> dict[str, Any]:
        """This message as an ``AIService`` history turn."""
        if self.role == "tool":
            return {"role": "tool", "tool_call_id": self.tool_call_id or "", "content": self.text()}
        thinking = {"thinking_blocks": self.thinking_blocks} if self.thinking_blocks else {}
        if self.role == "assistant" and self.tool_calls:
            return {"role": "assistant", "content": self.text() or None, "tool_calls": self.tool_calls,
                    **thinking}
        if self.role == "assistant" and thinking:
            return {"role": "assistant", "content": self.text(), **thinking}
        if self.attachments():
            raise ValueError("images and files go with the last user message only")
        return {"role": self.role, "content": self.text()}


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
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    stream_options: dict[str, Any] | None = None

    def structured(self) -> dict[str, Any]:
        """The tools, tool choice, response format and reasoning effort the body sets."""
        fields = {"tools": self.tools, "tool_choice": self.tool_choice,
                  "response_format": self.response_format, "reasoning_effort": self.reasoning_effort}
        return {name: value for name, value in fields.items() if value is not None}


class ImageGenerationRequest(_Body):
    """OpenAI's ``/v1/images/generations`` body: images come back as ``b64_json``."""

    prompt: str = Field(min_length=1)
    model: str | None = None
    n: int = Field(default=1, ge=1, le=4)
    size: str | None = None
    quality: str | None = None
    response_format: Literal["b64_json"] | None = None
    user: str | None = None


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
    """``/api/v1/ai/chat``: a prompt and an optional system prompt, or a stored prompt
    template (``name`` or ``name@version``) and its ``variables`` instead of the prompt."""

    prompt: str | None = Field(default=None, min_length=1)
    template: str | None = Field(default=None, min_length=1)
    variables: dict[str, Any] | None = None
    system_prompt: str | None = None
    model: str | None = None
    provider: str | None = None
    service_type: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    stream: bool = False


class RoutedChatRequest(ChatRequest):
    """``/api/v1/ai/chat/routed``: ``complexity`` picks the route; none: classified."""

    prompt: str = Field(min_length=1)
    complexity: Literal["simple", "moderate", "complex", "search"] | None = None


class PreferenceRequest(_Body):
    model: str = Field(min_length=1)
    service_type: str | None = None


def messages_to_call(messages: list[ChatMessage]) -> dict[str, Any]:
    """OpenAI messages as ``AIService`` arguments: ``prompt`` (the last message, the user's;
    None when the conversation ends with tool results), its ``attachments`` (image and file
    parts), ``system_prompt`` (system/developer messages joined) and ``history`` (earlier turns,
    tool calls and results included)."""
    system = [m.text() for m in messages if m.role in ("system", "developer")]
    turns = [m for m in messages if m.role in ("user", "assistant", "tool")]
    if not turns or turns[-1].role == "assistant":
        raise ValueError("the last message must be the user's or a tool result")
    last = turns[-1]
    earlier = turns if last.role == "tool" else turns[:-1]
    history = [m.turn() for m in earlier]
    return {"prompt": None if last.role == "tool" else last.text(),
            "attachments": (last.attachments() or None) if last.role == "user" else None,
            "system_prompt": "\n\n".join(s for s in system if s) or None, "history": history or None}
