"""Gemini (Google AI Studio): `POST <base>/models/<model>:generateContent` and
`:streamGenerateContent?alt=sse` (LiteLLM `gemini/<model>`, api_base=<url>/v1beta; LiteLLM appends
`/models/<model>:<endpoint>` to whatever base it is given).

Every streamed chunk carries `usageMetadata` (promptTokenCount, running candidatesTokenCount,
totalTokenCount), as the real API does; the last chunk carries finishReason and the final counts.
On the wire, candidatesTokenCount excludes thoughtsTokenCount; promptTokenCount includes
cachedContentTokenCount. streamGenerateContent always answers as SSE (LiteLLM always asks for
`alt=sse`; the JSON-array form without it is not emulated).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .script import Fault, Turn
from .wire import ErrorResponse, Incoming, content_text, new_id, seconds_header, sse

name = "gemini"
request_id_header = "x-goog-request-id"

PATH = re.compile(r"/models/(?P<model>[^/:]+):(?P<endpoint>generateContent|streamGenerateContent)$")
FINISH = {"stop": "STOP", "length": "MAX_TOKENS"}
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
    for content in body.get("contents", []):
        role = ROLES.get(content.get("role", "user"), "user")
        messages.append((role, content_text(content.get("parts"))))
    stream = match["endpoint"] == "streamGenerateContent"
    return Incoming(model=match["model"], stream=stream, messages=messages)


def _usage(turn: Turn, candidates: int) -> dict:
    usage = turn.usage
    metadata = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": candidates,
        "totalTokenCount": usage.input_tokens + candidates + usage.reasoning_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": usage.input_tokens}],
    }
    if usage.reasoning_tokens:
        metadata["thoughtsTokenCount"] = usage.reasoning_tokens
    if usage.cached_tokens:
        metadata["cachedContentTokenCount"] = usage.cached_tokens
    return metadata


def _response(incoming: Incoming, text: str, finish: str | None, usage: dict, response_id: str) -> dict:
    candidate: dict = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": incoming.model,
            "responseId": response_id}


def reply_body(incoming: Incoming, turn: Turn) -> dict:
    candidates = turn.usage.output_tokens - turn.usage.reasoning_tokens
    finish = FINISH.get(turn.finish_reason, "STOP")
    return _response(incoming, turn.text, finish, _usage(turn, candidates), new_id(""))


def stream_events(incoming: Incoming, turn: Turn) -> Iterator[tuple[bytes, bool]]:
    final_candidates = turn.usage.output_tokens - turn.usage.reasoning_tokens
    response_id = new_id("")
    pieces = turn.pieces or ("",)
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        candidates = final_candidates if last else min(index + 1, final_candidates)
        finish = FINISH.get(turn.finish_reason, "STOP") if last else None
        body = _response(incoming, piece, finish, _usage(turn, candidates), response_id)
        yield sse(body, newline="\r\n"), bool(piece)


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
