"""``AIService``: the API backend code calls, without caring which provider answers.

    svc = AIService.from_env()
    r = await svc.generate("Summarise...", user_id="u1", service_type="xray")

litellm is imported on the first call, not at construction, so a page can list models
before the gateway exists. Every attempt is handed to the recorder (when one is attached)
after the call; recording never fails or delays the answer.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import os
import uuid
from typing import Any, AsyncIterator, Iterator, Mapping

from core.attachments import check_attachments, redacted
from core.embedding_requests import check_embedding_request
from core.image_requests import check_image_request
from core.llm.embeddings import embed
from core.llm.images import generate_images
from core.catalog import Catalog, ModelEntry
from core.config import Settings, load_settings
from core.errors import AuthError, BadRequestError, ParleyError, StreamAbandonedError
from core.key_budgets import KeyBudgetGuard
from core.guards import CallLimiter, LocalLimiter, guard_for, limiter_for, user_limiter
from core.llm.clients import close_loop_clients
from core.llm.gateway import Gateway, count_tokens, warm_up
from core.loop_thread import LoopThread
from core.preparation import Call, Plan, check_names, prepare, settle, takes_a_call
from core.recording import open_recorder
from core.recording.records import build_records
from core.price_book import PriceBook
from core.results import GenerationResult, Thought
from core.routing import Choice, choose_model
from core.routing.preferences import PreferenceBook
from core.routing.window import CountCache
from core.store import open_store
from core.store.shared import SharedStore
from core.structured import judge_bounded
from core.validation import ColumnConfig, check_call, check_columns, check_metadata

__all__ = ["AIService"]

log = logging.getLogger("parley")
_COUNTS = CountCache(lambda entry, messages: count_tokens(entry.provider_model, messages))


class AIService:
    """Generate, stream and compare across the configured models, recording every attempt."""

    def __init__(self, settings: Settings, *, recorder=None, preferences=None, budget=None,
                 store: SharedStore | None = None):
        """``store``: the one store the recorder, preferences and budget read (the service
        closes it last); None: no store (nothing recorded, no preferences)."""
        self.settings = settings
        self.budget = budget  # a core.guards.BudgetGuard, or None: no hard budgets
        self.key_budget = KeyBudgetGuard()  # API keys' budgets, held in flight (in this process)
        self.catalog = Catalog(settings)
        self.recorder = recorder
        self.preferences = preferences  # callable user_id -> {service_type|None: model}
        self.shared_store = store
        # The dated price book: each answered call records the entry it was priced with.
        self.prices = PriceBook(store, self.catalog) if store is not None else None
        self._gateway = None
        self._loop: LoopThread | None = None
        self.limiter = CallLimiter(settings.rate_limit_per_minute)  # per user
        self.key_limiter = LocalLimiter()  # per API key (its own rate limit)
        # Who the calls are recorded as coming from when their metadata names no client (an
        # API route always names one): the app and the CLI set their own (core.assembly).
        self.client = "parley-python"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, config: str | None = None,
                 record: bool = True, team: bool = False,
                 store: SharedStore | None = None) -> "AIService":
        """Settings from ``parley.yaml``/environment; recording to ``PARLEY_DATABASE_URL``
        (``from_settings``)."""
        env = os.environ if env is None else env
        return cls.from_settings(load_settings(config, env), env, record=record, team=team,
                                 store=store)

    @classmethod
    def from_settings(cls, settings: Settings, env: Mapping[str, str] | None = None, *,
                      record: bool = True, team: bool = False,
                      store: SharedStore | None = None) -> "AIService":
        """The service for ``settings``. The store (``store``, else the configured one) is
        opened once, on first use, and shared by the recorder, the preferences and the budget
        guard. ``team``: several users sign in, so each is held to the team rate limit.
        Limits are shared by every worker through Redis when it is configured."""
        env = os.environ if env is None else env
        if record and store is None:
            store = SharedStore(lambda: open_store(settings.database_url,
                                                   data_dir=settings.data_dir, env=env))
        service = cls(settings, store=store if record else None,
                      recorder=open_recorder(settings, env, store_opener=store) if record else None,
                      preferences=PreferenceBook(settings, env, store_opener=store) if record else None,
                      budget=guard_for(settings, env, store_opener=store) if record else None)
        service.limiter = user_limiter(settings, team)
        service.key_limiter = limiter_for(settings.redis_url)
        service.key_budget = KeyBudgetGuard(settings.redis_url)  # shared by every worker
        return service

    @property
    def gateway(self):
        if self._gateway is None:
            self._gateway = Gateway(self.settings, self.catalog)
        return self._gateway

    def warm(self, models: list[str] = ()) -> None:
        """Get ready, in the background, to answer ``models`` at the same time (a compare
        page's columns), so the first send waits for no load: litellm is imported (once per
        process), and the bundled model loads one engine per column naming it. Returns at
        once; the app calls it after a page has painted."""
        known = set(self.catalog.names())
        warm_up([self.catalog.get(name).provider_model for name in models if name in known])

    def choose(self, *, user_id: str | None = None, service_type: str | None = None,
               model: str | None = None, provider: str | None = None,
               complexity: str | None = None, prompt: str | None = None) -> Choice:
        """Which model a call with these arguments would use, and why (``source``, ``route``,
        ``reason``); ``model="auto"`` needs the ``prompt``. Precedence: core/routing/__init__.py."""
        return choose_model(self.settings, self.catalog, user_id=user_id, service_type=service_type,
                            model=model, provider=provider, complexity=complexity, prompt=prompt,
                            preferences=self.preferences)

    async def prepare(self, call: Call) -> Plan:
        """Decide ``call`` once: checked, its model chosen, its key applied to every model that
        may answer, its budgets reserved (``core.preparation``). Raises ``ParleyError`` and then
        holds nothing; nothing is sent until the plan is executed."""
        return await prepare(self, call)

    async def execute(self, plan: Plan) -> GenerationResult:
        """One answer for ``plan``: sent, judged against its schemas, recorded with every
        attempt. Raises ``ParleyError`` (one actionable sentence) when none can be had."""
        cost = None
        try:
            outcome = await self.gateway.complete(plan.request)
            cost = self._priced(outcome.result)
        except ParleyError as err:
            self._record_failure(plan, err)
            raise
        finally:
            settle(plan.holds, cost)
        _stamp(outcome.result, plan.choice)
        await _judged(outcome.result, plan.structured)
        self._record(plan, outcome)
        return outcome.result

    async def execute_stream(self, plan: Plan) -> AsyncIterator[str | GenerationResult]:
        """Text deltas for ``plan`` as they arrive (each a ``Delta``: a ``str`` whose
        ``served_by`` names the model answering), then the ``GenerationResult``. Closing the
        iterator early records the call as abandoned, with its partial answer."""
        parts: list[str] = []
        finished, cost = False, None
        try:
            async for item in self.gateway.stream(plan.request):
                if isinstance(item, str):
                    if not isinstance(item, Thought):  # reasoning is not the answer's text
                        parts.append(item)
                    yield item
                else:
                    finished, cost = True, self._priced(item.result)
                    _stamp(item.result, plan.choice)
                    await _judged(item.result, plan.structured)
                    self._record(plan, item)
                    yield item.result
        except ParleyError as err:
            finished = True
            self._record_failure(plan, err, "".join(parts))
            raise
        finally:
            if not finished:
                self._record_abandoned(plan, "".join(parts))
            # an abandoned stream may have cost up to its estimate
            settle(plan.holds, cost if finished else plan.estimate)

    @takes_a_call
    async def generate(self, call: Call) -> GenerationResult:
        """One answer; takes ``Call``'s fields (the seed API: ``prompt, user_id, service_type,
        model, system_prompt, metadata``, then keywords). Raises ``ParleyError`` (one actionable
        sentence) when none can be had; every argument is checked before anything is sent.
        The result carries the tool calls (arguments checked against their schemas), whether
        the answer matches the schema, the reasoning text and the token classes."""
        return await self.execute(await self.prepare(call))

    @takes_a_call
    async def stream(self, call: Call) -> AsyncIterator[str | GenerationResult]:
        """``generate``'s arguments; yields text deltas, then the ``GenerationResult``
        (``execute_stream``)."""
        plan = await self.prepare(call)
        source = self.execute_stream(plan)
        try:
            async for item in source:
                yield item
        finally:
            await source.aclose()

    async def compare(self, prompt: str, models: list, user_id: str = "anonymous",
                      service_type: str = "playground", **options: Any) -> list[GenerationResult]:
        """The same prompt to each model concurrently; a failed model's result carries ``.error``.

        ``models`` holds model names or column configurations (``core.validation.ColumnConfig``
        or dicts of model, temperature, max_tokens, system_prompt, tools, tool_choice,
        response_format, reasoning_effort); the same model may appear twice with different
        settings. ``options`` (temperature, max_tokens, system_prompt) fill what a column leaves
        unset; ``fallbacks`` (default False), ``metadata`` and ``attachments`` apply to every
        column (a column whose model cannot read the attachments says so in its ``.error``)."""
        if not models:
            raise BadRequestError("Name at least one model to compare.")
        fallbacks, metadata = options.pop("fallbacks", False), options.pop("metadata", None)
        check_metadata(metadata)
        attachments = check_attachments(options.pop("attachments", None))
        columns = check_columns(models, self.catalog, **options)
        check_call(prompt, None, None, user_id)

        async def one(index: int, column: ColumnConfig) -> GenerationResult:
            try:
                return await self.generate(
                    prompt, user_id, service_type, column.model,
                    system_prompt=column.system_prompt, temperature=column.temperature,
                    max_tokens=column.max_tokens, fallbacks=fallbacks,
                    metadata={**(metadata or {}), "column": index}, attachments=attachments,
                    **column.structured())
            except ParleyError as err:
                return GenerationResult.failed(column.model, err)
        return list(await asyncio.gather(*(one(i, c) for i, c in enumerate(columns))))

    async def generate_image(self, prompt: str, model: str | None = None, *, size: str | None = None,
                             n: int = 1, quality: str | None = None, user_id: str = "anonymous",
                             service_type: str = "images", metadata: dict | None = None,
                             key_id: str | None = None) -> GenerationResult:
        """``n`` images from ``prompt`` by an image model (None: the first configured one; see
        core/image_requests.py), priced per image by LiteLLM and recorded with ``kind="image"``.
        The result's ``images`` hold the pictures; ``cost`` is None when the price is unknown."""
        request = dataclasses.replace(check_image_request(self.settings, model, prompt, n, size,
                                                          quality, str(uuid.uuid4())), key_id=key_id)
        check_call(prompt, None, None, user_id)
        entry = self.catalog.get(request.model)
        if not entry.available:
            raise AuthError(f"{request.model} cannot be used: {'; '.join(entry.missing)}.", model=request.model)
        if self.budget is not None:
            self.budget.check(user_id)
        self.limiter.acquire(user_id)
        metadata = {**(metadata or {}), "images": request.n, "size": request.size, "quality": request.quality}
        try:
            outcome = await generate_images(self.gateway, request)
            self._priced(outcome.result)
        except ParleyError as err:
            self._record_failed(request, err, user_id, service_type, metadata)
            raise
        self._record_outcome(request, outcome, user_id, service_type, metadata)
        return outcome.result

    async def embed(self, inputs: str | list[str], model: str | None = None, *,
                    dimensions: int | None = None, user_id: str = "anonymous",
                    service_type: str = "embeddings", metadata: dict | None = None,
                    key_id: str | None = None) -> GenerationResult:
        """One vector per text of ``inputs`` from an embedding model (None: the first configured
        one; core/embedding_requests.py), priced by LiteLLM and recorded with ``kind="embedding"``.
        The result's ``embeddings`` hold the vectors; ``cost`` is None when the price is unknown."""
        request = dataclasses.replace(check_embedding_request(
            self.settings, model, inputs, dimensions, str(uuid.uuid4())), key_id=key_id)
        check_call("embedding", None, None, user_id)
        if self.budget is not None:
            self.budget.check(user_id)
        self.limiter.acquire(user_id)
        metadata = {**(metadata or {}), "inputs": len(request.inputs)}
        try:
            outcome = await embed(self.gateway, request)
        except ParleyError as err:
            self._record_failed(request, err, user_id, service_type, metadata)
            raise
        self._record_outcome(request, outcome, user_id, service_type, metadata)
        return outcome.result

    def generate_image_sync(self, prompt: str, **kwargs: Any) -> GenerationResult:
        """``generate_image`` for scripts and Streamlit."""
        return self._loop_thread().run(self.generate_image(prompt, **kwargs))

    def generate_sync(self, prompt: str | None = None, **kwargs: Any) -> GenerationResult:
        """``generate`` for scripts and Streamlit: runs on the service's own event loop thread.
        A misspelt argument is a ``BadRequestError`` naming the nearest one."""
        check_names(kwargs)
        return self._loop_thread().run(self.generate(prompt, **kwargs))

    def stream_sync(self, prompt: str | None = None, **kwargs: Any) -> Iterator[str | GenerationResult]:
        """``stream`` for synchronous callers; deltas arrive as the provider sends them."""
        check_names(kwargs)
        return self._loop_thread().iterate(self.stream(prompt, **kwargs))

    def compare_sync(self, prompt: str, models: list[str], **kwargs: Any) -> list[GenerationResult]:
        return self._loop_thread().run(self.compare(prompt, models, **kwargs))

    def submit(self, coro) -> "concurrent.futures.Future":
        """Run ``coro`` on the service's own event loop thread; returns at once with its Future
        (``core.playground.fanout.FanOut`` streams every column this way)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop_thread().loop)

    @staticmethod
    def count_tokens(entry: ModelEntry, messages: list[dict]) -> int:
        """Tokens ``messages`` hold for ``entry``'s model, by its own tokenizer where LiteLLM
        has one (loads litellm: call it once there is something to count). Recent counts are
        remembered, so a page re-estimating the same prompt counts it once."""
        return _COUNTS(entry, messages)

    @property
    def store(self):
        """The one store preferences, votes, saved comparisons and templates live in (opened
        on first use; None when the service records nothing)."""
        return self.shared_store() if self.shared_store is not None else None

    def close(self, ship_seconds: float = 5.0) -> None:
        """Ship what is recorded (for at most ``ship_seconds``: what is left stays in the
        local spool for the next start), close the HTTP clients LiteLLM made on the background
        loop and stop it, then close the store."""
        if self.recorder is not None:
            self.recorder.close(timeout=ship_seconds)
        if isinstance(self.preferences, PreferenceBook):
            self.preferences.close()
        if self.budget is not None:
            self.budget.close()
        if self._gateway is not None:
            self._gateway.close()  # its connections on the service's loop, while that runs
        loop, self._loop = self._loop, None  # a second close (a cache letting go) finds none
        if loop is not None:
            try:
                loop.run(close_loop_clients())
            finally:
                loop.stop()
        if self.shared_store is not None:
            self.shared_store.close()

    # -- internals ----------------------------------------------------------------------

    def _loop_thread(self) -> LoopThread:
        if self._loop is None:
            self._loop = LoopThread()
            self._loop.run(self.gateway.pool())  # this loop lives as long as the service
        return self._loop

    def _priced(self, result: GenerationResult) -> float | None:
        """Stamp ``result`` with the price-book entry in force (core/price_book.py), whose
        rates decide its cost when set by hand; returns that cost, the one budgets count and
        the record keeps."""
        if self.prices is not None:
            self.prices.apply(result)
        return result.cost

    def _record(self, plan: Plan, outcome) -> None:
        self._record_outcome(plan.request, outcome, plan.call.user_id, plan.call.service_type,
                             plan.metadata)

    def _record_outcome(self, request, outcome, user_id, service_type, metadata) -> None:
        if self.recorder is not None:
            for record in build_records(redacted(request), outcome.result, outcome.attempts,
                                        self.catalog, user_id, service_type,
                                        self._attributed(metadata)):
                self.recorder.record(record)

    def _attributed(self, metadata: dict | None) -> dict:
        """``metadata`` with the calling client (``request_logs.client``): its own, else this
        service's (``parley-app``, ``parley-cli``, ``parley-python``)."""
        return {"client": self.client, **(metadata or {})}

    def _record_failure(self, plan: Plan, error: ParleyError, partial: str = "",
                        priced=None) -> None:
        self._record_failed(plan.request, error, plan.call.user_id, plan.call.service_type,
                            plan.metadata, partial, priced)

    def _record_failed(self, request, error, user_id, service_type, metadata, partial="",
                       priced=None) -> None:
        if self.recorder is None:
            return
        failed = GenerationResult(model=request.model, error=str(error), error_kind=error.kind,
                                  content=partial, call_id=request.call_id,
                                  kind=getattr(request, "kind", "chat"))
        attempts = getattr(error, "attempts", None) or []
        for record in build_records(redacted(request), failed, attempts, self.catalog, user_id,
                                    service_type, self._attributed(metadata), priced):
            self.recorder.record(record)

    def _record_abandoned(self, plan: Plan, partial: str) -> None:
        """The reader went away: recorded as abandoned, with the text sent so far and an
        estimate of the tokens (and cost) the provider billed for it."""
        error = StreamAbandonedError("The reader stopped the stream before it finished.")
        try:
            priced = self.gateway.price_partial(plan.request, partial)
        except Exception as exc:  # noqa: BLE001 - an estimate must never lose the record
            log.warning("could not estimate an abandoned stream's tokens: %s", type(exc).__name__)
            priced = None
        self._record_failure(plan, error, partial, priced)


async def _judged(result: GenerationResult, structured) -> None:
    """Judge an answer against its schemas (``judge_bounded``). An unexpected failure there is
    logged and leaves the answer unjudged: an answered call is always recorded."""
    try:
        await judge_bounded(result, structured)
    except Exception as exc:  # noqa: BLE001 - the answer was given and paid for: record it
        log.warning("could not check an answer against its schemas: %s", type(exc).__name__)


def _stamp(result: GenerationResult, choice: Choice) -> None:
    """Say on the result what chose its model, and why."""
    result.source, result.route, result.route_reason = choice.source, choice.route, choice.reason
