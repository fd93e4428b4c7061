"""Closing the HTTP clients LiteLLM made for an event loop, before that loop ends.

LiteLLM caches its async clients (httpx over an aiohttp session, SDK clients) per event loop,
and closes one only after evicting it from the cache (past 200 entries or 10 minutes), and
then only from the loop that made it. A loop that ends first (an ``AIService``'s loop thread,
a test's loop) leaves their aiohttp sessions open until the collector finds them, each then
printing "Unclosed client session". The owner of a loop calls ``close_loop_clients()`` on it
just before stopping it.

One client is not in that cache under its loop: ``litellm.module_level_aclient``, the handler
its Anthropic and Gemini streams use, made once per process. Its aiohttp session follows the
loop that used it last (LiteLLM's transport makes a new one on a new loop), so the loop that
holds it closes it too; the handler opens a fresh client when next used.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import sys

__all__ = ["close_loop_clients"]

_LOG = logging.getLogger(__name__)


async def close_loop_clients() -> int:
    """Close and forget every client LiteLLM cached for the running loop; returns how many.
    Does nothing when litellm was never loaded."""
    litellm = sys.modules.get("litellm")
    cache = getattr(litellm, "in_memory_llm_clients_cache", None)
    if cache is None:
        return 0
    suffix = f"-{id(asyncio.get_running_loop())}"  # how LLMClientCache keys a loop's clients
    closed = 0
    for key in [key for key in list(cache.cache_dict) if str(key).endswith(suffix)]:
        client = cache.cache_dict.get(key)
        close = getattr(client, "aclose", None) or getattr(client, "close", None)
        # A handler given someone else's client does not close it: it stays cached, for
        # LiteLLM's own clean-up at exit, rather than be dropped open.
        if close is None or getattr(client, "_owns_client", True) is False:
            continue
        try:
            done = close()
            if inspect.isawaitable(done):
                await done
        except Exception as exc:  # one client failing to close must not keep the others open
            _LOG.warning("Could not close LiteLLM's client %s: %s", key, exc)
            continue
        cache.cache_dict.pop(key, None)
        cache.ttl_dict.pop(key, None)
        closed += 1
    return closed + await _close_shared_client(litellm)


async def _close_shared_client(litellm) -> int:
    """Close ``litellm.module_level_aclient`` when its session lives on the running loop;
    returns 1 if it did. Read from the module's namespace: the attribute is made on first
    access, and asking for it must not make one."""
    handler = vars(litellm).get("module_level_aclient")
    client = getattr(handler, "_client", None)  # the property would reopen a closed one
    session = getattr(getattr(client, "_transport", None), "client", None)
    if getattr(session, "_loop", None) is not asyncio.get_running_loop() or client.is_closed:
        return 0
    try:
        await handler.close()
    except Exception as exc:  # the cached clients are closed either way
        _LOG.warning("Could not close LiteLLM's module-level client: %s", exc)
        return 0
    return 1
