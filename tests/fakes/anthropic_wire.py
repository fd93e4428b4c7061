"""Anthropic messages: `POST /v1/messages` (LiteLLM `anthropic/<model>`, api_base=<url>; LiteLLM
appends `/v1/messages` itself).

Streams are named events: message_start (usage.input_tokens, output_tokens 1), content_block_start,
ping, content_block_delta (text_delta) per piece, content_block_stop, message_delta (cumulative
usage.output_tokens, stop_reason), message_stop. `input_tokens` on the wire excludes cache reads
and cache writes, which are reported beside it.
"""

from __future__ import annotations

from collections.abc import Iterator

from .script import Fault, Turn
from .wire import ErrorResponse, Incoming, content_text, new_id, seconds_header, sse

name = "anthropic"
request_id_header = "request-id"

STOP = {"stop": "end_turn", "length": "max_tokens"}


def route(path: str) -> str | None:
    return "" if path.rstrip("/").endswith("/v1/messages") else None


def parse(path: str, query: dict[str, str], body: dict) -> Incoming:
    messages = [("system", content_text(body["system"]))] if body.get("system") else []
    messages += [(m.get("role", "user"), content_text(m.get("content"))) for m in body.get("messages", [])]
    return Incoming(model=str(body.get("model", "")), stream=bool(body.get("stream")), messages=messages)


def _usage(turn: Turn, output_tokens: int) -> dict:
    usage = turn.usage
    return {
        "input_tokens": usage.input_tokens - usage.cached_tokens - usage.cache_creation_tokens,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _message(incoming: Incoming, content: list[dict], stop_reason: str | None, usage: dict) -> dict:
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": incoming.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def reply_body(incoming: Incoming, turn: Turn) -> dict:
    stop_reason = STOP.get(turn.finish_reason, "end_turn")
    content = [{"type": "text", "text": turn.text}]
    return _message(incoming, content, stop_reason, _usage(turn, turn.usage.output_tokens))


def stream_events(incoming: Incoming, turn: Turn) -> Iterator[tuple[bytes, bool]]:
    start = _message(incoming, [], None, _usage(turn, 1))
    yield sse({"type": "message_start", "message": start}, "message_start"), False
    block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    yield sse(block, "content_block_start"), False
    yield sse({"type": "ping"}, "ping"), False
    for piece in turn.pieces:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
        yield sse(delta, "content_block_delta"), True
    yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop"), False
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": STOP.get(turn.finish_reason, "end_turn"), "stop_sequence": None},
        "usage": {"output_tokens": turn.usage.output_tokens},
    }
    yield sse(delta, "message_delta"), False
    yield sse({"type": "message_stop"}, "message_stop"), False


def _error(status: int, kind: str, message: str) -> ErrorResponse:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": new_id("req_")}
    return ErrorResponse(status, body)


def error(fault: Fault, incoming: Incoming) -> ErrorResponse:
    """Anthropic's error for an HTTP-level fault (quota is its 400 "credit balance is too low")."""
    if fault.kind == "server_error":
        return _error(500, "api_error", "Internal server error")
    if fault.kind == "unavailable":
        return _error(503, "api_error", "Service unavailable")
    if fault.kind == "overloaded":
        return _error(529, "overloaded_error", "Overloaded")
    if fault.kind == "rate_limit":
        response = _error(429, "rate_limit_error",
                          "This request would exceed the rate limit for your organization of 50 requests "
                          "per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.")
        response.headers["retry-after"] = seconds_header(fault.retry_after)
        return response
    if fault.kind == "auth":
        return _error(401, "authentication_error", "invalid x-api-key")
    if fault.kind == "context_length":
        return _error(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum")
    if fault.kind == "quota":
        return _error(400, "invalid_request_error",
                      "Your credit balance is too low to access the Anthropic API. "
                      "Please go to Plans & Billing to upgrade or purchase credits.")
    raise ValueError(f"{fault.kind} is not an HTTP error fault")
