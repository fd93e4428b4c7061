"""The fast path's Anthropic wire: a Claude call sent to ``/v1/messages`` and read here.

The request is LiteLLM's own: its Anthropic config maps the parameters (thinking from
``reasoning_effort``, ``output_format`` from a JSON schema, tools and ``tool_choice``, stop
sequences), transforms the messages (system blocks, images, documents, tool results, the
client's ``cache_control`` marks) and sets the headers (``x-api-key``, ``anthropic-version``,
the betas a feature needs). A stream's events are read as they come (``text_delta`` handed on
at once; tool input, thinking and usage gathered), and the whole answer is rebuilt as the
Anthropic message it stands for, which LiteLLM's Anthropic response transformation turns into
its ``ModelResponse``: the same message, tool calls, reasoning and usage (cache reads and
writes included) as on LiteLLM's path, so the cost is the same to the token.

A JSON answer LiteLLM would ask for as a forced tool (``json_tool_call``, for models without
``output_format``) is not sent here: LiteLLM streams that tool's input as text, which is its
path's to do.
"""
from __future__ import annotations

import copy
import functools
from typing import Any

import orjson

from core.errors import ProviderDownError
from core.llm import runtime
from core.llm.wire import (Declined, Reading, Sending, api_base, error_text, provider_config,
                           wanted_params)
from core.llm.runtime import ms_since
from core.results import Signature

__all__ = ["AnthropicWire", "AnthropicReading"]

_JSON_TOOL = "json_tool_call"


class AnthropicReading(Reading):
    """What an Anthropic stream has delivered: the message of ``message_start``, each content
    block as its deltas build it, the stop reason and usage of ``message_delta``."""

    def __init__(self, started: float):
        super().__init__(started)
        self.message: dict[str, Any] | None = None
        self.blocks: dict[int, dict[str, Any]] = {}
        self.stop_sequence: str | None = None

    def take(self, event: dict[str, Any]) -> str | None:
        kind = event.get("type")
        if kind == "content_block_delta":
            return self._delta(self.blocks.setdefault(int(event.get("index") or 0), {"type": "text", "text": ""}),
                               event.get("delta") or {})
        if kind == "content_block_start":
            block = dict(event.get("content_block") or {})
            self.blocks[int(event.get("index") or 0)] = block
            if block.get("type") == "tool_use":
                block["input"], block["_json"] = {}, ""
                self._tool_started()
            elif block.get("type") == "text":
                text, block["text"] = block.get("text") or "", ""
                return self._delta(block, {"type": "text_delta", "text": text})
            return None
        if kind == "message_start":
            self.message = dict(event.get("message") or {})
            self.usage = dict(self.message.get("usage") or {})
            self.model = self.message.get("model")
        elif kind == "message_delta":
            delta = event.get("delta") or {}
            self.finish = delta.get("stop_reason") or self.finish
            if delta.get("stop_sequence") is not None:
                self.stop_sequence = delta["stop_sequence"]
            self.usage = {**(self.usage or {}), **{name: value for name, value
                                                    in (event.get("usage") or {}).items()
                                                    if value is not None}}
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            raise ProviderDownError(error_text(event.get("error")))
        return None

    def _delta(self, block: dict[str, Any], delta: dict[str, Any]) -> str | None:
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + (delta.get("text") or "")
            return self._text(delta.get("text"))
        if kind == "input_json_delta":
            block["_json"] = block.get("_json", "") + (delta.get("partial_json") or "")
            self._tool_started()
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + (delta.get("thinking") or "")
            return self._thought(delta.get("thinking") or "")
        elif kind == "signature_delta":
            block["signature"] = block.get("signature", "") + (delta.get("signature") or "")
            if self.thoughts and delta.get("signature"):
                return Signature(delta["signature"])
        elif kind == "citations_delta" and delta.get("citation") is not None:
            block.setdefault("citations", []).append(delta["citation"])
        return None

    def _tool_started(self) -> None:
        if self.ttft is None:  # a tool call is the answer's first token too
            self.ttft = ms_since(self.started)

    def finished(self) -> bool:
        return self.done and self.finish is not None

    def body(self, call_id: str) -> dict[str, Any]:
        """The whole answer as the Anthropic message the events built."""
        content = []
        for index in sorted(self.blocks):
            block = {k: v for k, v in self.blocks[index].items() if k != "_json"}
            if block.get("type") == "tool_use":
                raw = self.blocks[index].get("_json") or ""
                try:
                    block["input"] = orjson.loads(raw) if raw.strip() else {}
                except orjson.JSONDecodeError:
                    block["input"] = raw  # LiteLLM hands on arguments it cannot parse as given
            content.append(block)
        message = self.message or {}
        return {"id": message.get("id") or call_id, "type": "message", "role": "assistant",
                "model": self.model or message.get("model") or "", "content": content,
                "stop_reason": self.finish, "stop_sequence": self.stop_sequence,
                "usage": self.usage or {}}


class AnthropicWire:
    """Anthropic's Messages API: named events, usage at the start and in ``message_delta``."""

    prefix = "anthropic/"

    @staticmethod
    def reading(started: float) -> AnthropicReading:
        return AnthropicReading(started)

    async def sending(self, deployment: dict[str, Any], request, *, stream: bool) -> Sending:
        from litellm.llms.anthropic.chat.handler import update_request_with_filtered_beta
        from litellm.llms.anthropic.chat.transformation import AnthropicConfig

        params = deployment["litellm_params"]
        model = params["model"][len(self.prefix):]
        config = provider_config(model, "anthropic")
        messages = copy.deepcopy(request.messages)  # LiteLLM's transformation edits them
        optional = config.map_openai_params(non_default_params=wanted_params(request),
                                            optional_params={}, model=model, drop_params=True)
        json_mode = bool(optional.pop("json_mode", False))
        if json_mode and any(tool.get("name") == _JSON_TOOL for tool in optional.get("tools") or ()):
            raise Declined("a JSON answer asked for as a forced tool")
        base = api_base(params, ("ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL"), "https://api.anthropic.com")
        url = base if base.endswith("/v1/messages") else f"{base}/v1/messages"
        litellm_params: dict[str, Any] = {"custom_llm_provider": "anthropic", "api_base": url,
                                          "drop_params": True}
        headers = AnthropicConfig().validate_environment(
            headers={}, model=model, messages=messages,
            optional_params={**optional, "is_vertex_request": False},
            litellm_params=litellm_params, api_key=params["api_key"], api_base=url)
        body = await config.async_transform_request(
            model=model, messages=messages,
            optional_params={**optional, "is_vertex_request": False},
            litellm_params=litellm_params, headers=headers)
        headers, body = update_request_with_filtered_beta(headers=headers, request_data=body,
                                                          provider="anthropic")
        if stream:
            body["stream"] = True
            headers["accept"] = "text/event-stream"
        answer = functools.partial(
            _model_response, config, json_mode, config.get_prefix_prompt(messages=messages),
            optional.get("speed"), litellm_params.get(_reverse_map_key()))
        return Sending(url, {k: str(v) for k, v in headers.items()}, body, answer)


def _reverse_map_key() -> str:
    from litellm.llms.anthropic.chat.transformation import ANTHROPIC_TOOL_NAME_REVERSE_MAP_KEY

    return ANTHROPIC_TOOL_NAME_REVERSE_MAP_KEY


def _model_response(config, json_mode: bool, prefix_prompt: str | None, speed: Any,
                    reverse_map: dict[str, str] | None, answer: dict[str, Any]):
    """LiteLLM's ``ModelResponse`` of the Anthropic message ``answer``, by its own
    transformation (tool calls, thinking blocks, reasoning, usage and its token classes)."""
    import httpx

    litellm = runtime.load()
    return config.transform_parsed_response(
        completion_response=answer, raw_response=httpx.Response(200),
        model_response=litellm.ModelResponse(), json_mode=json_mode, prefix_prompt=prefix_prompt,
        speed=speed, tool_name_reverse_map=reverse_map)
