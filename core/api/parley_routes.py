"""Parley's own routes, the shapes of the services Parley grew from.

- ``GET /api/v1/ai/status``: available providers and models, the key owner's default.
- ``POST /api/v1/ai/completions``: messages in; ``POST /api/v1/ai/chat``: prompt (+ system)
  in; ``POST /api/v1/ai/chat/routed``: prompt + complexity (none: classified) in. Each answers
  with ``GenerationResult.to_json()`` plus ``usage``; ``stream: true`` answers as SSE:
  ``{"type": "delta", "content": ...}`` events, then ``{"type": "done", ...the result}``,
  then ``[DONE]``.
- ``GET /api/ai/providers``: models with display name, description, badge, price and the
  cost of a typical request (``TYPICAL_INPUT`` tokens in, ``TYPICAL_OUTPUT`` out).
- ``GET /api/ai/preference?service_type=`` / ``POST /api/ai/preference``: the key owner's
  preference and its source; set it.
"""
from __future__ import annotations

from typing import Any, AsyncIterator

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from core.api.caller import Caller
from core.api.errors import ApiError
from core.keys import ApiKey
from core.api.openai_routes import result_headers
from core.api.schemas import (ChatRequest, CompletionsRequest, PreferenceRequest,
                              RoutedChatRequest, messages_to_call)
from core.api.sse import SSEResponse, prepend, primed, served_by, sse_error, sse_event
from core.results import GenerationResult
from core.routing.preferences import PreferenceBook

__all__ = ["router", "TYPICAL_INPUT", "TYPICAL_OUTPUT"]

TYPICAL_INPUT, TYPICAL_OUTPUT = 1_000, 500


def router(caller: Caller, route_class: type = APIRoute) -> APIRouter:
    from core.api.auth import authenticated

    routes = APIRouter(tags=["Parley"], route_class=route_class)
    key_of = authenticated(caller)
    service = caller.service

    @routes.get("/api/v1/ai/status")
    async def status(key: ApiKey = Depends(key_of),
                     x_parley_service: str | None = Header(default=None)):
        """Which providers can answer, and the model a call naming none gets."""
        service_type = caller.service_type(key, x_parley_service)
        choice = await run_in_threadpool(service.choose, user_id=key.user_id,
                                         service_type=service_type)
        providers: dict[str, dict[str, Any]] = {}
        for entry in service.catalog:
            if not key.allows(entry.name):
                continue
            item = providers.setdefault(entry.provider, {"provider": entry.provider,
                                                         "available": False, "models": []})
            item["models"].append(entry.name)
            item["available"] = item["available"] or entry.available
        return {"status": "ok", "user": key.user_id, "service_type": service_type,
                "default_model": choice.model,
                "default_provider": service.catalog.get(choice.model).provider,
                "source": choice.source, "providers": list(providers.values())}

    @routes.post("/api/v1/ai/completions")
    async def completions(body: CompletionsRequest, request: Request,
                          key: ApiKey = Depends(key_of),
                          x_parley_service: str | None = Header(default=None)):
        """A message history in, one completion with usage out."""
        try:
            call = messages_to_call(body.messages)
        except ValueError as exc:
            raise ApiError(400, f"messages: {exc}.", code="invalid_request") from None
        return await _answer(caller, key, body, x_parley_service, request.headers, **call)

    @routes.post("/api/v1/ai/chat")
    async def chat(body: ChatRequest, request: Request,
                   key: ApiKey = Depends(key_of),
                   x_parley_service: str | None = Header(default=None)):
        """A prompt (and optional system prompt) in, the answer with usage out; or a prompt
        template and its variables, recorded with the template's version."""
        if (body.prompt is None) == (body.template is None):
            raise ApiError(400, "Give a prompt or a template (with its variables), not both "
                                "and not neither.", code="invalid_request")
        if body.template is not None:
            return await _answer(caller, key, body, x_parley_service, request.headers, prompt=None,
                                 template=body.template, variables=body.variables or {},
                                 system_prompt=body.system_prompt)
        return await _answer(caller, key, body, x_parley_service, request.headers, prompt=body.prompt,
                             system_prompt=body.system_prompt)

    @routes.post("/api/v1/ai/chat/routed")
    async def chat_routed(body: RoutedChatRequest, request: Request,
                          key: ApiKey = Depends(key_of),
                          x_parley_service: str | None = Header(default=None)):
        """A prompt routed by its complexity (given, or classified), with the route and why."""
        model = None if body.complexity else "auto"
        return await _answer(caller, key, body, x_parley_service, request.headers, prompt=body.prompt,
                             system_prompt=body.system_prompt, model=model,
                             complexity=body.complexity)

    @routes.get("/api/ai/providers")
    async def providers(key: ApiKey = Depends(key_of)):
        """Models with prices and the cost of a typical request."""
        from core.pricing import estimate_cost

        out = []
        for entry in service.catalog:
            if key.allows(entry.name):
                typical = estimate_cost(entry, TYPICAL_INPUT, TYPICAL_OUTPUT)
                out.append({**entry.to_json(), "description": entry.description,
                            "badge": entry.badge, "price_label": entry.price_label(),
                            "typical_request": {"input_tokens": TYPICAL_INPUT,
                                                "output_tokens": TYPICAL_OUTPUT,
                                                "cost": typical.cost}})
        return {"models": out}

    @routes.get("/api/ai/preference")
    async def get_preference(key: ApiKey = Depends(key_of),
                             service_type: str | None = Query(default=None)):
        """The key owner's model for ``service_type`` (none: their default), and its source."""
        return await run_in_threadpool(_resolved, caller, key, service_type)

    @routes.post("/api/ai/preference")
    async def set_preference(body: PreferenceRequest, key: ApiKey = Depends(key_of)):
        """Store the key owner's default model (or their override for ``service_type``). A
        key fixed to a service type sets only that service type's model (else 403)."""
        return await run_in_threadpool(_save, caller, key, body.model, body.service_type)

    return routes


def _store(caller: Caller):
    return caller.service.store or caller.keyring.store


def _resolved(caller: Caller, key: ApiKey, service_type: str | None) -> dict[str, Any]:
    from core.routing import preferences

    service = caller.service
    return preferences.resolved(_store(caller), service.settings, service.catalog, key.user_id,
                                service_type)


def _save(caller: Caller, key: ApiKey, model: str, service_type: str | None) -> dict[str, Any]:
    from core.routing import preferences

    if key.service_type and service_type != key.service_type:
        # None would set the user's default, which every other service type falls back to.
        target = "the default model" if service_type is None else f"the model for {service_type!r}"
        raise ApiError(403, f"API key {key.prefix} is for service type {key.service_type!r}, so "
                            f"it may set only that service type's model, not {target}.",
                       code="service_not_allowed")
    if not key.allows(model):
        raise ApiError(403, f"API key {key.prefix} may not use {model}.", code="model_not_allowed")
    preferences.save(_store(caller), caller.service.catalog, key.user_id, model, service_type)
    if isinstance(caller.service.preferences, PreferenceBook):
        caller.service.preferences.forget(key.user_id)
    return _resolved(caller, key, service_type)


async def _answer(caller: Caller, key: ApiKey, body, header: str | None, headers, *,
                  prompt: str | None,
                  model: str | None = None, **call: Any):
    named = model or body.model or body.provider
    if body.model and body.provider and body.model != body.provider:
        raise ApiError(400, "model and provider disagree; give one of them.", code="invalid_request")
    # A template brings its own service type unless the call names one ("default" lets it).
    fallback = "default" if call.get("template") else "api"
    service_type = caller.service_type(key, header, body.service_type, fallback)
    plan = await caller.plan(key, headers, prompt=prompt, service_type=service_type, model=named,
                             temperature=body.temperature, max_tokens=body.max_tokens, **call)
    if body.stream:
        stream, first = await primed(caller.stream(key, plan))
        return SSEResponse(_events(caller, stream, first),
                           headers={"x-parley-call-id": plan.call_id,
                                    "x-parley-served-by": served_by(first, plan.model)})
    result = await caller.generate(key, plan)
    return JSONResponse(result_json(result), headers=result_headers(result))


def result_json(result: GenerationResult) -> dict[str, Any]:
    return {**result.to_json(), "cache_hit": result.cache_hit,
            "usage": {"input_tokens": result.input_tokens, "output_tokens": result.output_tokens,
                      "total_tokens": result.total_tokens,
                      "estimated": result.tokens_estimated}}


async def _events(caller: Caller, stream: AsyncIterator, first) -> AsyncIterator[bytes]:
    try:
        async for item in prepend(first, stream):
            if isinstance(item, GenerationResult):
                yield sse_event({"type": "done", **result_json(item)})
                break
            yield sse_event({"type": "delta", "content": item})
    except Exception as exc:  # noqa: BLE001 - the client gets the error as an event
        yield sse_error(exc, caller.service.settings.secrets())
    finally:
        await stream.aclose()
    yield b"data: [DONE]\n\n"
