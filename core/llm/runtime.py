"""LiteLLM, loaded on first use and set up for Parley: the one place that touches its globals.

``load()`` imports litellm (seconds: never at the import of a Parley module, so a page paints
before it) once, after pointing it at its bundled cost map, and returns the module.
``preload()`` does the same on a background thread, so that the first call does not wait
for it (the app starts it once a page has painted).
Setting up means three process-wide changes, made here and nowhere else:

- ``LITELLM_LOCAL_MODEL_COST_MAP=True`` in the environment before the import (without it the
  import fetches prices over the network);
- ``litellm.suppress_debug_info``, and LiteLLM's own loggers quiet unless ``PARLEY_DEBUG`` is
  set: Parley reports every failure itself, in one sentence, and LiteLLM's logs would repeat
  them with provider bodies on stderr;
- the bundled model's handler in ``litellm.custom_provider_map`` (public), made known to
  LiteLLM's provider routing by ``litellm.utils.custom_llm_setup()`` (public).

Private API, used because LiteLLM has none public for it; tests/core/llm/test_runtime.py fails
when LiteLLM changes it:

- ``Router._acompletion(model, messages, **kwargs)``: the Router's call to one deployment.
  ``observed_router_class()`` overrides it to note every attempt (retries and fallbacks) of a
  call in that call's own list. The public alternative, ``litellm.callbacks``, is a
  process-global list shared by every Router and thread.
- ``Router._ageneric_api_call_with_fallbacks_helper(model, original_generic_function, **kwargs)``:
  the same for the Router's other endpoints (``aresponses``: core/llm/responses_native.py).
- ``CustomStreamWrapper.chunks``: the chunks a stream has delivered, as the provider sent them
  (``provider_chunks``). The gateway reads the provider's own finish reason there to tell a
  finished answer from one cut off mid-stream; the chunks LiteLLM yields end with a finish
  reason of its own either way.
"""
from __future__ import annotations

import contextvars
import functools
import logging
import os
import threading
import time
from dataclasses import dataclass
from types import ModuleType

__all__ = ["load", "preload", "observed_router_class", "provider_chunks", "Attempt", "ATTEMPTS", "ms_since"]

ATTEMPTS: contextvars.ContextVar[list | None] = contextvars.ContextVar("parley_attempts", default=None)


@dataclass
class Attempt:
    """One call to one deployment, as the Router made it."""

    model: str
    elapsed_ms: float
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


_setting_up = threading.Lock()  # a preload and a first call may arrive together
_preloading: threading.Thread | None = None


def preload() -> threading.Thread | None:
    """Start ``load()`` on a background thread; None when litellm is loaded, or loading."""
    global _preloading
    if _load.cache_info().currsize or (_preloading is not None and _preloading.is_alive()):
        return None
    _preloading = threading.Thread(target=load, name="parley-litellm-load", daemon=True)
    _preloading.start()
    return _preloading


def load() -> ModuleType:
    """The litellm module, imported and set up for Parley (once per process; thread-safe)."""
    with _setting_up:
        return _load()


@functools.cache
def _load() -> ModuleType:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
    import litellm
    from litellm.utils import custom_llm_setup

    from core.llm.local import handler

    litellm.suppress_debug_info = True
    if not os.environ.get("PARLEY_DEBUG"):
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    handler.register(litellm)
    custom_llm_setup()
    return litellm


@functools.cache
def observed_router_class() -> type:
    """``litellm.Router`` whose per-deployment calls append an ``Attempt`` to ``ATTEMPTS``'
    list, and whose stream openings are bounded by the timeout (LiteLLM's Gemini streams
    ignore it)."""
    import asyncio

    litellm = load()

    class ObservedRouter(litellm.Router):
        async def _acompletion(self, model, messages, **kwargs):
            log, started = ATTEMPTS.get(), time.perf_counter()
            try:
                call = super()._acompletion(model, messages, **kwargs)
                if kwargs.get("stream"):
                    limit = float(kwargs.get("timeout") or self.timeout or 600)
                    try:
                        response = await asyncio.wait_for(call, limit)
                    except asyncio.TimeoutError:
                        raise litellm.Timeout(message=f"no answer within {limit:g} s", model=model,
                                              llm_provider="parley") from None
                else:
                    response = await call
            except BaseException as exc:
                if log is not None:
                    log.append(Attempt(model, ms_since(started), exc))
                raise
            if log is not None:
                log.append(Attempt(model, ms_since(started)))
            return response

        async def _ageneric_api_call_with_fallbacks_helper(self, model, original_generic_function,
                                                           **kwargs):
            # The Router's call to one deployment for its other endpoints (``aresponses``).
            log, started = ATTEMPTS.get(), time.perf_counter()
            try:
                response = await super()._ageneric_api_call_with_fallbacks_helper(
                    model, original_generic_function, **kwargs)
            except BaseException as exc:
                if log is not None:
                    log.append(Attempt(model, ms_since(started), exc))
                raise
            if log is not None:
                log.append(Attempt(model, ms_since(started)))
            return response

    return ObservedRouter


def provider_chunks(stream) -> list:
    """The chunks a LiteLLM stream has received from the provider so far (private: see above)."""
    return list(getattr(stream, "chunks", None) or ())


def response_cache(cache: dict, redis_url: str):
    """LiteLLM's response cache for ``parley.cache`` (``{type: local|redis, ttl, scope}``).
    LiteLLM keeps it in ``litellm.cache``, one per process: the last gateway built with one
    sets it. Each call partitions it by its own namespace (``cache_namespace``)."""
    from litellm.caching.caching import Cache

    if cache["type"] == "redis":
        return Cache(type="redis", url=redis_url, ttl=cache["ttl"], namespace="parley")
    return Cache(type="local", ttl=cache["ttl"])


def cache_partition(cache: dict, user_id: str | None, key_id: str | None) -> str | None:
    """Whose answers a call may be served from, by ``parley.cache.scope``: ``user:<id>``
    (``user``, the default), ``key:<id>`` (``key``; a call through no key falls back to its
    user), or None (``global``, or no cache). The value goes to ``CallRequest.cache_scope``."""
    if not cache or cache.get("scope", "user") == "global":
        return None
    if cache.get("scope") == "key" and key_id:
        return f"key:{key_id}"
    return f"user:{user_id}" if user_id else None


def cache_namespace(partition: str) -> str:
    """The cache-key prefix of a partition: a hash, so neither the cache's keys (Redis is
    shared by workers) nor anything sent on carries a user or key id in clear."""
    import hashlib

    return "parley:" + hashlib.sha256(partition.encode("utf-8")).hexdigest()[:32]


def is_cache_hit(response) -> bool:
    """Did LiteLLM answer from its response cache? Read from ``_hidden_params["cache_hit"]``
    (a stream's wrapper carries it; its chunks do not). On a hit LiteLLM 1.106.2 leaves the
    original call's ``response_cost`` there on a non-stream answer and 0 on a stream, so
    neither is used: the hit costs 0 and its saving is priced from the usage."""
    return bool((getattr(response, "_hidden_params", None) or {}).get("cache_hit"))
