"""OpenAI chat completions: `POST /v1/chat/completions` (LiteLLM `openai/<model>`, api_base=<url>/v1).

Streams are `data: {chunk}` events ending with `data: [DONE]`; a final usage chunk with
`choices: []` is sent only when the request set `stream_options.include_usage`, as the real API does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from .script import Fault, Turn
from .wire import ErrorResponse, Incoming, content_text, new_id, seconds_header, sse

name = "openai"
request_id_header = "x-request-id"

FINISH = {"stop": "stop", "length": "length"}


def route(path: str) -> str | None:
    return "" if path.rstrip("/").endswith("/chat/completions") else None


def parse(path: str, query: dict[str, str], body: dict) -> Incoming:
    messages = [(m.get("role", "user"), content_text(m.get("content"))) for m in body.get("messages", [])]
    roles = {"developer": "system"}
    stream_options = body.get("stream_options") or {}
    return Incoming(
        model=str(body.get("model", "")),
        stream=bool(body.get("stream")),
        messages=[(roles.get(role, role), text) for role, text in messages],
        include_usage=bool(stream_options.get("include_usage")),
    )


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
            "message": {"role": "assistant", "content": turn.text, "refusal": None, "annotations": []},
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
