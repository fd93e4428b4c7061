"""OpenAI-compatible routes: ``POST /v1/chat/completions``, ``POST /v1/images/generations``
and ``GET /v1/models``.

A chat completion takes image and PDF content parts in the last user message, ``tools``,
``tool_choice``, ``response_format`` and ``reasoning_effort``, and tool results in follow-up
turns; its message carries ``tool_calls`` (finish reason ``tool_calls``), streamed as one
``delta.tool_calls`` chunk before the finish chunk; the ``parley`` object adds whether each
call's arguments and the answer matched their schemas, and the reasoning text. An image
generation answers OpenAI's shape (``data``: ``b64_json`` and ``revised_prompt``) with the same
headers; it is priced per image and recorded as ``kind=image``.

``model`` is a Parley model name, ``auto`` (routed by the prompt's complexity) or absent (the
key owner's preference for the service type). ``stream: true`` answers in OpenAI's SSE chunk
format: a role chunk, content chunks, a chunk with the finish reason, a usage chunk (always:
Parley asks every provider for usage), then ``data: [DONE]``. Responses carry
``x-parley-call-id``, ``x-parley-served-by`` and, when the price is known, ``x-parley-cost``
(streams: the call id and the model answering, a fallback's name when the chosen model failed
before its first token, in headers; the final usage chunk's ``parley`` object has the cost).
"""
from __future__ import annotations

import json
import time
from typing import Any, AsyncIterator

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from core.api.caller import Caller
from core.api.errors import ApiError
from core.keys import ApiKey
from core.api.schemas import ChatCompletionRequest, ImageGenerationRequest, messages_to_call
from core.api.sse import Final, SSEResponse, prepend, primed, served_by, sse_error, sse_event
from core.results import GenerationResult

__all__ = ["router", "completion_body", "result_headers"]


def router(caller: Caller, route_class: type = APIRoute) -> APIRouter:
    from core.api.auth import authenticated

    routes = APIRouter(tags=["OpenAI-compatible"], route_class=route_class)
    key_of = authenticated(caller)

    @routes.post("/v1/chat/completions")
    async def chat_completions(body: ChatCompletionRequest, request: Request,
                               key: ApiKey = Depends(key_of),
                               x_parley_service: str | None = Header(default=None)):
        """A chat completion (or its SSE stream) from a Parley model."""
        try:
            call = messages_to_call(body.messages)
        except ValueError as exc:
            raise ApiError(400, f"messages: {exc}.", code="invalid_request") from None
        service_type = caller.service_type(key, x_parley_service)
        plan = await caller.plan(
            key, request.headers, prompt=call["prompt"], service_type=service_type, model=body.model,
            system_prompt=call["system_prompt"], history=call["history"],
            temperature=body.temperature, max_tokens=body.max_completion_tokens or body.max_tokens,
            attachments=call["attachments"], **body.structured())
        if body.stream:
            stream, first = await primed(caller.stream(key, plan))
            headers = {"x-parley-call-id": plan.call_id,
                       "x-parley-served-by": served_by(first, plan.model)}
            return SSEResponse(_chunks(caller, plan, stream, first), headers=headers)
        result = await caller.generate(key, plan)
        return JSONResponse(completion_body(result), headers=result_headers(result))

    @routes.post("/v1/images/generations")
    async def images(body: ImageGenerationRequest, request: Request, key: ApiKey = Depends(key_of),
                     x_parley_service: str | None = Header(default=None)):
        """Images from a prompt by an image model, in OpenAI's shape."""
        service_type = caller.service_type(key, x_parley_service, None, "images")
        result = await caller.generate_image(key, service_type=service_type, headers=request.headers,
                                             prompt=body.prompt,
                                             model=body.model, n=body.n, size=body.size,
                                             quality=body.quality)
        data = [{k: v for k, v in image.items() if k in ("b64_json", "url", "revised_prompt")}
                for image in result.images]
        body_out: dict[str, Any] = {"created": int(time.time()), "data": data,
                                    "parley": _parley(result)}
        if result.input_tokens or result.output_tokens:
            body_out["usage"] = {"input_tokens": result.input_tokens,
                                 "output_tokens": result.output_tokens,
                                 "total_tokens": result.total_tokens}
        return JSONResponse(body_out, headers=result_headers(result))

    @routes.get("/v1/models")
    async def models(key: ApiKey = Depends(key_of)):
        """The models this key may use, in OpenAI's list shape."""
        created = int(time.time())
        data = [{"id": e.name, "object": "model", "created": created, "owned_by": e.provider,
                 "parley": {"display_name": e.display_name, "available": e.available,
                            "price_known": e.price_known,
                            "input_cost_per_1m": e.per_million("input"),
                            "output_cost_per_1m": e.per_million("output")}}
                for e in caller.service.catalog if key.allows(e.name)]
        return {"object": "list", "data": data}

    return routes


def result_headers(result: GenerationResult) -> dict[str, str]:
    headers = {"x-parley-call-id": result.call_id, "x-parley-served-by": result.served_by or result.model}
    if result.cost is not None:
        headers["x-parley-cost"] = f"{result.cost:.10f}".rstrip("0").rstrip(".") or "0"
    return headers


def _usage(result: GenerationResult) -> dict[str, Any]:
    usage: dict[str, Any] = {"prompt_tokens": result.input_tokens,
                             "completion_tokens": result.output_tokens,
                             "total_tokens": result.total_tokens}
    if result.reasoning_tokens:
        usage["completion_tokens_details"] = {"reasoning_tokens": result.reasoning_tokens}
    if result.cached_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": result.cached_tokens}
    return usage


def _parley(result: GenerationResult) -> dict[str, Any]:
    """What OpenAI's shape has no place for: cost, the model that answered, and why; for
    answers beyond text, the schemas' verdicts, the reasoning and the prompt-cache saving."""
    return {"call_id": result.call_id, "cost": result.cost, "price_known": result.price_known,
            "served_by": result.served_by, "fallback_used": result.fallback_used,
            "provider": result.provider, "tokens_estimated": result.tokens_estimated,
            "cache_hit": result.cache_hit, "ttft_ms": result.ttft_ms,
            "response_time_ms": result.response_time_ms, "route_reason": result.route_reason,
            "kind": result.kind, "saved_cost": result.saved_cost, "reasoning": result.reasoning,
            "json_valid": result.json_valid, "json_errors": result.json_errors,
            "tool_calls_valid": [c.get("valid") for c in result.tool_calls] or None,
            "tool_calls": [{"id": c["id"], "valid": c.get("valid"), "errors": c.get("errors", [])}
                           for c in result.tool_calls]}


def _tool_calls(result: GenerationResult) -> list[dict[str, Any]]:
    """The answer's tool calls in OpenAI's shape (arguments as JSON text)."""
    return [{"id": c["id"], "type": "function",
             "function": {"name": c["name"], "arguments": c["arguments"] if isinstance(c["arguments"], str)
                          else json.dumps(c["arguments"])}}
            for c in result.tool_calls]


def _finish(result: GenerationResult) -> str:
    return "tool_calls" if result.tool_calls else result.finish_reason or "stop"


def completion_body(result: GenerationResult) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant",
                               "content": result.content or (None if result.tool_calls else "")}
    if result.tool_calls:
        message["tool_calls"] = _tool_calls(result)
    return {"id": f"chatcmpl-{result.call_id}", "object": "chat.completion",
            "created": int(time.time()), "model": result.served_by or result.model,
            "choices": [{"index": 0, "finish_reason": _finish(result), "message": message}],
            "usage": _usage(result), "parley": _parley(result)}


async def _chunks(caller: Caller, plan, stream: AsyncIterator, first_item) -> AsyncIterator[bytes]:
    """The OpenAI SSE stream of one call from its first item on; a failure after it started
    is sent as an error event (the status line has gone), then ``[DONE]``."""
    base = {"id": f"chatcmpl-{plan.call_id}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": served_by(first_item, plan.model)}

    def chunk(delta: dict, finish: str | None = None, **extra: Any) -> bytes:
        return sse_event({**base, "choices": [{"index": 0, "delta": delta,
                                               "finish_reason": finish}], **extra})

    end = b""  # the events after the text, made at once: sent in one write with [DONE]
    try:
        first = True
        async for item in prepend(first_item, stream):
            if isinstance(item, GenerationResult):
                base["model"] = item.served_by or item.model
                if item.tool_calls:
                    calls = [{"index": i, **call} for i, call in enumerate(_tool_calls(item))]
                    end = chunk({"role": "assistant", "tool_calls": calls} if first else {"tool_calls": calls})
                end += chunk({}, _finish(item)) + sse_event({**base, "choices": [], "usage": _usage(item),
                                                             "parley": _parley(item)})
                break
            yield chunk({"role": "assistant", "content": item} if first else {"content": item})
            first = False
    except Exception as exc:  # noqa: BLE001 - the client gets the error as an event
        end = sse_error(exc, caller.service.settings.secrets())
    finally:
        await stream.aclose()
    yield Final(end + b"data: [DONE]\n\n")
