"""How an API request becomes an ``AIService`` call: who it is for, which model the key may
use, the key's rate limit, and the answer or the stream (on the service's own loop when the
routes are hosted by another server's loop, as inside Streamlit).

``Caller.prepare(key, ...)`` returns the ``AIService`` keyword arguments or raises
``ApiError``/``ParleyError``; ``Caller.generate``/``Caller.stream`` run them.
"""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator

from core.api.errors import ApiError
from core.keys import ApiKey, KeyRing
from core.results import GenerationResult

__all__ = ["Caller", "PreparedCall"]

SERVICE_HEADER = "x-parley-service"


@dataclass
class PreparedCall:
    kwargs: dict[str, Any]
    call_id: str
    model: str  # the model chosen before any fallback


class Caller:
    """Runs calls for the routes: ``service`` an ``AIService``, ``keyring`` its keys,
    ``limiter(name, per_minute)`` the per-key rate limit (local or shared through Redis)."""

    def __init__(self, service, keyring: KeyRing, limiter, *, own_loop: bool = False):
        self.service, self.keyring, self.limiter, self.own_loop = service, keyring, limiter, own_loop

    def service_type(self, key: ApiKey, header: str | None, body_value: str | None = None,
                     default: str = "api") -> str:
        """The call's service type: the header (or body field), else the key's, else
        ``default``. One not in ``parley.service_types`` (when those are listed) is a 400; a key
        fixed to a service type may not name another (403)."""
        named = header or body_value
        if named:
            from core.routing.preferences import check_service

            check_service(self.service.settings, named)  # 400 for one not configured
        if key.service_type and named and named != key.service_type:
            raise ApiError(403, f"API key {key.prefix} is for service type {key.service_type!r}, "
                                f"not {named!r}.", code="service_not_allowed")
        return key.service_type or named or default

    def prepare(self, key: ApiKey, *, prompt: str | None, service_type: str, model: str | None,
                **call: Any) -> PreparedCall:
        """Check the model against the key, take a slot of the key's rate limit, and build
        the ``AIService`` arguments (attributed to the key's user and the key)."""
        if model is not None and model != "auto":
            self.service.catalog.get(model)  # 404 for an unknown model, before anything else
        choice = self.service.choose(user_id=key.user_id, service_type=service_type, model=model,
                                     complexity=call.get("complexity"), prompt=prompt or "")
        if not key.allows(choice.model):
            raise ApiError(403, f"API key {key.prefix} may use only "
                                f"{', '.join(key.models)}, not {choice.model}.",
                           code="model_not_allowed")
        if key.rate_limit_per_minute:
            self.limiter.acquire(f"key:{key.prefix}", key.rate_limit_per_minute)
        call_id = str(uuid.uuid4())
        kwargs = {"prompt": prompt, "user_id": key.user_id, "service_type": service_type,
                  "model": model, "key_id": key.id, "call_id": call_id,
                  "fallbacks": self._fallbacks_allowed(key, choice.model),
                  "metadata": {"via": "api", "key_prefix": key.prefix}, **call}
        return PreparedCall(kwargs, call_id, choice.model)

    def _fallbacks_allowed(self, key: ApiKey, model: str) -> bool:
        """A key limited to some models must not be served by another through a fallback."""
        if key.models is None:
            return True
        for entry in self.service.settings.router_settings.get("fallbacks") or []:
            if model in entry and not all(key.allows(t) for t in entry[model]):
                return False
        return True

    async def generate(self, key: ApiKey, prepared: PreparedCall) -> GenerationResult:
        call = self.service.generate(**prepared.kwargs)
        if self.own_loop:
            result = await asyncio.wrap_future(self.service.submit(call))
        else:
            result = await call
        self.keyring.note_spend(key, result.cost)
        return result

    async def generate_image(self, key: ApiKey, *, service_type: str, model: str | None,
                             **request: Any) -> GenerationResult:
        """``AIService.generate_image`` for the key: its models, its rate limit, its user."""
        from core.images import image_models

        if model is not None:
            self.service.catalog.get(model)  # 404 for an unknown model
        model = model or next(iter(image_models(self.service.settings)), None)
        if model is not None and not key.allows(model):
            raise ApiError(403, f"API key {key.prefix} may not use {model}; it may use only "
                                f"{', '.join(key.models)}.", code="model_not_allowed")
        if key.rate_limit_per_minute:
            self.limiter.acquire(f"key:{key.prefix}", key.rate_limit_per_minute)
        call = self.service.generate_image(
            model=model, user_id=key.user_id, service_type=service_type, key_id=key.id,
            metadata={"via": "api", "key_prefix": key.prefix}, **request)
        result = await (asyncio.wrap_future(self.service.submit(call)) if self.own_loop else call)
        self.keyring.note_spend(key, result.cost)
        return result

    async def stream(self, key: ApiKey, prepared: PreparedCall) -> AsyncIterator[str | GenerationResult]:
        """Deltas, then the result. Closing this iterator early (the client went away)
        closes the service's stream, which records the call as abandoned."""
        kwargs = dict(prepared.kwargs)
        prompt = kwargs.pop("prompt")
        source = self.service.stream(prompt, **kwargs)
        items = _across_loops(self.service, source) if self.own_loop else source
        try:
            async for item in items:
                if isinstance(item, GenerationResult):
                    self.keyring.note_spend(key, item.cost)
                yield item
        finally:
            await items.aclose()


async def _across_loops(service, source: AsyncIterator) -> AsyncIterator:
    """Drive ``source`` on the service's loop thread, handing items to this loop."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    done = object()

    async def pump():
        try:
            async for item in source:
                loop.call_soon_threadsafe(queue.put_nowait, (item, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, which re-raises it
            loop.call_soon_threadsafe(queue.put_nowait, (done, exc))
            return
        loop.call_soon_threadsafe(queue.put_nowait, (done, None))

    future = service.submit(pump())
    try:
        while True:
            item, error = await queue.get()
            if item is done:
                if error is not None and not isinstance(error, asyncio.CancelledError):
                    raise error
                return
            yield item
    finally:
        if not future.done():
            future.cancel()  # cancels pump(): the service's stream is closed and recorded
