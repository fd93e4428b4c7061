"""Calls to the configured models through one LiteLLM Router built from the settings.

``Gateway.complete(request)`` returns an ``Outcome``: the ``GenerationResult`` plus every
attempt the Router made (retries and fallbacks included), observed by overriding the Router's
per-deployment call (not through LiteLLM's global callback lists). ``Gateway.stream(request)``
yields text deltas, then the ``Outcome``. Retries, backoff, cooldowns and fallbacks are the
Router's; Parley only chooses their settings. Failures raise ``ParleyError`` subclasses;
when several models were tried, ``AllModelsFailedError`` names each and why.

A call to an OpenAI-compatible or Anthropic deployment takes the fast path
(``core.llm.direct``): the Router chooses the deployment, Parley sends LiteLLM's request body
and reads the answer itself; a failure before the first text goes back to the Router.
``PARLEY_FAST_PATH=off`` sends every call through the Router (the bench's baseline).
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import inspect
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from core.catalog import Catalog, ModelEntry
from core.config import LOCAL_PROVIDER, Settings
from core.errors import (AllModelsFailedError, AuthError, ConfigError, ContextTooLongError, ParleyError,
                         ProviderBadResponse, ProviderDownError, ProviderTimeoutError)
from core.llm import responses_native, runtime
from core.llm.clients import close_loop_clients
from core.llm.direct import DirectPath, Refused, Unsuitable, eligible
from core.llm.errors import to_parley_error
from core.llm.local.engine import LocalModel, find_bundled_model
from core.llm.usage import (priced_usage, reported_cost, saved_by_cache, token_classes,
                            tool_calls_and_reasoning)
from core.llm.runtime import ATTEMPTS, Attempt, ms_since
from core.llm.streams import StreamState, close_quietly, cut_short, settle_stream_attempts
from core import pricing
from core.results import Delta, GenerationResult, Thought

__all__ = ["Gateway", "CallRequest", "Chains", "NO_CHAINS", "Attempt", "Outcome", "count_tokens"]

log = logging.getLogger("parley")

_PARLEY_ROUTER_KEYS = frozenset({"retry_policy"})
# How an OpenAI-compatible provider says a prompt is over the context window (a 400).
_CONTEXT_HINTS = ("context_length_exceeded", "maximum context length", "context window",
                  "too many tokens", "prompt is too long")


@dataclass(frozen=True)
class Chains:
    """The fallback chains of one model (each without the model itself, no repeats), as
    ``core.routing.chains`` resolves them for a call."""

    fallbacks: tuple[str, ...] = ()
    context_window: tuple[str, ...] = ()
    content_policy: tuple[str, ...] = ()

    def models(self) -> tuple[str, ...]:
        """Every model in any chain, in order of first appearance."""
        return tuple(dict.fromkeys(self.fallbacks + self.context_window + self.content_policy))

    def router_kwargs(self, model: str) -> dict[str, list[dict[str, list[str]]]]:
        """The per-request fallback arguments of ``litellm.Router`` for a call to ``model``:
        all three are always given (empty when there is no chain), so the Router's own
        configured lists never apply."""
        def one(chain: tuple[str, ...]) -> list[dict[str, list[str]]]:
            return [{model: list(chain)}] if chain else []
        return {"fallbacks": one(self.fallbacks),
                "context_window_fallbacks": one(self.context_window),
                "content_policy_fallbacks": one(self.content_policy)}


NO_CHAINS = Chains()


@dataclass
class CallRequest:
    model: str  # a configured model name
    messages: list[dict[str, Any]]
    call_id: str
    temperature: float | None = None
    max_tokens: int | None = None
    chains: Chains = NO_CHAINS  # every model that may answer instead (decided by the plan)
    options: dict[str, Any] = field(default_factory=dict)  # tools, tool_choice, response_format, ...
    key_id: str | None = None  # the API key the call came through (recorded with it)
    # Whose cached answers this call may get (runtime.cache_partition): None with a user- or
    # key-scoped parley.cache means the call is neither answered from nor kept in the cache.
    cache_scope: str | None = None
    stream_reasoning: bool = False  # a stream yields the reasoning as ``Thought`` pieces too
    # A Responses API create body the provider answers natively (core.llm.responses_native).
    responses: dict[str, Any] | None = None


@dataclass
class Outcome:
    result: GenerationResult
    attempts: list[Attempt] = field(default_factory=list)


@functools.cache
def _router_args() -> frozenset[str]:
    """The keyword arguments ``litellm.Router`` takes (``router_settings`` may use any)."""
    router = runtime.load().Router
    return frozenset(inspect.signature(router.__init__).parameters) - {"self", "model_list"}


class Gateway:
    """Calls configured models through one LiteLLM Router (built on first use)."""

    def __init__(self, settings: Settings, catalog: Catalog):
        self.settings, self.catalog = settings, catalog
        self._secrets = settings.secrets()
        idle = float(settings.router_settings.get("timeout") or 600)
        fast = os.environ.get("PARLEY_FAST_PATH", "on").lower() not in ("off", "0", "false", "no")
        self.direct = DirectPath(idle) if fast else None
        # Models every deployment of which the fast path speaks to (core.llm.direct.eligible).
        self._direct_models = frozenset(
            name for name in {m.name for m in settings.models if m.key_present}
            if all(eligible(m.litellm_params) for m in settings.models
                   if m.name == name and m.key_present))

    @functools.cached_property
    def router(self):
        """The LiteLLM Router for every available model (built, and litellm loaded, on first use)."""
        return runtime.observed_router_class()(model_list=self._model_list(), **self._router_kwargs())

    def close(self) -> None:
        """Unhook the Router's callbacks from LiteLLM's process-wide lists (``Router.discard``).
        LiteLLM keeps at most 30 there: a process that builds more Routers and never discards
        them silently loses the newest ones' cooldowns."""
        if "router" in self.__dict__:
            self.__dict__.pop("router").discard()
        if self.direct is not None:
            self.direct.close()

    async def pool(self) -> None:
        """Keep the fast path's connections open on the running loop, for a loop that lives
        as long as this gateway (closed by ``aclose`` on it, or ``close`` from another thread)."""
        if self.direct is not None:
            await self.direct.pool()

    async def aclose(self) -> None:
        """Close the fast path's connections and LiteLLM's clients on the running loop (a
        server's shutdown), so none is left for the collector at exit."""
        if self.direct is not None:
            await self.direct.aclose()
        await close_loop_clients()

    async def _direct_deployment(self, request: CallRequest) -> dict[str, Any] | None:
        """The deployment the Router picks for a fast-path call, or None: the call is not one
        (another protocol, ``parley.cache``), or every deployment is cooling down (the Router
        then decides what answers)."""
        if self.direct is None or request.model not in self._direct_models or self._cached(request):
            return None
        try:
            return await self.router.async_get_available_deployment(
                model=request.model, request_kwargs={}, messages=request.messages)
        except Exception:  # noqa: BLE001 - no deployment now: the Router's path says why
            return None

    async def complete(self, request: CallRequest) -> Outcome:
        """One non-streaming call; raises ``ParleyError`` when no model could answer."""
        if request.responses is not None:
            return await responses_native.complete(self, request)
        self._check_available(request.model)
        attempts: list[Attempt] = []
        started = time.perf_counter()
        current = request
        deployment = await self._direct_deployment(request)
        if deployment is not None:
            try:
                response, attempt = await self.direct.complete(deployment, request)
            except Unsuitable as failed:  # the Router retries, falls back, and says why
                current = self._after_direct(request, deployment, failed, attempts)
            else:
                attempts.append(attempt)
                return self._outcome(request, response, attempts, ms_since(started), None)
        token = ATTEMPTS.set(attempts)
        try:
            response = await self.router.acompletion(**self._call_kwargs(current, stream=False))
        except Exception as exc:
            raise self._failure(request, exc, attempts) from None
        finally:
            ATTEMPTS.reset(token)
        return self._outcome(request, response, attempts, ms_since(started), None,
                             cache_hit=runtime.is_cache_hit(response))

    async def stream(self, request: CallRequest) -> AsyncIterator[str | Outcome]:
        """Yield text deltas as they arrive, then the ``Outcome`` (usage always requested).

        Two stream faults get past LiteLLM: a stream it cannot read (200, no event it
        understands) ends as an empty answer, and a Gemini stream ignores the timeout. Parley
        treats either, before any text has arrived, as a failed attempt, and hands the call to
        the Router again at the model's next fallback, so the Router's retries and fallbacks
        apply from there. After text has arrived, a failure ends the stream with an error."""
        if request.responses is not None:
            async with contextlib.aclosing(responses_native.stream(self, request)) as events:
                async for event in events:
                    yield event
            return
        self._check_available(request.model)
        attempts: list[Attempt] = []
        started, current = time.perf_counter(), request
        deployment = await self._direct_deployment(request)
        if deployment is not None:
            reading = self.direct.reading(deployment, started)
            reading.thoughts = request.stream_reasoning
            try:
                async with contextlib.aclosing(self.direct.stream(deployment, request, reading)) as texts:
                    async for text in texts:
                        if not attempts:  # the attempt is open from its first text on
                            attempts.append(Attempt(request.model, ms_since(started)))
                        yield _piece(text, request.model)
            except Unsuitable as failed:  # before any text: the Router's turn
                current = self._after_direct(request, deployment, failed, attempts)
            except ParleyError as err:
                raise self._failure(request, err, attempts) from None
            else:
                if not attempts:
                    attempts.append(Attempt(request.model, ms_since(started)))
                yield self._outcome(request, reading.response(request.call_id), attempts,
                                    ms_since(started), reading.ttft, streamed=True)
                return
        previous = ATTEMPTS.set(attempts)
        try:
            while True:
                state = StreamState(started, thoughts=request.stream_reasoning)
                try:
                    async for delta in self._stream_once(current, state):
                        yield _piece(delta, _serving(attempts, request))
                except ProviderTimeoutError as stalled:
                    if state.ttft is not None:
                        raise
                    current = self._fall_over(request, current, attempts, stalled)
                    continue
                if state.readable():
                    break
                current = self._fall_over(request, current, attempts, ProviderBadResponse(
                    f"{current.model} sent a stream Parley could not read.", model=current.model))
        except ParleyError as err:
            raise self._failure(request, err, attempts) from None
        except Exception as exc:
            raise self._failure(request, exc, attempts) from None
        finally:
            ATTEMPTS.set(previous.old_value if previous.old_value is not contextvars.Token.MISSING else None)
        built = runtime.load().stream_chunk_builder(chunks=state.chunks, messages=request.messages)
        yield self._outcome(request, built, attempts, ms_since(started), state.ttft, streamed=True,
                            cache_hit=state.cache_hit)

    async def _stream_once(self, request: CallRequest, state: StreamState):
        """One Router stream; a wait longer than the timeout for any chunk raises
        ``ProviderTimeoutError`` (LiteLLM's own timeout does not cover Gemini streams)."""
        response = await self.router.acompletion(**self._call_kwargs(request, stream=True))
        state.cache_hit = runtime.is_cache_hit(response)
        chunks = response.__aiter__()
        idle = float(self.settings.router_settings.get("timeout") or 600)
        try:
            while True:
                try:  # asyncio.timeout, not wait_for: no task (and loop turn) per chunk
                    async with asyncio.timeout(idle):
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    if state.ttft is not None and cut_short(response):
                        raise ProviderDownError(
                            f"{request.model}'s answer was cut off before it finished; "
                            f"try again.", model=request.model) from None
                    return
                except asyncio.TimeoutError:
                    raise ProviderTimeoutError(
                        f"{request.model} stopped sending within the timeout ({idle:g} s).",
                        model=request.model) from None
                delta = state.add(chunk)
                if delta:
                    yield delta
        finally:
            await close_quietly(response)

    def _after_direct(self, request: CallRequest, deployment: dict[str, Any], failed: Unsuitable,
                      attempts: list[Attempt]) -> CallRequest:
        """The request the Router gets after the fast path failed before its first text.
        The failure counts toward the deployment's cooldown, as the Router's own would. A
        dropped connection, an unreadable answer, and a server error or rate limit the retry
        policy retries go to the Router with that model's retries one fewer (the direct try
        was the first), a generic 400 as it was; its retries, cooldowns and fallbacks apply. What it would not send again is not sent again: a timeout (a
        hung provider would multiply the wait), a refused key, a missing model, an error
        whose retries are 0, and a prompt over the context window (whose own fallbacks
        answer); the next model of the chain answers, or the failure is raised. A call the
        fast path declined (nothing sent) goes to the Router as it is."""
        if failed.attempt is None:
            return request
        error = failed.attempt.error
        self._count_failure(request, deployment, error)
        typed = to_parley_error(error, request.model, self._secrets)
        too_long = isinstance(error, Refused) and error.status_code == 400 and any(
            hint in error.message.lower() for hint in _CONTEXT_HINTS)
        if too_long:
            typed = ContextTooLongError(
                f"The prompt is too long for {request.model}'s context window; shorten it or "
                f"pick a model with a larger window.", model=request.model)
        failed.attempt.error = typed
        attempts.append(failed.attempt)
        if too_long:
            chain = "context_window"
        elif isinstance(error, Refused) and error.status_code == 400:
            return request
        elif isinstance(error, Refused) and error.retried and self._retries(error) > 0:
            return self._one_try_spent(request)
        elif isinstance(error, Refused) or isinstance(typed, ProviderTimeoutError):
            chain = "fallbacks"
        else:  # a dropped connection, an unreadable answer: the Router tries again
            return self._one_try_spent(request)
        try:
            return self._fall_over(request, request, attempts, typed, chain)
        except ParleyError as err:
            raise self._failure(request, err, attempts) from None

    def _count_failure(self, request: CallRequest, deployment: dict[str, Any], error: BaseException) -> None:
        """Tell the Router the deployment failed, as its own failed call would: the failure
        counts toward ``allowed_fails`` and may put the deployment in cooldown."""
        status = getattr(error, "status_code", None) or (408 if isinstance(error, ProviderTimeoutError) else 500)
        failure = error if getattr(error, "status_code", None) else _Failure(str(error), status)
        now = time.time()
        try:
            self.router.deployment_callback_on_failure(
                kwargs={"exception": failure, "litellm_params": {
                    **deployment["litellm_params"], "model_info": deployment.get("model_info") or {},
                    "metadata": {"model_group": request.model}}},
                completion_response=None, start_time=now, end_time=now)
        except Exception as exc:  # noqa: BLE001 - the call goes on; the Router counts its own tries
            log.warning("the fast path could not count a failure of %s toward its cooldown (%s)",
                        request.model, type(exc).__name__)

    def _one_try_spent(self, request: CallRequest) -> CallRequest:
        """``request`` for the Router after the fast path's try: its retry policy for this
        model one try shorter, so the model is sent no more tries than on the Router's path."""
        policy = self.router.retry_policy
        fewer = type(policy)(**{name: max(0, value - 1) for name, value in policy.model_dump().items()
                                if isinstance(value, int)})
        return dataclasses.replace(request, options={**request.options,
                                                     "model_group_retry_policy": {request.model: fewer}})

    def _retries(self, refused: Refused) -> int:
        """How often the Router's retry policy sends a call again after ``refused``'s status."""
        policy = getattr(self.router, "retry_policy", None)
        field = {408: "TimeoutErrorRetries", 429: "RateLimitErrorRetries",
                 500: "InternalServerErrorRetries",
                 503: "ServiceUnavailableErrorRetries"}.get(refused.status_code, "DefaultRetries")
        value = getattr(policy, field, None)
        if value is None:
            value = getattr(policy, "DefaultRetries", None)
        return int(value) if value is not None else int(self.settings.router_settings.get("num_retries", 2))

    def _fall_over(self, request: CallRequest, current: CallRequest, attempts: list[Attempt],
                   error: ParleyError, chain: str = "fallbacks") -> CallRequest:
        """The request to send after ``current`` failed before its first text (the next model
        of ``chain``: ``fallbacks`` or ``context_window``), or raise ``error``."""
        opened = [a for a in attempts if a.model == current.model]
        if opened:
            opened[-1].error = error
        else:
            attempts.append(Attempt(current.model, 0.0, error))
        tried = {a.model for a in attempts}
        models = getattr(request.chains, chain)
        following = next((t for t in models if t not in tried), None)
        if following is None:
            raise error
        rest = models[models.index(following) + 1:]
        return dataclasses.replace(current, model=following,
                                   chains=dataclasses.replace(request.chains, **{chain: rest}))

    # -- building the Router -------------------------------------------------------------

    def _model_list(self) -> list[dict[str, Any]]:
        return [{"model_name": m.name, "litellm_params": dict(m.litellm_params),
                 "model_info": {k: v for k, v in m.model_info.items() if k != "id"}}
                for m in self.settings.models if m.key_present]

    def _router_kwargs(self) -> dict[str, Any]:
        settings = dict(self.settings.router_settings)
        unknown = set(settings) - _router_args() - _PARLEY_ROUTER_KEYS
        if unknown:
            raise ConfigError(f"unknown setting(s) {sorted(unknown)}", source=self.settings.source,
                              key="router_settings")
        available = {m.name for m in self.settings.models if m.key_present}
        for key in ("fallbacks", "context_window_fallbacks"):
            settings[key] = _only_available(settings.get(key) or [], available)
        from litellm.types.router import RetryPolicy  # litellm is loaded: the Router is built

        settings["retry_policy"] = RetryPolicy(**_retry_policy(settings))
        settings.setdefault("allowed_fails", 1)
        settings.setdefault("cooldown_time", 10)
        if self.settings.redis_url and not any(k.startswith("redis_") for k in settings):
            settings["redis_url"] = self.settings.redis_url  # cooldowns shared by every worker
        if self.settings.cache:
            settings["cache_responses"] = True
            runtime.load().cache = runtime.response_cache(self.settings.cache, self.settings.redis_url)
        return settings

    def _call_kwargs(self, request: CallRequest, *, stream: bool) -> dict[str, Any]:
        # litellm.cache is one per process: a gateway configured without parley.cache must
        # say so on every call, or it would answer from another gateway's cache.
        kwargs: dict[str, Any] = {"model": request.model, "messages": request.messages,
                                  "litellm_call_id": request.call_id, "drop_params": True,
                                  "caching": self._cached(request)}
        if kwargs["caching"] and request.cache_scope is not None:
            # LiteLLM prefixes its cache key with a per-call namespace; nothing of it is sent on.
            kwargs["cache"] = {"namespace": runtime.cache_namespace(request.cache_scope)}
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        kwargs.update(request.options)
        if stream:
            kwargs.update(stream=True, stream_options={"include_usage": True})
        # The plan's chains, never the Router's own lists: what may answer was decided (and
        # limited to what the caller's key allows) before the call.
        kwargs.update(request.chains.router_kwargs(request.model))
        if not request.chains.fallbacks:
            kwargs["disable_fallbacks"] = True
        return kwargs

    def _cached(self, request: CallRequest) -> bool:
        """Whether the call uses parley.cache: a scoped cache only with the call's partition."""
        cache = self.settings.cache
        if not cache:
            return False
        return cache.get("scope", "user") == "global" or request.cache_scope is not None

    def _check_available(self, name: str) -> None:
        entry = self.catalog.get(name)
        if not entry.available:
            what = "; ".join(entry.missing)
            raise AuthError(f"{name} cannot be used: {what}. Set the key in the environment "
                            f"or .streamlit/secrets.toml, or install what is missing.", model=name)

    # -- results ----------------------------------------------------------------------------

    def _outcome(self, request: CallRequest, response, attempts: list[Attempt], elapsed_ms: float,
                 ttft_ms: float | None, streamed: bool = False, cache_hit: bool = False) -> Outcome:
        served = _serving(attempts, request)
        entry = self.catalog.get(served)
        usage = getattr(response, "usage", None)
        input_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        output_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        content = response.choices[0].message.content or "" if response.choices else ""
        estimated = streamed and usage is None
        if not input_tokens and not output_tokens:
            input_tokens, output_tokens, estimated = self._estimate(entry, request, content)
        classes = token_classes(None if estimated else usage)
        tool_calls, reasoning = tool_calls_and_reasoning(response)
        result = GenerationResult(
            content=content, model=request.model, provider=entry.provider,
            provider_model=entry.provider_model, input_tokens=input_tokens,
            output_tokens=output_tokens, total_tokens=input_tokens + output_tokens,
            reasoning_tokens=classes.reasoning_tokens, cache_read_tokens=classes.cache_read_tokens,
            cache_write_tokens=classes.cache_write_tokens, image_tokens=classes.image_tokens,
            tool_calls=tool_calls, reasoning=reasoning, tokens_estimated=estimated,
            thinking_blocks=_thinking_blocks(response),
            response_time_ms=round(elapsed_ms, 2), ttft_ms=None if ttft_ms is None else round(ttft_ms, 2), call_id=request.call_id,
            fallback_used=served != request.model, served_by=served,
            finish_reason=response.choices[0].finish_reason if response.choices else None)
        # Estimated counts are priced as counts: the provider's (empty) usage would price zero.
        # On a cache hit LiteLLM's response_cost is stale (see runtime.is_cache_hit): price the usage.
        provider_price = None if estimated else functools.partial(
            priced_usage, entry.provider_model, response, input_tokens, output_tokens, not cache_hit)
        result.cost = pricing.call_cost(entry, input_tokens, output_tokens, provider_price,
                                        pricing.TokenUsage(input_tokens, output_tokens,
                                                           classes.cache_read_tokens or 0,
                                                           classes.cache_write_tokens or 0,
                                                           classes.reasoning_tokens or 0))
        # Only OpenRouter bills what usage.cost says; LiteLLM puts its own estimate there for
        # other providers, which is not the provider's figure.
        result.provider_cost = reported_cost(usage) if entry.provider == "openrouter" and not estimated else None
        result.price_known = result.cost is not None
        if cache_hit:  # answered from parley.cache: nothing was billed; say what it saved
            result.cache_hit, result.saved_cost, result.cost = True, result.cost, 0.0
            result.price_known = True
        elif not (estimated or entry.is_local or pricing.has_price_override(entry)):
            result.saved_cost = saved_by_cache(entry.provider_model, usage, result.cost)
        settle_stream_attempts(attempts)
        return Outcome(result, attempts)

    def price_partial(self, request: CallRequest, content: str) -> tuple[int, int, float | None]:
        """Estimated input and output tokens, and their cost, of a stream stopped after
        ``content``: the provider bills what it generated even when the reader went away."""
        entry = self.catalog.get(request.model)
        input_tokens, output_tokens, _ = self._estimate(entry, request, content)
        return input_tokens, output_tokens, pricing.call_cost(entry, input_tokens, output_tokens, None)

    def _estimate(self, entry: ModelEntry, request: CallRequest, content: str) -> tuple[int, int, bool]:
        model = entry.provider_model
        return count_tokens(model, request.messages), count_answer_tokens(model, content), True

    def _failures(self, attempts: list[Attempt]) -> list[tuple[str, ParleyError]]:
        return [(a.model, to_parley_error(a.error, a.model, self._secrets))
                for a in attempts if not a.ok]

    def _failure(self, request: CallRequest, exc: BaseException, attempts: list[Attempt]) -> ParleyError:
        settle_stream_attempts(attempts, exc)
        if not attempts:
            attempts.append(Attempt(request.model, 0.0, exc))
        failures = self._failures(attempts)
        by_model = dict(failures)  # the last error per model
        error = (AllModelsFailedError(by_model) if len(by_model) > 1
                 else next(iter(by_model.values())))
        error.attempts = attempts
        return error


class _Failure(Exception):
    """A fast-path failure without an HTTP status (a dropped connection, a stall), with the
    status LiteLLM gives the same failure, for the Router's cooldown."""

    def __init__(self, message: str, status_code: int):
        super().__init__(message)
        self.status_code = status_code


def count_tokens(model: str, messages: list[dict[str, Any]]) -> int:
    """Tokens in ``messages`` by the model's tokenizer where LiteLLM has one (else tiktoken's);
    exact for the bundled local model (its own tokenizer and chat template)."""
    if model.startswith(f"{LOCAL_PROVIDER}/"):
        return LocalModel(find_bundled_model()).count_tokens(messages)
    return int(runtime.load().token_counter(model=model, messages=messages))


def count_answer_tokens(model: str, text: str) -> int:
    """Tokens of an answer's text alone: what a provider bills for the text it generated, with
    none of the chat framing ``count_tokens`` adds to a message."""
    if not text:
        return 0
    return int(runtime.load().token_counter(model=model, text=text, count_response_tokens=True))


def _thinking_blocks(response) -> list | None:
    """Claude's thinking blocks on a LiteLLM response, as plain dicts (signatures included)."""
    message = response.choices[0].message if getattr(response, "choices", None) else None
    blocks = getattr(message, "thinking_blocks", None)
    return [dict(block) for block in blocks] if blocks else None


def _piece(text: str, served_by: str) -> Delta:
    """A streamed piece as the caller gets it: a ``Thought`` stays one."""
    return (type(text) if isinstance(text, Thought) else Delta)(text, served_by=served_by)


def _serving(attempts: list[Attempt], request: CallRequest) -> str:
    """The model answering: the last attempt that succeeded (a fallback after failures)."""
    return next((a.model for a in reversed(attempts) if a.ok), request.model)


def warm_up(provider_models: list[str]) -> None:
    """Get ready for calls, in the background: litellm loaded (seconds, once per process), and
    one engine of the bundled model for each of ``provider_models`` that is the bundled model,
    so that that many answers start at once."""
    runtime.preload()
    count = sum(model.startswith(f"{LOCAL_PROVIDER}/") for model in provider_models)
    if count:
        LocalModel(find_bundled_model()).warm(count)


def _retry_policy(settings: dict) -> dict[str, int]:
    """Retry what may pass on a second try (5xx, 429 without fallbacks); never a rejected key,
    a bad request, or a timeout (a hung provider would multiply the wait)."""
    retries = int(settings.get("num_retries", 2))
    policy = {"AuthenticationErrorRetries": 0, "BadRequestErrorRetries": 0,
              "ContentPolicyViolationErrorRetries": 0, "TimeoutErrorRetries": 0,
              "InternalServerErrorRetries": retries, "ServiceUnavailableErrorRetries": retries,
              "RateLimitErrorRetries": retries, "NotFoundErrorRetries": 0, "DefaultRetries": retries}
    policy.update(settings.pop("retry_policy", None) or {})
    return policy


def _only_available(entries: list[dict], available: set[str]) -> list[dict]:
    kept = []
    for entry in entries:
        for primary, targets in entry.items():
            usable = [t for t in targets if t in available]
            if primary in available and usable:
                kept.append({primary: usable})
    return kept
