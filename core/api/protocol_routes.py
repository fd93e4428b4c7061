"""OpenAI's other routes: ``POST /v1/embeddings`` and the legacy ``POST /v1/completions``.

An embeddings request goes to an embedding model (``model_info.mode: embedding``, or the
first configured one when ``model`` is absent), priced per input token by LiteLLM, recorded as
``kind="embedding"``, answered in OpenAI's list shape (``encoding_format`` ``float`` or
``base64``). A legacy completion (llama-index's ``OpenAILike`` and older clients) is a
``Call`` with ``prompt`` as the prompt, answered as a ``text_completion`` (streamed: its chunks,
then ``data: [DONE]``); ``echo``, ``suffix``, ``logprobs`` and ``best_of`` are refused.
"""
from __future__ import annotations

import base64
import struct
import time
from typing import Any, AsyncIterator

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import Field

from core.api.caller import Caller
from core.api.errors import ApiError
from core.api.openai_routes import result_headers
from core.api.schemas import _Body
from core.api.sse import SSEResponse, prepend, primed, sse_error, sse_event
from core.keys import ApiKey
from core.results import GenerationResult

__all__ = ["router"]


class EmbeddingsRequest(_Body):
    input: str | list[str]
    model: str | None = None
    dimensions: int | None = Field(default=None, ge=1)
    encoding_format: str = "float"
    user: str | None = None


class LegacyCompletionRequest(_Body):
    prompt: str | list[str]
    model: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    stop: str | list[str] | None = None
    stream: bool = False
    n: int | None = Field(default=None, ge=1, le=1)
    echo: bool = False
    suffix: str | None = None
    logprobs: int | None = None
    best_of: int | None = Field(default=None, ge=1, le=1)
    user: str | None = None


def router(caller: Caller, route_class: type = APIRoute) -> APIRouter:
    from core.api.auth import authenticated

    routes = APIRouter(tags=["OpenAI-compatible"], route_class=route_class)
    key_of = authenticated(caller)

    @routes.post("/v1/embeddings")
    async def embeddings(body: EmbeddingsRequest, request: Request, key: ApiKey = Depends(key_of),
                         x_parley_service: str | None = Header(default=None)):
        """One vector per input from an embedding model, in OpenAI's list shape."""
        if body.encoding_format not in ("float", "base64"):
            raise ApiError(400, "encoding_format is float or base64.", code="invalid_request")
        service_type = caller.service_type(key, x_parley_service, None, "embeddings")
        result = await caller.embed(key, service_type=service_type, model=body.model,
                                    headers=request.headers, inputs=body.input,
                                    dimensions=body.dimensions)
        data = [{"object": "embedding", "index": i, "embedding": _encoded(v, body.encoding_format)}
                for i, v in enumerate(result.embeddings)]
        return JSONResponse({"object": "list", "data": data, "model": result.model,
                             "usage": {"prompt_tokens": result.input_tokens,
                                       "total_tokens": result.input_tokens},
                             "parley": {"call_id": result.call_id, "cost": result.cost,
                                        "price_known": result.price_known}},
                            headers=result_headers(result))

    @routes.post("/v1/completions")
    async def completions(body: LegacyCompletionRequest, request: Request,
                          key: ApiKey = Depends(key_of),
                          x_parley_service: str | None = Header(default=None)):
        """A legacy text completion (or its SSE stream) of one prompt."""
        prompt = _one_prompt(body)
        stop = [body.stop] if isinstance(body.stop, str) else body.stop
        plan = await caller.plan(key, request.headers, prompt=prompt, model=body.model,
                                 service_type=caller.service_type(key, x_parley_service),
                                 temperature=body.temperature, max_tokens=body.max_tokens,
                                 stop=stop or None, metadata={"protocol": "completions"})
        if body.stream:
            stream, first = await primed(caller.stream(key, plan))
            return SSEResponse(_chunks(caller, plan, stream, first),
                               headers={"x-parley-call-id": plan.call_id})
        result = await caller.generate(key, plan)
        return JSONResponse(_text_completion(result), headers=result_headers(result))

    return routes


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def _one_prompt(body: LegacyCompletionRequest) -> str:
    if body.echo or body.suffix is not None or body.logprobs is not None:
        raise ApiError(400, "echo, suffix and logprobs are not supported.", code="invalid_request")
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    if len(prompts) != 1:
        raise ApiError(400, "Send one prompt per request.", code="invalid_request")
    return prompts[0]


def _usage(result: GenerationResult) -> dict[str, int]:
    return {"prompt_tokens": result.input_tokens, "completion_tokens": result.output_tokens,
            "total_tokens": result.total_tokens}


def _text_completion(result: GenerationResult) -> dict[str, Any]:
    return {"id": f"cmpl-{result.call_id}", "object": "text_completion",
            "created": int(time.time()), "model": result.served_by or result.model,
            "choices": [{"text": result.content, "index": 0, "logprobs": None,
                         "finish_reason": result.finish_reason or "stop"}],
            "usage": _usage(result), "parley": {"call_id": result.call_id, "cost": result.cost}}


async def _chunks(caller: Caller, plan, stream: AsyncIterator, first_item) -> AsyncIterator[bytes]:
    base = {"id": f"cmpl-{plan.call_id}", "object": "text_completion",
            "created": int(time.time()), "model": plan.model}

    def chunk(text: str, finish: str | None = None, **extra: Any) -> bytes:
        return sse_event({**base, "choices": [{"text": text, "index": 0, "logprobs": None,
                                               "finish_reason": finish}], **extra})

    try:
        async for item in prepend(first_item, stream):
            if isinstance(item, GenerationResult):
                base["model"] = item.served_by or item.model
                yield chunk("", item.finish_reason or "stop", usage=_usage(item),
                            parley={"call_id": item.call_id, "cost": item.cost})
                break
            yield chunk(str(item))
    except Exception as exc:  # noqa: BLE001 - the client gets the error as an event
        yield sse_error(exc, caller.service.settings.secrets())
    finally:
        await stream.aclose()
    yield b"data: [DONE]\n\n"
