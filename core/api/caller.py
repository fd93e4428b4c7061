"""How an API request becomes a planned call: the ``Call`` a route states for a key, the
``Plan`` the service decides for it (once: the key binds the model, every fallback, the
service type, the budget and the rate limit), and the answer or the stream (on the service's
own loop when the routes are hosted by another server's loop, as inside Streamlit).

    plan = await caller.plan(key, prompt=..., service_type=..., model=..., ...)
    result = await caller.generate(key, plan)       # or caller.stream(key, plan)
"""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Mapping

from core.api.observability import TRACEPARENT
from core.api.clients import client_of
from core.errors import NotAllowedError
from core.keys import ApiKey, KeyRing
from core.preparation import Call, Plan
from core.results import GenerationResult

__all__ = ["Caller", "client_metadata"]

SERVICE_HEADER = "x-parley-service"


class Caller:
    """Runs calls for the routes: ``service`` an ``AIService``, ``keyring`` its keys."""

    def __init__(self, service, keyring: KeyRing, *, own_loop: bool = False):
        self.service, self.keyring, self.own_loop = service, keyring, own_loop

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
            raise NotAllowedError(f"API key {key.prefix} is for service type "
                                  f"{key.service_type!r}, not {named!r}.", code="service_not_allowed")
        return key.service_type or named or default

    async def plan(self, key: ApiKey, headers: Mapping[str, str] | None = None,
                   **fields: Any) -> Plan:
        """The service's plan for a call with ``fields`` (``Call``'s) made through ``key``,
        attributed to the key's user and to the client the request's ``headers`` name
        (recorded as ``request_logs.client``): raises ``ParleyError`` (403 for what the key
        does not allow, 429 for its budget or rate limit) and then holds nothing."""
        metadata = {"via": "api", **client_metadata(headers or {}),
                    **(fields.pop("metadata", None) or {})}
        if TRACEPARENT.get():  # the caller's trace: the call's span is its child
            metadata["traceparent"] = TRACEPARENT.get()
        return await self.service.prepare(Call(user_id=key.user_id, key=key, metadata=metadata,
                                               **fields))

    async def generate(self, key: ApiKey, plan: Plan) -> GenerationResult:
        call = self.service.execute(plan)
        result = await (asyncio.wrap_future(self.service.submit(call)) if self.own_loop else call)
        self._note_spend(key, result.cost, planned=True)
        return result

    def _note_spend(self, key: ApiKey, cost: float | None, *, planned: bool) -> None:
        """Count a call's cost on the cached key. A planned call's cost was already added to
        the shared spend when its key-budget hold was settled (``core.key_budgets``)."""
        counted = planned and key.monthly_budget is not None and self.service.key_budget is not None
        self.keyring.note_spend(key, cost, counted=counted)

    async def generate_image(self, key: ApiKey, *, service_type: str, model: str | None,
                             headers: Mapping[str, str] | None = None,
                             **request: Any) -> GenerationResult:
        """``AIService.generate_image`` for the key (``_unplanned``)."""
        from core.image_requests import image_models

        return await self._unplanned(key, self.service.generate_image, image_models(
            self.service.settings), model, service_type, headers, request)

    async def embed(self, key: ApiKey, *, service_type: str, model: str | None,
                    headers: Mapping[str, str] | None = None, **request: Any) -> GenerationResult:
        """``AIService.embed`` for the key (``_unplanned``)."""
        from core.embedding_requests import embedding_models

        return await self._unplanned(key, self.service.embed, embedding_models(
            self.service.settings), model, service_type, headers, request)

    async def _unplanned(self, key: ApiKey, method, models, model: str | None, service_type: str,
                         headers: Mapping[str, str] | None, request: dict) -> GenerationResult:
        """A call that gives no answer to plan (images, embeddings) made through ``key``: its
        model (``model``, else the first of ``models``) checked against the key's list (404
        unknown, 403 not allowed), a slot of its rate limit, and its budget held while the call
        runs. Its most cost is not known before, so a call holds the rest of the budget: on a
        budgeted key such calls go one at a time, and at most one goes over."""
        if model is not None:
            self.service.catalog.get(model)
        model = model or next(iter(models), None)
        if model is not None and not key.allows(model):
            raise NotAllowedError(f"API key {key.prefix} may not use {model}; it may use only "
                                  f"{', '.join(key.models)}.", model=model)
        if key.rate_limit_per_minute:
            self.service.key_limiter.acquire(f"key:{key.prefix}", key.rate_limit_per_minute)
        guard = self.service.key_budget
        hold = None if guard is None or key.monthly_budget is None else guard.reserve(
            key, max(0.0, key.monthly_budget - key.month_spend))
        cost = None
        try:
            call = method(model=model, user_id=key.user_id, service_type=service_type,
                          key_id=key.id, metadata={"via": "api", "key_prefix": key.prefix,
                                                   **client_metadata(headers or {})}, **request)
            result = await (asyncio.wrap_future(self.service.submit(call)) if self.own_loop else call)
            cost = result.cost
        finally:
            if hold is not None:
                guard.settle(hold, cost)
        self._note_spend(key, cost, planned=hold is not None)
        return result

    async def stream(self, key: ApiKey, plan: Plan) -> AsyncIterator[str | GenerationResult]:
        """Deltas, then the result. Closing this iterator early (the client went away)
        closes the service's stream, which records the call as abandoned."""
        source = self.service.execute_stream(plan)
        items = _across_loops(self.service, source) if self.own_loop else source
        try:
            async for item in items:
                if isinstance(item, GenerationResult):
                    self._note_spend(key, item.cost, planned=True)
                yield item
        finally:
            await items.aclose()


def client_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    """``{"client": name, "client_version": version}`` for the request's client."""
    name, version = client_of(headers)
    return {"client": name, **({"client_version": version} if version else {})}


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
