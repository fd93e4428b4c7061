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
import functools
import difflib
import inspect
import logging
import threading
import uuid
from typing import Any, AsyncIterator, Iterator, Mapping

from core.catalog import Catalog, ModelEntry
from core.config import Settings, load_settings
from core.errors import BadRequestError, ParleyError, StreamAbandonedError
from core.guards import CallLimiter, guard_for
from core.llm.gateway import CallRequest, Gateway, count_tokens
from core.pricing import estimate_call
from core.recording import open_recorder
from core.recording.records import build_records
from core.results import GenerationResult
from core.routing import Choice, choose_model, fit_context
from core.routing.window import CountCache, check_request_tokens, fit_history
from core.routing.preferences import PreferenceBook
from core.validation import (ColumnConfig, check_arguments, check_call, check_columns,
                             check_metadata, check_request_size, messages_for)

__all__ = ["AIService"]

log = logging.getLogger("parley")

OFFLOAD_CHARS = 50_000  # requests larger than this are checked and tokenized off the event loop
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
        return cls(settings, recorder=recorder, preferences=preferences,
                   budget=guard_for(settings, env) if record else None)

    @property
    def gateway(self):
        if self._gateway is None:
            self._gateway = Gateway(self.settings, self.catalog)
        return self._gateway

    def choose(self, *, user_id: str | None = None, service_type: str | None = None,
               model: str | None = None, provider: str | None = None,
               complexity: str | None = None, prompt: str | None = None) -> Choice:
        """Which model a call with these arguments would use, and why (``source``, ``route``,
        ``reason``); ``model="auto"`` needs the ``prompt``. Precedence: core/routing.py."""
        return choose_model(self.settings, self.catalog, user_id=user_id, service_type=service_type,
                            model=model, provider=provider, complexity=complexity, prompt=prompt,
                            preferences=self.preferences)

    async def generate(self, prompt: str, user_id: str = "anonymous", service_type: str = "default",
                       model: str | None = None, system_prompt: str | None = None,
                       metadata: dict | None = None, *, provider: str | None = None,
                       temperature: float | None = None, max_tokens: int | None = None,
                       complexity: str | None = None, history: list[dict] | None = None,
                       fallbacks: bool = True, trim_history: bool = False) -> GenerationResult:
        """One answer. Raises ``ParleyError`` (one actionable sentence) when none can be had.
        ``trim_history`` leaves the oldest turns of ``history`` out until the request fits the
        model's context window (a chat), instead of refusing it."""
        request, choice, hold = await self._prepare(
            prompt, user_id, service_type, model, provider, system_prompt, temperature, max_tokens,
            complexity, history, fallbacks, metadata, trim_history)
        metadata = _with_route(metadata, choice)
        cost = None
        try:
            outcome = await self.gateway.complete(request)
            cost = outcome.result.cost
        except ParleyError as err:
            self._record_failure(request, err, user_id, service_type, metadata)
            raise
        finally:
            if hold is not None:
                self.budget.settle(hold, cost)
        _stamp(outcome.result, choice)
        self._record(request, outcome, user_id, service_type, metadata)
        return outcome.result

    async def stream(self, prompt: str, user_id: str = "anonymous", service_type: str = "default",
                     model: str | None = None, system_prompt: str | None = None,
                     metadata: dict | None = None, *, provider: str | None = None,
                     temperature: float | None = None, max_tokens: int | None = None,
                     complexity: str | None = None, history: list[dict] | None = None,
                     fallbacks: bool = True, trim_history: bool = False
                     ) -> AsyncIterator[str | GenerationResult]:
        """Yield text deltas as they arrive, then the ``GenerationResult``; takes exactly
        ``generate``'s arguments. Closing the iterator early records the call as abandoned,
        with its partial answer."""
        request, choice, hold = await self._prepare(
            prompt, user_id, service_type, model, provider, system_prompt, temperature, max_tokens,
            complexity, history, fallbacks, metadata, trim_history)
        metadata = _with_route(metadata, choice)
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
                    self._record(request, item, user_id, service_type, metadata)
                    yield item.result
        except ParleyError as err:
            finished = True
            self._record_failure(request, err, user_id, service_type, metadata, "".join(parts))
            raise
        finally:
            if hold is not None:  # an abandoned stream may have cost up to its estimate
                self.budget.settle(hold, cost if finished else hold.estimate)
            if not finished:
                self._record_abandoned(request, user_id, service_type, metadata, "".join(parts))

    async def compare(self, prompt: str, models: list, user_id: str = "anonymous",
                      service_type: str = "playground", **options: Any) -> list[GenerationResult]:
        """The same prompt to each model concurrently; a failed model's result carries ``.error``.

        ``models`` holds model names or column configurations (``core.validation.ColumnConfig``
        or dicts of model, temperature, max_tokens, system_prompt); the same model may appear
        twice with different settings. ``options`` (temperature, max_tokens, system_prompt)
        fill what a column leaves unset; ``fallbacks`` (default False) and ``metadata`` apply
        to every column."""
        if not models:
            raise BadRequestError("Name at least one model to compare.")
        fallbacks, metadata = options.pop("fallbacks", False), options.pop("metadata", None)
        columns = check_columns(models, self.catalog, **options)
        check_call(prompt, None, None, user_id)
        check_metadata(metadata)

        async def one(index: int, column: ColumnConfig) -> GenerationResult:
            try:
                return await self.generate(
                    prompt, user_id, service_type, model=column.model,
                    system_prompt=column.system_prompt, temperature=column.temperature,
                    max_tokens=column.max_tokens, fallbacks=fallbacks,
                    metadata={**(metadata or {}), "column": index})
            except ParleyError as err:
                return GenerationResult.failed(column.model, err)
        return list(await asyncio.gather(*(one(i, c) for i, c in enumerate(columns))))

    def generate_sync(self, prompt: str, **kwargs: Any) -> GenerationResult:
        """``generate`` for scripts and Streamlit: runs on the service's own event loop thread.
        A misspelt argument is a ``BadRequestError`` naming the nearest one."""
        _check_names(self.generate, kwargs)
        return self._loop_thread().run(self.generate(prompt, **kwargs))

    def stream_sync(self, prompt: str, **kwargs: Any) -> Iterator[str | GenerationResult]:
        """``stream`` for synchronous callers; deltas arrive as the provider sends them."""
        _check_names(self.stream, kwargs)
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

    # -- internals ----------------------------------------------------------------------

    def _loop_thread(self) -> LoopThread:
        if self._loop is None:
            self._loop = LoopThread()
        return self._loop

    async def _prepare(self, prompt, user_id, service_type, model, provider, system_prompt,
                       temperature, max_tokens, complexity, history, fallbacks, metadata,
                       trim_history=False):
        check_call(prompt, temperature, max_tokens, user_id)
        check_arguments(service_type=service_type, model=model, provider=provider,
                        system_prompt=system_prompt, metadata=metadata, history=history,
                        fallbacks=fallbacks, complexity=complexity)
        messages = messages_for(prompt, system_prompt, history)
        check_request_size(messages, self.settings.max_request_bytes)
        plan = functools.partial(self._plan, messages, user_id, service_type, model, provider,
                                 complexity, fallbacks, trim_history, max_tokens)
        # Tokenizing a large request takes long enough to stall every session's streams, so
        # it runs on a worker thread; a small one is checked here (a thread hop costs more).
        if sum(len(m["content"]) for m in messages) > OFFLOAD_CHARS:
            choice, messages, estimate = await asyncio.to_thread(plan)
        else:
            choice, messages, estimate = plan()
        hold = self.budget.reserve(user_id, estimate) if self.budget is not None else None
        try:  # counted once the call is valid; each compare column is a call of its own
            self.limiter.acquire(user_id)
        except ParleyError:
            if hold is not None:
                self.budget.settle(hold, 0.0)
            raise
        request = CallRequest(model=choice.model, call_id=str(uuid.uuid4()), messages=messages,
                              temperature=temperature, max_tokens=max_tokens, fallbacks=fallbacks)
        return request, choice, hold

    def _plan(self, messages, user_id, service_type, model, provider, complexity, fallbacks,
              trim_history, max_tokens) -> tuple[Choice, list[dict], float]:
        """The model, the messages it gets, and the most the call should cost (counted only for
        a user with a hard budget): history trimmed to its window when asked, the context window
        checked (a prompt too long for every candidate is refused before anything is sent), and
        the request's token bound (parley.max_request_tokens)."""
        choice = self.choose(user_id=user_id, service_type=service_type, model=model,
                             provider=provider, complexity=complexity, prompt=messages[-1]["content"])
        if trim_history:
            messages, dropped = fit_history(messages, self.catalog.get(choice.model), self.count_tokens)
            if dropped:
                choice = dataclasses.replace(choice, reason=(
                    f"{choice.reason} The {dropped} oldest messages of the conversation were "
                    f"left out to fit {choice.model}'s context window."))
        choice = fit_context(choice, messages, self.catalog, self.settings, self.count_tokens,
                             fallbacks=fallbacks)
        entry = self.catalog.get(choice.model)
        check_request_tokens(entry, messages, self.settings.max_request_tokens, self.count_tokens)
        estimate = 0.0
        if self.budget is not None and self.budget.applies(user_id):
            estimate = estimate_call(entry, messages, max_tokens, self.count_tokens).cost or 0.0
        return choice, messages, estimate

    def _record(self, request, outcome, user_id, service_type, metadata) -> None:
        if self.recorder is not None:
            for record in build_records(request, outcome.result, outcome.attempts, self.catalog,
                                        user_id, service_type, metadata):
                self.recorder.record(record)

    def _record_failure(self, request, error, user_id, service_type, metadata, partial="") -> None:
        if self.recorder is None:
            return
        failed = GenerationResult(model=request.model, error=str(error), error_kind=error.kind,
                                  content=partial, call_id=request.call_id)
        attempts = getattr(error, "attempts", None) or []
        for record in build_records(request, failed, attempts, self.catalog, user_id,
                                    service_type, metadata):
            self.recorder.record(record)

    def _record_abandoned(self, request, user_id, service_type, metadata, partial) -> None:
        error = StreamAbandonedError("The reader stopped the stream before it finished.")
        self._record_failure(request, error, user_id, service_type, metadata, partial)


def _check_names(method, kwargs: dict) -> None:
    """``BadRequestError`` for a keyword ``method`` does not take, with the nearest it does."""
    taken = [name for name in inspect.signature(method).parameters if name != "prompt"]
    for name in kwargs:
        if name not in taken:
            close = difflib.get_close_matches(name, taken, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; it takes {', '.join(taken)}."
            raise BadRequestError(f"{method.__name__}() takes no argument {name!r}{hint}")


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
