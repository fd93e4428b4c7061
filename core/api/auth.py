"""The dependency every route takes: the request's API key, or a 401/429 in the route's shape.

A key comes as ``Authorization: Bearer pk-...`` (OpenAI's clients) or as ``x-api-key: pk-...``
(Anthropic's clients, Claude Code included); Bearer wins when both are sent. The key is looked
up in a worker thread (it may read the store); a key seen within the keyring's TTL is answered
from its cache.
"""
from __future__ import annotations

from typing import Callable

from fastapi import Header
from starlette.concurrency import run_in_threadpool

from core.keys import ApiKey

__all__ = ["authenticated", "bearer_of"]


def bearer_of(authorization: str | None, x_api_key: str | None) -> str | None:
    """The ``Authorization`` value to check: the header itself, else ``x-api-key`` as Bearer."""
    if authorization or not x_api_key:
        return authorization
    return f"Bearer {x_api_key.strip()}"


def authenticated(caller) -> Callable:
    keyring = caller.keyring

    async def key_of(authorization: str | None = Header(default=None),
                     x_api_key: str | None = Header(default=None)) -> ApiKey:
        credential = bearer_of(authorization, x_api_key)
        if keyring.cached(credential):
            return keyring.authenticate(credential)
        return await run_in_threadpool(keyring.authenticate, credential)

    return key_of
