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
import threading
import uuid
from typing import Any, AsyncIterator, Iterator, Mapping

from core.attachments import check_attachments, redacted
from core.images import check_image_request
from core.llm.images import generate_images
from core.catalog import Catalog, ModelEntry
from core.config import Settings, load_settings
from core.errors import AuthError, BadRequestError, ParleyError, StreamAbandonedError
from core.guards import CallLimiter, RedisLimiter, UserLimiter, guard_for
from core.llm.gateway import Gateway, count_tokens, warm_up
from core.preparation import Call, check_names, from_template, prepare, structured_options
from core.recording import open_recorder
from core.recording.records import build_records
from core.results import GenerationResult
from core.routing import Choice, choose_model
from core.routing.preferences import PreferenceBook
from core.routing.window import CountCache
from core.structured import judge
from core.validation import ColumnConfig, check_call, check_columns, check_metadata

__all__ = ["AIService"]

log = logging.getLogger("parley")
_COUNTS = CountCache(lambda entry, messages: count_tokens(entry.provider_model, messages))


class AIService:
    """Generate, stream and compare across the configured models, recording every attempt."""

    def __init__(self, settings: Settings, *, recorder=None, preferences=None, budget=None):
        self.settings = settings
        self.budget = budget  # a core.guards.BudgetGuard, or None: no hard budgets
        self.catalog = Catalog(settings)
        self.recorder = recorder
        self.preferences = preferences  # callable user_id -> {service_type|None: model}
        self._gateway = None
        self._loop: LoopThread | None = None
        self.limiter = CallLimiter(settings.rate_limit_per_minute)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, config: str | None = None,
                 record: bool = True) -> "AIService":
        """Settings from ``parley.yaml``/environment; recording to ``PARLEY_DATABASE_URL``."""
        settings = load_settings(config, env)
        recorder = preferences = None
        if record:
            recorder = open_recorder(settings, env)
            preferences = PreferenceBook(settings, env)
        service = cls(settings, recorder=recorder, preferences=preferences,
                      budget=guard_for(settings, env) if record else None)
        if settings.redis_url:  # one per-user limit for every worker and replica
            service.limiter = UserLimiter(settings.rate_limit_per_minute,
                                          RedisLimiter(settings.redis_url))
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
        ``reason``); ``model="auto"`` needs the ``prompt``. Precedence: core/routing.py."""
        return choose_model(self.settings, self.catalog, user_id=user_id, service_type=service_type,
                            model=model, provider=provider, complexity=complexity, prompt=prompt,
                            preferences=self.preferences)

    async def generate(self, prompt: str | None = None, user_id: str = "anonymous",
                       service_type: str = "default", model: str | None = None,
                       system_prompt: str | None = None, metadata: dict | None = None, *,
                       provider: str | None = None, temperature: float | None = None,
                       max_tokens: int | None = None, complexity: str | None = None,
                       history: list[dict] | None = None, fallbacks: bool = True,
                       trim_history: bool = False, attachments: list | None = None,
                       tools: list[dict] | None = None, tool_choice: Any = None,
                       response_format: dict | None = None, reasoning_effort: str | None = None,
                       template: str | None = None, variables: dict | None = None,
                       key_id: str | None = None, call_id: str | None = None) -> GenerationResult:
        """One answer. Raises ``ParleyError`` (one actionable sentence) when none can be had;
        every argument is checked before anything is sent (``core/preparation.py``).

        ``trim_history`` leaves the oldest turns of ``history`` out until the request fits the
        model's context window (a chat), instead of refusing it. ``attachments``: images and
        PDFs (core/attachments.py); ``tools``, ``tool_choice``, ``response_format``,
        ``reasoning_effort``: core/structured.py. The result carries the tool calls (arguments
        checked against their schemas), whether the answer matches the schema, the reasoning
        text and the token classes. ``prompt=None`` continues a ``history`` that ends with tool
        results. ``template="name"`` (or ``"name@3"``) renders a stored prompt template
        (``core.prompts``) with ``variables`` instead of taking ``prompt``; the call's metadata
        names the version. ``key_id`` names the API key the call came through (recorded);
        ``call_id`` is the id to record it under (default: a new UUID)."""
        call = self._call(locals())
        prepared = await prepare(self, call)
        request, choice, hold = prepared.request, prepared.choice, prepared.hold
        metadata = _with_route(call.metadata, choice)
        cost = None
        try:
            outcome = await self.gateway.complete(request)
            cost = outcome.result.cost
        except ParleyError as err:
            self._record_failure(request, err, call.user_id, call.service_type, metadata)
            raise
        finally:
            if hold is not None:
                self.budget.settle(hold, cost)
        _stamp(outcome.result, choice)
        judge(outcome.result, call.structured)
        self._record(request, outcome, call.user_id, call.service_type, metadata)
        return outcome.result

    async def stream(self, prompt: str | None = None, user_id: str = "anonymous",
                     service_type: str = "default", model: str | None = None,
                     system_prompt: str | None = None, metadata: dict | None = None, *,
                     provider: str | None = None, temperature: float | None = None,
                     max_tokens: int | None = None, complexity: str | None = None,
                     history: list[dict] | None = None, fallbacks: bool = True,
                     trim_history: bool = False, attachments: list | None = None,
                     tools: list[dict] | None = None, tool_choice: Any = None,
                     response_format: dict | None = None, reasoning_effort: str | None = None,
                     template: str | None = None, variables: dict | None = None,
                     key_id: str | None = None,
                     call_id: str | None = None) -> AsyncIterator[str | GenerationResult]:
        """Yield text deltas as they arrive (each a ``Delta``: a ``str`` whose ``served_by``
        names the model answering), then the ``GenerationResult``; takes exactly
        ``generate``'s arguments. Closing the iterator early records the call as abandoned,
        with its partial answer."""
        call = self._call(locals())
        prepared = await prepare(self, call)
        request, choice, hold = prepared.request, prepared.choice, prepared.hold
        user_id, service_type = call.user_id, call.service_type
        metadata = _with_route(call.metadata, choice)
        parts: list[str] = []
        finished, cost = False, None
        try:
            async for item in self.gateway.stream(request):
                if isinstance(item, str):
                    parts.append(item)
                    yield item
                else:
                    finished, cost = True, item.result.cost
                    _stamp(item.result, choice)
                    judge(item.result, call.structured)
                    self._record(request, item, user_id, service_type, metadata)
                    yield item.result
        except ParleyError as err:
            finished = True
            self._record_failure(request, err, user_id, service_type, metadata, "".join(parts))
            raise
        finally:
            if not finished:
                self._record_abandoned(request, user_id, service_type, metadata, "".join(parts))
            if hold is not None:  # an abandoned stream may have cost up to its estimate
                self.budget.settle(hold, cost if finished else hold.estimate)

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
                    prompt, user_id, service_type, model=column.model,
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
        core/images.py), priced per image by LiteLLM and recorded with ``kind="image"``.
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
        except ParleyError as err:
            self._record_failure(request, err, user_id, service_type, metadata)
            raise
        self._record(request, outcome, user_id, service_type, metadata)
        return outcome.result

    def generate_image_sync(self, prompt: str, **kwargs: Any) -> GenerationResult:
        """``generate_image`` for scripts and Streamlit."""
        return self._loop_thread().run(self.generate_image(prompt, **kwargs))

    def generate_sync(self, prompt: str | None = None, **kwargs: Any) -> GenerationResult:
        """``generate`` for scripts and Streamlit: runs on the service's own event loop thread.
        A misspelt argument is a ``BadRequestError`` naming the nearest one."""
        check_names(self.generate, kwargs)
        return self._loop_thread().run(self.generate(prompt, **kwargs))

    def stream_sync(self, prompt: str | None = None, **kwargs: Any) -> Iterator[str | GenerationResult]:
        """``stream`` for synchronous callers; deltas arrive as the provider sends them."""
        check_names(self.stream, kwargs)
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
        """The store preferences, votes and saved comparisons live in (None without one)."""
        return getattr(self.preferences, "store", None)

    def close(self) -> None:
        """Ship what is recorded and stop the background loop."""
        if self.recorder is not None:
            self.recorder.close()
        if hasattr(self.preferences, "close"):
            self.preferences.close()
        if self.budget is not None:
            self.budget.close()
        if self._loop is not None:
            self._loop.stop()
        if self._gateway is not None:
            self._gateway.close()

    # -- internals ----------------------------------------------------------------------

    def _call(self, arguments: dict) -> Call:
        """A ``Call`` from ``generate``'s or ``stream``'s arguments, its template rendered and
        its structured options checked."""
        args = {k: v for k, v in arguments.items() if k != "self"}
        if args.pop("template") is not None:
            (args["prompt"], args["system_prompt"], args["service_type"],
             args["metadata"]) = from_template(
                self.store, args["prompt"], arguments["template"], args["variables"],
                args["system_prompt"], args["service_type"], args["metadata"])
        args.pop("variables")
        args["structured"] = structured_options(args.pop("tools"), args.pop("tool_choice"),
                                                args.pop("response_format"),
                                                args.pop("reasoning_effort"))
        return Call(**args)

    def _loop_thread(self) -> LoopThread:
        if self._loop is None:
            self._loop = LoopThread()
        return self._loop

    def _record(self, request, outcome, user_id, service_type, metadata) -> None:
        if self.recorder is not None:
            for record in build_records(redacted(request), outcome.result, outcome.attempts,
                                        self.catalog, user_id, service_type, metadata):
                self.recorder.record(record)

    def _record_failure(self, request, error, user_id, service_type, metadata, partial="",
                        priced=None) -> None:
        if self.recorder is None:
            return
        failed = GenerationResult(model=request.model, error=str(error), error_kind=error.kind,
                                  content=partial, call_id=request.call_id,
                                  kind=getattr(request, "kind", "chat"))
        attempts = getattr(error, "attempts", None) or []
        for record in build_records(redacted(request), failed, attempts, self.catalog, user_id,
                                    service_type, metadata, priced):
            self.recorder.record(record)

    def _record_abandoned(self, request, user_id, service_type, metadata, partial) -> None:
        """The reader went away: recorded as abandoned, with the text sent so far and an
        estimate of the tokens (and cost) the provider billed for it."""
        error = StreamAbandonedError("The reader stopped the stream before it finished.")
        try:
            priced = self.gateway.price_partial(request, partial)
        except Exception as exc:  # noqa: BLE001 - an estimate must never lose the record
            log.warning("could not estimate an abandoned stream's tokens: %s", type(exc).__name__)
            priced = None
        self._record_failure(request, error, user_id, service_type, metadata, partial, priced)


def _stamp(result: GenerationResult, choice: Choice) -> None:
    """Say on the result what chose its model, and why."""
    result.source, result.route, result.route_reason = choice.source, choice.route, choice.reason


def _with_route(metadata: dict | None, choice: Choice) -> dict:
    """The call's metadata plus its routing, for the call log (``request_logs.metadata``)."""
    routed = {"route_source": choice.source, "route_reason": choice.reason}
    if choice.route:
        routed["route"] = choice.route
    return {**(metadata or {}), **routed}


class LoopThread:
    """An event loop on a daemon thread, so synchronous callers share one loop (and its
    HTTP connection pools) instead of starting a new loop per call."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="parley-loop", daemon=True)
        self.thread.start()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def iterate(self, agen: AsyncIterator) -> Iterator:
        """Drive an async iterator from synchronous code, one item at a time."""
        try:
            while True:
                try:
                    yield self.run(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self.run(agen.aclose())

    def stop(self) -> None:
        """Cancel what still runs on the loop (LiteLLM leaves a logging worker there), then
        stop it; a task left pending would be destroyed with a warning at exit."""
        if self.thread.is_alive():
            self.run(_cancel_other_tasks())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


async def _cancel_other_tasks() -> None:
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
