"""Anthropic messages: `POST /v1/messages` (LiteLLM `anthropic/<model>`, api_base=<url>; LiteLLM
appends `/v1/messages` itself).

Streams are named events: message_start (usage.input_tokens, output_tokens 1), content_block_start,
ping, content_block_delta (text_delta) per piece, content_block_stop, message_delta (stop_reason and
the whole usage, output_tokens cumulative, as the API sends it since 2025), message_stop. With
`Reply(usage_at_end=True)` message_start reports no tokens at all. `input_tokens` on the wire excludes cache reads
and cache writes, which are reported beside it.

Blocks: `image` and `document` (base64 sources) are attachments; `tool_result` blocks in a user
message are tool results; tools are `{name, input_schema}`; `output_format` (json_schema) is
structured output; `thinking: {type: enabled, budget_tokens}` asks for reasoning. An answer is a
`thinking` block (with a signature), a `text` block and `tool_use` blocks (stop_reason "tool_use");
streamed as thinking_delta/signature_delta, text_delta and input_json_delta events. Thinking is
billed inside output_tokens with no count of its own, as the API reports it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from .parts import Attachments
from .script import Fault, ToolCall, Turn, split_pieces as split
from .wire import ErrorResponse, Incoming, content_text, new_id, seconds_header, sse

name = "anthropic"
request_id_header = "request-id"

STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
SIGNATURE = "ErUBCkYIBxgCIkDemulatorsignature"
CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def route(path: str) -> str | None:
    return "" if path.rstrip("/").endswith("/v1/messages") else None


def parse(path: str, query: dict[str, str], body: dict) -> Incoming:
    messages = [("system", content_text(body["system"]))] if body.get("system") else []
    attachments = Attachments()
    results: list[tuple[str, str]] = []
    names: dict[str, str] = {}
    for message in body.get("messages", []):
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        for block in blocks:
            kind = block.get("type")
            if kind in ("image", "document"):
                source = block.get("source") or {}
                attachments.add(source.get("media_type", "text/plain"), source.get("data"))
            elif kind == "tool_use":
                names[block.get("id", "")] = block.get("name", "")
            elif kind == "tool_result":
                text = content_text(block.get("content"))
                results.append((names.get(block.get("tool_use_id", ""), ""), text))
                messages.append(("tool", text))
        if not any(block.get("type") == "tool_result" for block in blocks) or content_text(content):
            messages.append((message.get("role", "user"), content_text(content)))
    thinking = body.get("thinking") or {}
    output_format = body.get("output_format") or {}
    return Incoming(
        model=str(body.get("model", "")), stream=bool(body.get("stream")), messages=messages,
        attachments=tuple(attachments.media_types), image_units=attachments.units,
        tools=tuple({"name": t["name"], "parameters": t.get("input_schema") or {}}
                    for t in body.get("tools") or [] if "name" in t),
        tool_choice=_tool_choice(body.get("tool_choice")), tool_results=tuple(results),
        response_schema=output_format.get("schema"), json_mode=bool(output_format),
        thinking=thinking.get("type") == "enabled",
        reasoning_effort=str(thinking["budget_tokens"]) if "budget_tokens" in thinking else None,
    )


def refuse(body: dict) -> ErrorResponse | None:
    """Anthropic's 400s for extended thinking's rule: with ``thinking`` enabled, the last
    assistant turn that called a tool must start with the thinking block the API gave it,
    its signature intact (the API checks it; the emulator knows the one it signs with)."""
    if (body.get("thinking") or {}).get("type") != "enabled":
        return None
    turns = [(n, m) for n, m in enumerate(body.get("messages") or []) if m.get("role") == "assistant"]
    if not turns:
        return None
    index, last = turns[-1]
    blocks = last.get("content") if isinstance(last.get("content"), list) else []
    if not any(block.get("type") == "tool_use" for block in blocks):
        return None
    first = blocks[0]
    if first.get("type") not in ("thinking", "redacted_thinking"):
        return _error(400, "invalid_request_error",
                      f"messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, "
                      f"but found `{first.get('type')}`. When `thinking` is enabled, a final "
                      f"`assistant` message must start with a thinking block.")
    if first.get("type") == "thinking" and first.get("signature") != SIGNATURE:
        return _error(400, "invalid_request_error",
                      f"messages.{index}.content.0: Invalid `signature` in `thinking` block")
    return None


def _tool_choice(choice: dict | None) -> str | None:
    if not choice:
        return None
    return choice.get("name") if choice.get("type") == "tool" else CHOICES.get(choice.get("type", ""))


def _tool_use(call: ToolCall, index: int) -> dict:
    return {"type": "tool_use", "id": call.id or f"toolu_emulator{index}", "name": call.name,
            "input": call.arguments}


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
    content = [{"type": "thinking", "thinking": turn.reasoning, "signature": SIGNATURE}] if turn.reasoning else []
    if turn.text or not turn.tool_calls:
        content.append({"type": "text", "text": turn.text})
    content += [_tool_use(call, index) for index, call in enumerate(turn.tool_calls)]
    return _message(incoming, content, stop_reason, _usage(turn, turn.usage.output_tokens))


def _block(index: int, start: dict, deltas: list[tuple[dict, bool]]) -> Iterator[tuple[bytes, bool]]:
    yield sse({"type": "content_block_start", "index": index, "content_block": start}, "content_block_start"), False
    if index == 0:
        yield sse({"type": "ping"}, "ping"), False
    for delta, is_piece in deltas:
        yield sse({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta"), is_piece
    yield sse({"type": "content_block_stop", "index": index}, "content_block_stop"), False


def _blocks(turn: Turn) -> Iterator[tuple[dict, list[tuple[dict, bool]]]]:
    """Each content block of the answer: its start and its deltas (flagged True for text pieces)."""
    if turn.reasoning:
        deltas = [({"type": "thinking_delta", "thinking": piece}, False) for piece in split(turn.reasoning)]
        yield {"type": "thinking", "thinking": "", "signature": ""}, [
            *deltas, ({"type": "signature_delta", "signature": SIGNATURE}, False)]
    if turn.text or not turn.tool_calls:
        yield {"type": "text", "text": ""}, [({"type": "text_delta", "text": piece}, True) for piece in turn.pieces]
    for index, call in enumerate(turn.tool_calls):
        arguments = json.dumps(call.arguments)
        yield {**_tool_use(call, index), "input": {}}, [
            ({"type": "input_json_delta", "partial_json": arguments[start:start + 16]}, False)
            for start in range(0, len(arguments), 16)]


def stream_events(incoming: Incoming, turn: Turn) -> Iterator[tuple[bytes, bool]]:
    start = _message(incoming, [], None, _usage(turn, 1))
    if turn.usage_at_end:
        start["usage"] = {name: 0 if isinstance(value, int) else value
                          for name, value in start["usage"].items()}
    yield sse({"type": "message_start", "message": start}, "message_start"), False
    for index, (block, deltas) in enumerate(_blocks(turn)):
        yield from _block(index, block, deltas)
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": STOP.get(turn.finish_reason, "end_turn"), "stop_sequence": None},
        "usage": _usage(turn, turn.usage.output_tokens),
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
