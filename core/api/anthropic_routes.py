"""Anthropic-compatible routes: ``POST /v1/messages`` and ``POST /v1/messages/count_tokens``,
for Claude Code and every Anthropic SDK (``ANTHROPIC_BASE_URL`` = Parley, the key a ``pk-...``).

A messages body (system blocks, images, documents, tools and ``tool_result``, thinking blocks,
``stop_sequences``, ``metadata.user_id``) is read by LiteLLM's own Anthropic adapter
(core/llm/protocols.py) into a chat request, and stated as a ``Call``: the key's models,
service type, budget and rate limit, the fallbacks and the recording apply as on every route.
A Claude model is then called through LiteLLM's native Anthropic provider, with the client's
own ``cache_control`` marks (core/prompt_cache.py); any other model through its own. The answer comes back as an Anthropic message (text, ``tool_use`` and
``thinking`` blocks; ``usage`` with ``cache_read_input_tokens`` and
``cache_creation_input_tokens``, ``input_tokens`` being the rest, as Anthropic counts), with a
``parley`` object (cost, the model that answered) and the ``x-parley-*`` headers.

``stream: true`` answers with Anthropic's events: ``message_start``, a text block
(``content_block_start``, ``text_delta`` deltas, ``content_block_stop``), one ``tool_use`` block
per tool call (its input as one ``input_json_delta``), ``message_delta`` (stop reason and
usage), ``message_stop``; a failure after the stream began is an ``error`` event. The model's
reasoning streams as it comes, as a ``thinking`` block before the text (Claude Code takes the
answer from the text after it); reasoning known only at the end (a cached answer) follows the
text.

``model`` is a Parley model name, or a provider's model id one configured model serves
(``claude-sonnet-4-5`` for a model whose ``litellm_params.model`` is
``anthropic/claude-sonnet-4-5``). ``anthropic-version``, ``anthropic-beta`` and ``?beta=true``
are accepted; errors are in Anthropic's shape.
"""
from __future__ import annotations

import json
from typing import Any, AsyncIterator

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from core.api.caller import Caller
from core.api.errors import ApiError, from_parley_error
from core.api.openai_routes import completion_body, result_headers
from core.api.schemas import ChatCompletionRequest, _Body, messages_to_call
from core.api.sse import Final, SSEResponse, prepend, primed, served_by
from core.errors import NotAllowedError, ParleyError
from core.keys import ApiKey
from core.prompt_cache import cache_marks
from core.llm.protocols import anthropic_to_chat, chat_to_anthropic, reasoning_effort_of
from core.results import GenerationResult, Signature, Thought

__all__ = ["router", "model_for"]

_EMPTY = {"text": {"type": "text", "text": ""},
          "thinking": {"type": "thinking", "thinking": "", "signature": ""}}
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                "content_filter": "refusal"}


class MessagesRequest(_Body):
    """Anthropic's ``/v1/messages`` body; the adapter reads the rest of it."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1)
    messages: list[dict[str, Any]] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    stream: bool = False


class CountTokensRequest(_Body):
    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1)
    messages: list[dict[str, Any]] = Field(min_length=1)


def router(caller: Caller, route_class: type = APIRoute) -> APIRouter:
    from core.api.auth import authenticated

    routes = APIRouter(tags=["Anthropic-compatible"], route_class=route_class)
    key_of = authenticated(caller)

    @routes.post("/v1/messages")
    async def messages(body: MessagesRequest, request: Request, key: ApiKey = Depends(key_of),
                       x_parley_service: str | None = Header(default=None)):
        """A message (or its stream of events) from a Parley model, in Anthropic's shape."""
        raw = body.model_dump(exclude_none=True)
        chat, names = anthropic_to_chat({**raw, "model": model_for(caller, body.model)})
        plan = await caller.plan(key, request.headers, **_call_fields(
            caller, key, chat, raw, x_parley_service), stream_reasoning=body.stream)
        if body.stream:
            stream, first = await primed(caller.stream(key, plan))
            headers = {"x-parley-call-id": plan.call_id,
                       "x-parley-served-by": served_by(first, plan.model)}
            return SSEResponse(_events(caller, plan, stream, first, names), headers=headers)
        result = await caller.generate(key, plan)
        return JSONResponse(message_body(result, names), headers=result_headers(result))

    @routes.post("/v1/messages/count_tokens")
    async def count_tokens(body: CountTokensRequest, key: ApiKey = Depends(key_of)):
        """``{"input_tokens": n}``: what the messages, system and tools hold for the model."""
        model = model_for(caller, body.model)
        entry = caller.service.catalog.get(model)  # 404 for an unknown model
        if not key.allows(model):
            raise NotAllowedError(f"API key {key.prefix} may not use {model}; it may use only "
                                  f"{', '.join(key.models)}.", model=model)
        chat, _ = anthropic_to_chat({**body.model_dump(exclude_none=True), "model": model,
                                     "max_tokens": 1})
        counted = list(chat["messages"])
        if chat.get("tools"):
            counted.append({"role": "system", "content": json.dumps(chat["tools"])})
        tokens = await run_in_threadpool(caller.service.count_tokens, entry, counted)
        return {"input_tokens": int(tokens)}

    return routes


def model_for(caller: Caller, name: str) -> str:
    """The Parley model ``name`` means: itself when configured, else the one configured model
    whose provider model id is ``name``; unknown names are left for ``prepare`` to refuse."""
    catalog = caller.service.catalog
    names = {entry.name for entry in catalog}
    if name in names:
        return name
    serving = [entry.name for entry in catalog
               if entry.provider_model == name or entry.provider_model.endswith(f"/{name}")]
    return serving[0] if len(serving) == 1 else name


def _call_fields(caller: Caller, key: ApiKey, chat: dict, raw: dict,
                 service_header: str | None) -> dict[str, Any]:
    """The ``Call`` fields of a translated messages body."""
    try:
        request = ChatCompletionRequest(**{k: v for k, v in chat.items() if k in (
            "model", "messages", "tools", "tool_choice", "response_format", "temperature")})
        call = messages_to_call(request.messages)
    except ValueError as exc:
        raise ApiError(400, f"messages: {_first_line(exc)}.", code="invalid_request") from None
    end_user = (raw.get("metadata") or {}).get("user_id")
    return dict(prompt=call["prompt"], system_prompt=call["system_prompt"],
                history=call["history"], attachments=call["attachments"],
                service_type=caller.service_type(key, service_header), model=chat["model"],
                temperature=request.temperature, max_tokens=chat.get("max_tokens"),
                stop=chat.get("stop") or None, reasoning_effort=reasoning_effort_of(raw.get("thinking")),
                metadata={"protocol": "anthropic", **({"end_user": str(end_user)[:256]}
                                                      if end_user else {})},
                cache_marks=cache_marks(chat["messages"]) or None, **request.structured())


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0].rstrip(".") if str(exc) else type(exc).__name__


def anthropic_usage(result: GenerationResult) -> dict[str, int]:
    """Anthropic's usage: ``input_tokens`` are those neither read from nor written to the
    prompt cache (Parley's ``input_tokens`` count them all)."""
    read, written = result.cache_read_tokens or 0, result.cache_write_tokens or 0
    return {"input_tokens": max(0, (result.input_tokens or 0) - read - written),
            "output_tokens": result.output_tokens or 0,
            "cache_read_input_tokens": read, "cache_creation_input_tokens": written}


def _parley(result: GenerationResult) -> dict[str, Any]:
    return {"call_id": result.call_id, "cost": result.cost, "price_known": result.price_known,
            "served_by": result.served_by, "fallback_used": result.fallback_used,
            "provider": result.provider}


def message_body(result: GenerationResult, names: dict[str, str] | None = None) -> dict:
    """The Anthropic message for an answer."""
    completion = completion_body(result)
    completion.pop("parley", None)
    if result.reasoning:
        completion["choices"][0]["message"]["reasoning_content"] = result.reasoning
    if result.thinking_blocks:  # signed: the client sends them back with its next turn
        completion["choices"][0]["message"]["thinking_blocks"] = result.thinking_blocks
    message = chat_to_anthropic(completion, names)
    message.update(id=f"msg_{result.call_id}", model=result.served_by or result.model,
                   usage=anthropic_usage(result), parley=_parley(result))
    return message


def _event(name: str, data: dict) -> bytes:
    return (f"event: {name}\ndata: ".encode() + json.dumps(data, separators=(",", ":")).encode()
            + b"\n\n")


def _thinking_block(reasoning: str, index: int) -> list[bytes]:
    """A ``thinking`` block of the reasoning text (unsigned: Parley's, not Anthropic's)."""
    return [_event("content_block_start", {"type": "content_block_start", "index": index,
                                           "content_block": {"type": "thinking", "thinking": "",
                                                             "signature": ""}}),
            _event("content_block_delta", {"type": "content_block_delta", "index": index,
                                           "delta": {"type": "thinking_delta", "thinking": reasoning}}),
            _event("content_block_stop", {"type": "content_block_stop", "index": index})]


def _tool_blocks(result: GenerationResult, index: int,
                 names: dict[str, str]) -> list[bytes]:
    """The events of the answer's tool calls, one ``tool_use`` block each from ``index``."""
    events = []
    for n, call in enumerate(result.tool_calls, start=index):
        arguments = call["arguments"] if isinstance(call["arguments"], str) else json.dumps(call["arguments"])
        events += [_event("content_block_start", {"type": "content_block_start", "index": n,
                                                  "content_block": {"type": "tool_use", "id": call["id"],
                                                                    "name": names.get(call["name"], call["name"]),
                                                                    "input": {}}}),
                   _event("content_block_delta", {"type": "content_block_delta", "index": n,
                                                  "delta": {"type": "input_json_delta",
                                                            "partial_json": arguments or "{}"}}),
                   _event("content_block_stop", {"type": "content_block_stop", "index": n})]
    return events


async def _events(caller: Caller, plan, stream: AsyncIterator, first_item,
                  names: dict[str, str]) -> AsyncIterator[bytes]:
    """Anthropic's event stream of one call from its first item on. The events one item
    makes (a block's stop and the next one's start and delta; the answer's end) go in one
    write: they are ready together, and a write each cost the server and the client a
    system call each."""
    model = served_by(first_item, plan.model)
    out = [_event("message_start", {"type": "message_start", "message": {
        "id": f"msg_{plan.call_id}", "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0}}})]
    open_block, index, thought = None, 0, False  # the block being streamed, its index
    try:
        async for item in prepend(first_item, stream):
            if isinstance(item, GenerationResult):
                if open_block is not None:
                    out.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
                    index += 1
                if item.reasoning and not thought:  # not streamed (a cached answer): after the text
                    out += _thinking_block(item.reasoning, index)
                    index += 1
                out += _tool_blocks(item, index, names)
                reason = "tool_use" if item.tool_calls else STOP_REASONS.get(item.finish_reason or "stop", "end_turn")
                out.append(_event("message_delta", {"type": "message_delta",
                                                    "delta": {"stop_reason": reason, "stop_sequence": None},
                                                    "usage": anthropic_usage(item), "parley": _parley(item)}))
                out.append(_event("message_stop", {"type": "message_stop"}))
                break
            if isinstance(item, Signature):  # the reasoning's signature, sent back next turn
                if open_block == "thinking":
                    out.append(_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                              "delta": {"type": "signature_delta",
                                                                        "signature": str(item)}}))
            else:
                kind = "thinking" if isinstance(item, Thought) else "text"
                if open_block != kind:
                    if open_block is not None:
                        out.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
                        index += 1
                    open_block, thought = kind, thought or kind == "thinking"
                    out.append(_event("content_block_start", {"type": "content_block_start", "index": index,
                                                              "content_block": _EMPTY[kind]}))
                out.append(_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                          "delta": {"type": f"{kind}_delta", kind: str(item)}}))
            if out:
                yield b"".join(out)
                out = []
    except Exception as exc:  # noqa: BLE001 - the client gets the error as an event
        out.append(_event("error", _error_of(exc, caller.service.settings.secrets())))
    finally:
        await stream.aclose()
    if out:
        yield Final(b"".join(out))


def _error_of(exc: BaseException, secrets: tuple[str, ...]) -> dict:
    if isinstance(exc, ParleyError):
        return from_parley_error(exc, secrets).body("anthropic")
    if isinstance(exc, ApiError):
        return exc.body("anthropic")
    return ApiError(500, "Parley failed while streaming this answer; it has been logged.").body("anthropic")
