"""The dependency every route takes: the request's API key, or a 401/429 in OpenAI's shape.

The key is looked up in a worker thread (it may read the store); a key seen within the
keyring's TTL is answered from its cache.
"""
from __future__ import annotations

from typing import Callable

from fastapi import Header
from starlette.concurrency import run_in_threadpool

from core.keys import ApiKey

__all__ = ["authenticated"]


def authenticated(caller) -> Callable:
    keyring = caller.keyring

    async def key_of(authorization: str | None = Header(default=None)) -> ApiKey:
        if keyring.cached(authorization):
            return keyring.authenticate(authorization)
        return await run_in_threadpool(keyring.authenticate, authorization)

    return key_of
