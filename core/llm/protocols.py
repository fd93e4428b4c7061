"""Other clients' protocols as chat completions and back, by LiteLLM's own adapters (the only
home of litellm): the Anthropic Messages API (``LiteLLMAnthropicMessagesAdapter``, what
``litellm.anthropic_messages`` uses for a non-Anthropic model) and the OpenAI Responses API
(``LiteLLMCompletionResponsesConfig``, what ``litellm.responses`` uses for a model without a
Responses endpoint).

    chat, names = anthropic_to_chat(body)            # an OpenAI chat request (a dict)
    message = chat_to_anthropic(completion, names)   # an Anthropic message (a dict)
    chat = responses_to_chat(body)
    response = chat_to_responses(body, completion)

Requests and completions are plain dicts in OpenAI's chat shape, so the API routes state a
``Call`` from them and every call takes the one path (prepare -> plan -> execute -> record).
A body LiteLLM cannot translate raises ``ProtocolError`` with one sentence.
"""
from __future__ import annotations

from typing import Any

from core.errors import BadRequestError

__all__ = ["ProtocolError", "anthropic_to_chat", "chat_to_anthropic", "reasoning_effort_of",
           "responses_to_chat", "chat_to_responses"]


class ProtocolError(BadRequestError):
    """A request body that is not a valid request of its protocol (a 400)."""


def _anthropic_adapter():
    from litellm.llms.anthropic.pass_through.adapters.transformation import (
        LiteLLMAnthropicMessagesAdapter)

    return LiteLLMAnthropicMessagesAdapter()


def _responses_config():
    from litellm.responses.litellm_completion_transformation.transformation import (
        LiteLLMCompletionResponsesConfig)

    return LiteLLMCompletionResponsesConfig


def anthropic_to_chat(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """An Anthropic ``/v1/messages`` body as an OpenAI chat request (system blocks, images,
    documents, tools, ``tool_result``, thinking blocks, ``stop_sequences``, ``metadata.user_id``
    as ``user``), and the map from tool names shortened to OpenAI's 64 characters back to
    their originals."""
    try:
        chat, names = _anthropic_adapter().translate_anthropic_to_openai(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProtocolError(f"The messages body could not be read: {type(exc).__name__} "
                            f"({_short(exc)}).") from None
    return dict(chat), dict(names or {})


def reasoning_effort_of(thinking: Any) -> str | None:
    """Anthropic's ``thinking`` as OpenAI's ``reasoning_effort`` (None: not asked for)."""
    if not isinstance(thinking, dict) or thinking.get("type") in (None, "disabled"):
        return None
    effort = _anthropic_adapter().translate_anthropic_thinking_to_reasoning_effort(thinking)
    return {"xhigh": "high", "default": "medium"}.get(effort, effort)


def chat_to_anthropic(completion: dict[str, Any], names: dict[str, str] | None = None) -> dict:
    """An OpenAI chat completion as an Anthropic message: text, ``tool_use`` and thinking
    blocks and the stop reason (the caller sets ``id``, ``model`` and ``usage``)."""
    from litellm import ModelResponse

    message = _anthropic_adapter().translate_openai_response_to_anthropic(
        ModelResponse(**completion), tool_name_mapping=names or None)
    return {k: v for k, v in dict(message).items() if k != "stop_details"}


def responses_to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A Responses API create body as an OpenAI chat request: ``input`` (text or items,
    ``function_call`` and ``function_call_output`` included), ``instructions`` as the system
    message, function tools, and ``text.format`` as ``response_format``."""
    model = str(body.get("model") or "")
    params = {k: v for k, v in body.items() if k not in ("model", "input", "stream")}
    try:
        chat = _responses_config().transform_responses_api_request_to_chat_completion_request(
            model=model, input=body.get("input") or "", responses_api_request=params,
            custom_llm_provider="openai", stream=bool(body.get("stream")))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProtocolError(f"The responses body could not be read: {type(exc).__name__} "
                            f"({_short(exc)}).") from None
    return {k: v for k, v in chat.items() if v is not None}


def chat_to_responses(body: dict[str, Any], completion: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat completion as a Responses API ``response`` object (a dict), with the
    request's echoed fields (instructions, tools, ``text``)."""
    params = {k: v for k, v in body.items() if k not in ("model", "input", "stream")}
    response = _responses_config().transform_chat_completion_response_to_responses_api_response(
        request_input=body.get("input") or "", responses_api_request=params,
        chat_completion_response=completion)
    return response.model_dump(mode="json", exclude_none=True)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]
