"""Gemini (Google AI Studio): `POST <base>/models/<model>:generateContent` and
`:streamGenerateContent?alt=sse` (LiteLLM `gemini/<model>`, api_base=<url>/v1beta; LiteLLM appends
`/models/<model>:<endpoint>` to whatever base it is given).

Every streamed chunk carries `usageMetadata` (promptTokenCount, running candidatesTokenCount,
totalTokenCount), as the real API does; the last chunk carries finishReason and the final counts.
On the wire, candidatesTokenCount excludes thoughtsTokenCount; promptTokenCount includes
cachedContentTokenCount. streamGenerateContent always answers as SSE (LiteLLM always asks for
`alt=sse`; the JSON-array form without it is not emulated).

Parts: `inline_data` blobs are attachments; `function_response` parts are tool results; tools are
`function_declarations`; `toolConfig.functionCallingConfig.mode` AUTO | ANY | NONE is the tool
choice; `generationConfig.response_mime_type` application/json (with `response_json_schema` or
`response_schema`) is JSON mode; `thinkingConfig.includeThoughts` asks for thought parts. An answer
is a thought part (`"thought": true`), a text part and `functionCall` parts; usage splits the prompt
into TEXT and IMAGE modalities (`promptTokensDetails`).

Image output (LiteLLM's image_generation for `gemini/gemini-2.5-flash-image`): a request whose
`generationConfig.response_modalities` holds IMAGE gets `candidateCount` PNGs as `inlineData`
parts, each billed IMAGE_OUTPUT_TOKENS candidate tokens (modality IMAGE), as Google bills them.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator

from .parts import Attachments, png
from .script import Fault, Reply, Turn, Usage, plan_turn, split_pieces
from .wire import ErrorResponse, Incoming, content_text, new_id, seconds_header, sse

name = "gemini"
request_id_header = "x-goog-request-id"

PATH = re.compile(r"/models/(?P<model>[^/:]+):(?P<endpoint>generateContent|streamGenerateContent)$")
FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"}
IMAGE_OUTPUT_TOKENS = 1290  # one 1024x1024 image
MODES = {"AUTO": "auto", "ANY": "required", "NONE": "none"}
ROLES = {"model": "assistant", "user": "user"}


def route(path: str) -> str | None:
    match = PATH.search(path)
    return match["model"] if match else None


def parse(path: str, query: dict[str, str], body: dict) -> Incoming:
    match = PATH.search(path)
    if match is None:
        raise ValueError(f"not a Gemini path: {path}")
    system = body.get("system_instruction") or body.get("systemInstruction") or {}
    messages = [("system", content_text(system.get("parts")))] if system else []
    attachments = Attachments()
    results: list[tuple[str, str]] = []
    for content in body.get("contents", []):
        parts = [part for part in content.get("parts") or [] if not part.get("thought")]
        for part in parts:
            blob = _either(part, "inline_data", "inlineData")
            if blob:
                attachments.add(_either(blob, "mime_type", "mimeType") or "", blob.get("data"))
        answers = [a for a in (_either(part, "function_response", "functionResponse") for part in parts) if a]
        for answer in answers:
            response = answer.get("response") or {}
            text = content_text(response.get("content")) if "content" in response else json.dumps(response)
            results.append((answer.get("name", ""), text))
            messages.append(("tool", text))
        if not answers or content_text(parts):
            messages.append((ROLES.get(content.get("role", "user"), "user"), content_text(parts)))
    config = _either(body, "generationConfig", "generation_config") or {}
    thinking = _either(config, "thinkingConfig", "thinking_config") or {}
    schema = next((config[k] for k in ("response_json_schema", "responseJsonSchema", "response_schema",
                                        "responseSchema") if k in config), None)
    modalities = _either(config, "response_modalities", "responseModalities") or []
    options = {"images": int(config.get("candidateCount") or 1)} if "IMAGE" in modalities else {}
    return Incoming(
        model=match["model"], stream=match["endpoint"] == "streamGenerateContent", messages=messages,
        attachments=tuple(attachments.media_types), image_units=attachments.units,
        tools=_tools(body.get("tools") or []), tool_choice=_tool_choice(body), tool_results=tuple(results),
        response_schema=schema,
        json_mode=_either(config, "response_mime_type", "responseMimeType") == "application/json",
        thinking=bool(thinking.get("includeThoughts")),
        reasoning_effort=str(thinking.get("thinkingBudget", thinking.get("thinkingLevel", ""))) or None,
        options=options,
    )


def plan(reply: Reply, incoming: Incoming) -> Turn:
    """`plan_turn`, except that images asked for are billed as image output tokens."""
    turn = plan_turn(reply, incoming)
    images = incoming.options.get("images", 0)
    if not images or reply.output_tokens is not None:
        return turn
    text = turn.pieces if reply.text is not None else ()
    usage = Usage(turn.usage.input_tokens, len(text) + IMAGE_OUTPUT_TOKENS * images, image_tokens=turn.usage.image_tokens)
    return Turn(text, usage, turn.finish_reason, turn.ttft, turn.piece_interval)


def _either(mapping: dict, snake: str, camel: str):
    """A field Google accepts in either spelling."""
    return mapping.get(snake) if snake in mapping else mapping.get(camel)


def _tools(tools: list[dict]) -> tuple[dict, ...]:
    declared = [d for tool in tools for d in _either(tool, "function_declarations", "functionDeclarations") or []]
    return tuple({"name": d.get("name", ""),
                  "parameters": d.get("parameters") or _either(d, "parameters_json_schema", "parametersJsonSchema") or {}}
                 for d in declared)


def _tool_choice(body: dict) -> str | None:
    calling = (_either(body, "toolConfig", "tool_config") or {}).get("functionCallingConfig") or {}
    mode = MODES.get(calling.get("mode", ""))
    allowed = calling.get("allowedFunctionNames") or calling.get("allowed_function_names") or []
    return allowed[0] if mode == "required" and len(allowed) == 1 else mode


def _usage(turn: Turn, candidates: int) -> dict:
    usage = turn.usage
    metadata = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": candidates,
        "totalTokenCount": usage.input_tokens + candidates + usage.reasoning_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": usage.input_tokens - usage.image_tokens}],
    }
    if usage.image_tokens:
        metadata["promptTokensDetails"].append({"modality": "IMAGE", "tokenCount": usage.image_tokens})
    if usage.reasoning_tokens:
        metadata["thoughtsTokenCount"] = usage.reasoning_tokens
    if usage.cached_tokens:
        metadata["cachedContentTokenCount"] = usage.cached_tokens
    return metadata


def _response(incoming: Incoming, parts: list[dict], finish: str | None, usage: dict, response_id: str) -> dict:
    candidate: dict = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": incoming.model,
            "responseId": response_id}


def _calls(turn: Turn) -> list[dict]:
    return [{"functionCall": {"name": call.name, "args": call.arguments}} for call in turn.tool_calls]


def _pictures(incoming: Incoming) -> list[dict]:
    prompt = incoming.messages[-1][1] if incoming.messages else ""
    return [{"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png(f"{prompt}#{n}")).decode()}}
            for n in range(incoming.options.get("images", 0))]


def reply_body(incoming: Incoming, turn: Turn) -> dict:
    candidates = turn.usage.output_tokens - turn.usage.reasoning_tokens
    finish = FINISH.get(turn.finish_reason, "STOP")
    parts = [{"text": turn.reasoning, "thought": True}] if turn.reasoning else []
    pictures = _pictures(incoming)
    if turn.text or not (turn.tool_calls or pictures):
        parts.append({"text": turn.text})
    usage = _usage(turn, candidates)
    if pictures:
        usage["candidatesTokensDetails"] = [{"modality": "IMAGE", "tokenCount": IMAGE_OUTPUT_TOKENS * len(pictures)}]
    return _response(incoming, parts + pictures + _calls(turn), finish, usage, new_id(""))


def stream_events(incoming: Incoming, turn: Turn) -> Iterator[tuple[bytes, bool]]:
    """Thought pieces first, then text pieces; the function calls ride on the last chunk."""
    final_candidates = turn.usage.output_tokens - turn.usage.reasoning_tokens
    response_id = new_id("")
    thoughts = [({"text": piece, "thought": True}, False) for piece in split_pieces(turn.reasoning)]
    texts = [({"text": piece}, True) for piece in turn.pieces]
    chunks = thoughts + texts or [({"text": ""}, False)]
    for index, (part, is_piece) in enumerate(chunks):
        last = index == len(chunks) - 1
        candidates = final_candidates if last else min(index + 1, final_candidates)
        finish = FINISH.get(turn.finish_reason, "STOP") if last else None
        parts = [part, *_calls(turn)] if last else [part]
        body = _response(incoming, parts, finish, _usage(turn, candidates), response_id)
        yield sse(body, newline="\r\n"), is_piece


def _error(status: int, state: str, message: str, details: list | None = None) -> ErrorResponse:
    body: dict = {"error": {"code": status, "message": message, "status": state}}
    if details:
        body["error"]["details"] = details
    return ErrorResponse(status, body)


def _rate_limited(fault: Fault, message: str) -> ErrorResponse:
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{fault.retry_after:g}s"}
    response = _error(429, "RESOURCE_EXHAUSTED", message, [retry])
    response.headers["retry-after"] = seconds_header(fault.retry_after)
    return response


def error(fault: Fault, incoming: Incoming) -> ErrorResponse:
    """Google's error for an HTTP-level fault (a bad key is its 400 API_KEY_INVALID, not a 401)."""
    if fault.kind == "server_error":
        return _error(500, "INTERNAL", "An internal error has occurred. Please retry or report in "
                      "https://developers.generativeai.google/guide/troubleshooting")
    if fault.kind in ("unavailable", "overloaded"):
        return _error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
    if fault.kind == "rate_limit":
        return _rate_limited(fault, "Resource has been exhausted (e.g. check quota).")
    if fault.kind == "quota":
        return _rate_limited(fault, "You exceeded your current quota, please check your plan and billing "
                             "details. For more information on this error, head to: "
                             "https://ai.google.dev/gemini-api/docs/rate-limits.")
    if fault.kind == "auth":
        info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}
        return _error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [info])
    if fault.kind == "context_length":
        return _error(400, "INVALID_ARGUMENT", "The input token count (1200000) exceeds the maximum "
                      "number of tokens allowed (1048576).")
    raise ValueError(f"{fault.kind} is not an HTTP error fault")
