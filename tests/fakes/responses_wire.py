"""The OpenAI Responses API: `POST /v1/responses` (LiteLLM `openai/<model>` through
`litellm.responses`, the OpenAI Agents SDK, the Vercel AI SDK's `openai(model)`).

`input` is text or items: messages (`input_text`, `input_image` parts), `function_call` and
`function_call_output`; `instructions` is the system message; tools are
`{"type": "function", "name", "parameters"}`; `text.format` of type `json_schema` asks for JSON.
The answer's `output` holds a `message` item (`output_text`) and a `function_call` item per
tool call. Streams are named events (`response.created`, `response.in_progress`,
`response.output_item.added`, `response.output_text.delta`, ..., `response.completed`), each
with its `sequence_number`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from . import openai_wire
from .script import Fault, Turn
from .wire import ErrorResponse, Incoming, content_text, new_id, sse

name = "openai"
request_id_header = openai_wire.request_id_header


def route(path: str) -> str | None:
    return "" if path.rstrip("/").endswith("/v1/responses") else None


def _item_message(item: dict, names: dict[str, str]) -> tuple[str, str] | None:
    kind = item.get("type", "message")
    if kind == "function_call":
        names[str(item.get("call_id"))] = str(item.get("name", ""))
        return None
    if kind == "function_call_output":
        return ("tool", str(item.get("output", "")))
    if kind != "message":
        return None
    role = {"developer": "system"}.get(item.get("role", "user"), item.get("role", "user"))
    content = item.get("content")
    if isinstance(content, list):
        content = [{"type": "text", "text": p.get("text", "")} for p in content if "text" in p]
    return (role, content_text(content))


def parse(path: str, query: dict[str, str], body: dict) -> Incoming:
    messages = [("system", str(body["instructions"]))] if body.get("instructions") else []
    names: dict[str, str] = {}
    results: list[tuple[str, str]] = []
    raw = body.get("input")
    for item in [{"role": "user", "content": raw}] if isinstance(raw, str) else raw or []:
        message = _item_message(item, names)
        if message is not None:
            messages.append(message)
            if message[0] == "tool":
                results.append((names.get(str(item.get("call_id")), ""), message[1]))
    tools = tuple({"name": t["name"], "parameters": t.get("parameters") or {}}
                  for t in body.get("tools") or [] if t.get("type") == "function")
    choice = body.get("tool_choice")
    text_format = (body.get("text") or {}).get("format") or {}
    return Incoming(
        model=str(body.get("model", "")), stream=bool(body.get("stream")), messages=messages,
        tools=tools, tool_results=tuple(results),
        tool_choice=choice.get("name") if isinstance(choice, dict) else choice,
        response_schema=text_format.get("schema") if text_format.get("type") == "json_schema" else None,
        json_mode=text_format.get("type") in ("json_schema", "json_object"))


def _output(turn: Turn, message_id: str) -> list[dict]:
    items = []
    if turn.text or not turn.tool_calls:
        items.append({"id": message_id, "type": "message", "status": "completed", "role": "assistant",
                      "content": [{"type": "output_text", "text": turn.text, "annotations": []}]})
    for index, call in enumerate(turn.tool_calls):
        call_id = call.id or f"call_emulated_{index}"
        items.append({"id": f"fc_{call_id}", "type": "function_call", "status": "completed",
                      "call_id": call_id, "name": call.name, "arguments": json.dumps(call.arguments)})
    return items


def _response(incoming: Incoming, turn: Turn, status: str, output: list[dict], response_id: str) -> dict:
    usage = turn.usage
    return {"id": response_id, "object": "response", "created_at": int(time.time()),
            "status": status, "model": incoming.model, "output": output,
            "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                      "total_tokens": usage.total_tokens,
                      "input_tokens_details": {"cached_tokens": usage.cached_tokens},
                      "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens}}}


def reply_body(incoming: Incoming, turn: Turn) -> dict:
    return _response(incoming, turn, "completed", _output(turn, new_id("msg_")), new_id("resp_"))


def stream_events(incoming: Incoming, turn: Turn) -> Iterator[tuple[bytes, bool]]:
    response_id, message_id = new_id("resp_"), new_id("msg_")
    number = iter(range(10_000))

    def event(kind: str, is_piece: bool = False, **data) -> tuple[bytes, bool]:
        return sse({"type": kind, "sequence_number": next(number), **data}, event=kind), is_piece

    output = _output(turn, message_id)
    yield event("response.created", response=_response(incoming, turn, "in_progress", [], response_id))
    yield event("response.in_progress", response=_response(incoming, turn, "in_progress", [], response_id))
    for index, item in enumerate(output):
        if item["type"] == "message":
            yield event("response.output_item.added", output_index=index,
                        item={**item, "status": "in_progress", "content": []})
            yield event("response.content_part.added", item_id=item["id"], output_index=index,
                        content_index=0, part={"type": "output_text", "text": "", "annotations": []})
            for piece in turn.pieces:
                yield event("response.output_text.delta", True, item_id=item["id"],
                            output_index=index, content_index=0, delta=piece, logprobs=[])
            yield event("response.output_text.done", item_id=item["id"], output_index=index,
                        content_index=0, text=turn.text, logprobs=[])
            yield event("response.content_part.done", item_id=item["id"], output_index=index,
                        content_index=0, part=item["content"][0])
        else:
            yield event("response.output_item.added", output_index=index,
                        item={**item, "status": "in_progress", "arguments": ""})
            yield event("response.function_call_arguments.delta", item_id=item["id"],
                        output_index=index, delta=item["arguments"])
            yield event("response.function_call_arguments.done", item_id=item["id"],
                        output_index=index, arguments=item["arguments"])
        yield event("response.output_item.done", output_index=index, item=item)
    yield event("response.completed", response=_response(incoming, turn, "completed", output, response_id))


def error(fault: Fault, incoming: Incoming) -> ErrorResponse:
    return openai_wire.error(fault, incoming)
