"""OpenAI chat completions: `POST /v1/chat/completions` (LiteLLM `openai/<model>`, api_base=<url>/v1).

Streams are `data: {chunk}` events ending with `data: [DONE]`; a final usage chunk with
`choices: []` is sent only when the request set `stream_options.include_usage`, as the real API does.

Content parts `image_url` (a data URL) and `file` (`file_data`, a data URL) are attachments; tools
are `{"type": "function", "function": {name, parameters}}`; a tool result is a `tool` message
naming its `tool_call_id`; `response_format` is `json_schema` or `json_object`. Tool calls come back
in `message.tool_calls` (streamed as `delta.tool_calls`: name first, then the arguments in
pieces) with finish_reason "tool_calls". OpenAI never returns reasoning text on this API: only
`completion_tokens_details.reasoning_tokens`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from .parts import Attachments
from .script import Fault, ToolCall, Turn
from .wire import ErrorResponse, Incoming, content_text, new_id, seconds_header, sse

name = "openai"
request_id_header = "x-request-id"

FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls"}


def route(path: str) -> str | None:
    return "" if path.rstrip("/").endswith("/chat/completions") else None


def parse(path: str, query: dict[str, str], body: dict) -> Incoming:
    roles = {"developer": "system"}
    attachments = Attachments()
    messages: list[tuple[str, str]] = []
    results: list[tuple[str, str]] = []
    call_names: dict[str, str] = {}
    for message in body.get("messages", []):
        role = roles.get(message.get("role", "user"), message.get("role", "user"))
        content = message.get("content")
        for call in message.get("tool_calls") or []:
            call_names[call.get("id", "")] = (call.get("function") or {}).get("name", "")
        if role == "tool":
            call_id = str(message.get("tool_call_id", ""))
            results.append((call_names.get(call_id, call_id), content_text(content)))
        for part in content if isinstance(content, list) else []:
            if part.get("type") == "image_url":
                attachments.add_data_url((part.get("image_url") or {}).get("url", ""))
            elif part.get("type") == "file":
                attachments.add_data_url((part.get("file") or {}).get("file_data", ""))
        messages.append((role, content_text(content)))
    stream_options = body.get("stream_options") or {}
    response_format = body.get("response_format") or {}
    return Incoming(
        model=str(body.get("model", "")),
        stream=bool(body.get("stream")),
        messages=messages,
        include_usage=bool(stream_options.get("include_usage")),
        attachments=tuple(attachments.media_types),
        image_units=attachments.units,
        tools=tuple({"name": f.get("name", ""), "parameters": f.get("parameters") or {}}
                    for f in (t.get("function") or {} for t in body.get("tools") or [])),
        tool_choice=_tool_choice(body.get("tool_choice")),
        tool_results=tuple(results),
        response_schema=(response_format.get("json_schema") or {}).get("schema")
        if response_format.get("type") == "json_schema" else None,
        json_mode=response_format.get("type") in ("json_schema", "json_object"),
        reasoning_effort=body.get("reasoning_effort"),
    )


def _tool_choice(choice: object) -> str | None:
    if isinstance(choice, dict):
        return (choice.get("function") or {}).get("name")
    return choice if isinstance(choice, str) else None


def _call_id(call: ToolCall, index: int) -> str:
    return call.id or f"call_emulator{index}"


def _message(turn: Turn) -> dict:
    message = {"role": "assistant", "content": turn.text or (None if turn.tool_calls else ""),
               "refusal": None, "annotations": []}
    if turn.tool_calls:
        message["tool_calls"] = [
            {"id": _call_id(call, index), "type": "function",
             "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}
            for index, call in enumerate(turn.tool_calls)]
    return message


def _usage(turn: Turn) -> dict:
    usage = turn.usage
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def reply_body(incoming: Incoming, turn: Turn) -> dict:
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": incoming.model,
        "choices": [{
            "index": 0,
            "message": _message(turn),
            "logprobs": None,
            "finish_reason": FINISH.get(turn.finish_reason, "stop"),
        }],
        "usage": _usage(turn),
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
    }


def stream_events(incoming: Incoming, turn: Turn) -> Iterator[tuple[bytes, bool]]:
    envelope = {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": incoming.model,
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
    }
    if incoming.include_usage:
        envelope["usage"] = None

    def chunk(delta: dict, finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return sse({**envelope, "choices": [choice]})

    yield chunk({"role": "assistant", "content": "", "refusal": None}), False
    for piece in turn.pieces:
        yield chunk({"content": piece}), True
    for index, call in enumerate(turn.tool_calls):
        opening = {"index": index, "id": _call_id(call, index), "type": "function",
                   "function": {"name": call.name, "arguments": ""}}
        yield chunk({"tool_calls": [opening]}), False
        arguments = json.dumps(call.arguments)
        for start in range(0, len(arguments), 16):
            piece = {"index": index, "function": {"arguments": arguments[start:start + 16]}}
            yield chunk({"tool_calls": [piece]}), False
    yield chunk({}, FINISH.get(turn.finish_reason, "stop")), False
    if incoming.include_usage:
        yield sse({**envelope, "choices": [], "usage": _usage(turn)}), False
    yield b"data: [DONE]\n\n", False


def _error(status: int, message: str, kind: str, code: str | None, param: str | None = None) -> ErrorResponse:
    return ErrorResponse(status, {"error": {"message": message, "type": kind, "param": param, "code": code}})


def error(fault: Fault, incoming: Incoming) -> ErrorResponse:
    """OpenAI's error for an HTTP-level fault (overloaded is a 503: OpenAI has no 529)."""
    if fault.kind == "server_error":
        return _error(500, "The server had an error while processing your request. Sorry about that!",
                      "server_error", None)
    if fault.kind in ("unavailable", "overloaded"):
        return _error(503, "The server is overloaded or not ready yet.", "server_error", None)
    if fault.kind == "rate_limit":
        message = (f"Rate limit reached for {incoming.model} in organization org-emulator on requests per "
                   f"min (RPM): Limit 3, Used 3, Requested 1. Please try again in {fault.retry_after:g}s.")
        response = _error(429, message, "requests", "rate_limit_exceeded")
        response.headers["retry-after"] = seconds_header(fault.retry_after)
        return response
    if fault.kind == "auth":
        return _error(401, "Incorrect API key provided: sk-emul****. You can find your API key at "
                      "https://platform.openai.com/account/api-keys.",
                      "invalid_request_error", "invalid_api_key")
    if fault.kind == "context_length":
        return _error(400, "This model's maximum context length is 128000 tokens. However, your messages "
                      "resulted in 130000 tokens. Please reduce the length of the messages.",
                      "invalid_request_error", "context_length_exceeded", "messages")
    if fault.kind == "quota":
        return _error(429, "You exceeded your current quota, please check your plan and billing details. "
                      "For more information on this error, read the docs: "
                      "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                      "insufficient_quota", "insufficient_quota")
    raise ValueError(f"{fault.kind} is not an HTTP error fault")
