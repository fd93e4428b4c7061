"""The fast path: a call to an OpenAI-compatible or an Anthropic deployment, sent and read here.

LiteLLM's per-chunk machinery (its stream wrapper, the Router's fallback wrapper and the
openai SDK's pydantic object per chunk) was most of the API server's time under concurrent
streams (bench/api.py). A deployment whose wire protocol Parley reads needs none of it:
``DirectPath`` sends the body LiteLLM's own provider config builds (its parameter mapping and
message transformation, so o-series, GPT-5 and Claude get what LiteLLM would send them), and
reads the answer itself: each server-sent event is parsed with orjson, text is handed on as
it arrives, tool calls and usage are gathered, and one LiteLLM ``ModelResponse`` is built at
the end (for Claude by LiteLLM's own Anthropic response transformation), which the gateway
prices and records exactly as before. A wire (``OpenAIWire`` here, ``AnthropicWire`` in
core/llm/direct_anthropic.py) knows one protocol: the request it sends and how its events read.

What stays LiteLLM's:

- choosing the deployment (``Router.async_get_available_deployment``: its routing strategy
  and cooldowns);
- everything after a failure before the first text: ``Unsuitable`` hands the call back to the
  gateway, which sends it through the Router (its error mapping, retries, cooldowns and
  fallbacks), with the failed direct attempt noted;
- every deployment this module does not speak to (``eligible``), calls answered from
  ``parley.cache``, and every other protocol.

After text has arrived, a failure ends the stream with an error, as on the Router's path.
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from typing import Any, AsyncIterator

import orjson

from core.errors import ProviderDownError, ProviderTimeoutError
from core.llm import runtime
from core.llm.direct_anthropic import AnthropicWire
from core.llm.runtime import Attempt, ms_since
from core.llm.wire import (Declined, Reading, Sending, Unsuitable, api_base, provider_config,
                           wanted_params)

__all__ = ["DirectPath", "Reading", "Sending", "Unsuitable", "Declined", "Refused", "eligible"]

log = logging.getLogger("parley")

# litellm_params a direct call understands; any other (extra_headers, a custom handler, ...)
# keeps the deployment on LiteLLM's path.
# rpm/tpm limits are the Router's to count and enforce (its usage-based routing, its checks
# before each call), so a deployment with them stays on its path.
_PARAMS = frozenset({"model", "api_key", "api_base", "timeout", "stream_timeout",
                     "max_retries", "organization", "model_info"})
_MAX_EVENT = 16_000_000  # bytes of one server-sent event; a stream that never ends one is broken


def eligible(litellm_params: dict[str, Any]) -> bool:
    """Can a deployment with these ``litellm_params`` be called directly? Its protocol is one
    a wire reads, its key is in its own params (LiteLLM would otherwise look in the
    environment), and it has no setting the fast path does not apply."""
    model = litellm_params.get("model")
    return (isinstance(model, str) and _wire_for(model) is not None
            and bool(litellm_params.get("api_key")) and set(litellm_params) <= _PARAMS)


def _wire_for(litellm_model: str):
    return next((wire for wire in (OPENAI, ANTHROPIC)
                 if litellm_model.startswith(wire.prefix)), None)


class OpenAIWire:
    """OpenAI's chat completions: server-sent chunks, usage in the last one, ``[DONE]``."""

    prefix = "openai/"

    @staticmethod
    def reading(started: float) -> Reading:
        return Reading(started)

    async def sending(self, deployment: dict[str, Any], request, *, stream: bool) -> Sending:
        params = deployment["litellm_params"]
        provider_model = params["model"][len(self.prefix):]
        config = provider_config(provider_model, "openai")
        optional = config.map_openai_params(non_default_params=wanted_params(request),
                                            optional_params={}, model=provider_model,
                                            drop_params=True)
        base = api_base(params, ("OPENAI_BASE_URL", "OPENAI_API_BASE"), "https://api.openai.com/v1")
        body = await config.async_transform_request(  # it edits the messages: a copy is sent
            provider_model, copy.deepcopy(request.messages), optional,
            {"custom_llm_provider": "openai", "api_base": base}, {})
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        headers = {"content-type": "application/json",
                   "accept": "text/event-stream" if stream else "application/json",
                   "authorization": f"Bearer {params['api_key']}"}
        if params.get("organization"):
            headers["openai-organization"] = params["organization"]
        return Sending(f"{base}/chat/completions", headers, body, _model_response)


def _model_response(answer: dict[str, Any]):
    return runtime.load().ModelResponse(**answer)


OPENAI, ANTHROPIC = OpenAIWire(), AnthropicWire()


class DirectPath:
    """Direct calls to OpenAI-compatible and Anthropic deployments over aiohttp. A loop that lives as long
    as the service (the API server's, the service's own thread) keeps one pool of connections,
    opened by ``pool()`` and closed by ``aclose()``/``close()``; elsewhere (``asyncio.run`` in
    a script, a test's loop) each call opens and closes its own session, so nothing outlives
    the loop it was made on."""

    def __init__(self, idle_timeout: float, connect_timeout: float = 10.0):
        self.idle, self.connect = idle_timeout, connect_timeout
        self._sessions: dict[asyncio.AbstractEventLoop, Any] = {}

    def _new_session(self):
        import aiohttp

        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.connect, sock_read=self.idle)
        return aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False)

    def _idle(self, deployment: dict[str, Any], stream: bool) -> float:
        """The longest wait for the provider's next bytes: the deployment's own timeout
        (``stream_timeout`` for a stream), else the Router's."""
        params = deployment["litellm_params"]
        value = (params.get("stream_timeout") if stream else None) or params.get("timeout")
        return float(value) if isinstance(value, (int, float)) and value > 0 else self.idle

    def _timeout(self, deployment: dict[str, Any], stream: bool):
        import aiohttp

        return aiohttp.ClientTimeout(total=None, sock_connect=self.connect,
                                     sock_read=self._idle(deployment, stream))

    async def pool(self) -> None:
        """Keep a pool of connections on the running loop (its owner calls ``aclose``)."""
        loop = asyncio.get_running_loop()
        if loop not in self._sessions:
            self._sessions[loop] = self._new_session()

    @contextlib.asynccontextmanager
    async def _session(self):
        pooled = self._sessions.get(asyncio.get_running_loop())
        if pooled is not None and not pooled.closed:
            yield pooled
            return
        async with self._new_session() as session:
            yield session

    async def aclose(self) -> None:
        """Close the running loop's pool (the server's shutdown calls it on its own loop)."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def close(self) -> None:
        """Close every pool whose loop still runs (on another thread), waiting briefly."""
        for loop, session in list(self._sessions.items()):
            if loop.is_running() and not session.closed:
                try:
                    asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout=2)
                except Exception:  # noqa: BLE001 - its loop stopped at the same moment
                    log.debug("a fast-path pool closed with its loop")
        self._sessions.clear()

    @staticmethod
    def reading(deployment: dict[str, Any], started: float) -> Reading:
        """An empty reading for a stream from ``deployment`` (its wire's kind)."""
        return _wire_for(deployment["litellm_params"]["model"]).reading(started)

    @staticmethod
    async def sending(deployment: dict[str, Any], request, *, stream: bool) -> Sending:
        """``request`` to ``deployment`` as LiteLLM builds it. ``Declined`` if it is not one to
        send, or LiteLLM could not build it: its own path then says why, in its words."""
        try:
            return await _wire_for(deployment["litellm_params"]["model"]).sending(
                deployment, request, stream=stream)
        except Declined:
            raise
        except Exception as exc:  # noqa: BLE001 - the Router's path raises it, typed and recorded
            raise Declined(f"the request could not be built ({type(exc).__name__})") from None

    async def complete(self, deployment: dict[str, Any], request) -> tuple[Any, Attempt]:
        """A non-streaming call: ``(LiteLLM ModelResponse, the attempt)``; raises
        ``Unsuitable`` when it failed (the Router then makes the call)."""
        import aiohttp

        sending = await self.sending(deployment, request, stream=False)
        started = time.perf_counter()
        try:
            async with self._session() as session, \
                    session.post(sending.url, data=orjson.dumps(sending.body), headers=sending.headers,
                                 timeout=self._timeout(deployment, stream=False)) as response:
                raw = await response.read()
                if response.status != 200:
                    raise Refused(request.model, response.status, raw)
        except (aiohttp.ClientError, asyncio.TimeoutError, Refused) as exc:
            raise Unsuitable(str(exc), Attempt(request.model, ms_since(started), _as_error(exc, request.model)))
        try:
            built = sending.answer(orjson.loads(raw))
        except Exception as exc:  # noqa: BLE001 - not an answer we can read: the Router tries
            raise Unsuitable("unreadable answer", Attempt(request.model, ms_since(started), exc)) from None
        return built, Attempt(request.model, ms_since(started))

    async def stream(self, deployment: dict[str, Any], request, reading: Reading) -> AsyncIterator[str]:
        """Text pieces as they arrive, gathering the rest in ``reading``. Before the first
        text a failure raises ``Unsuitable``; after it, ``ProviderDownError`` (cut off) or
        ``ProviderTimeoutError`` (stalled)."""
        import aiohttp

        sending = await self.sending(deployment, request, stream=True)
        reading.answer = sending.answer
        async with self._session() as session:
            try:
                response = await session.post(sending.url, data=orjson.dumps(sending.body),
                                              headers=sending.headers,
                                              timeout=self._timeout(deployment, stream=True))
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise Unsuitable(str(exc), self._failed(request, reading, exc)) from None
            try:
                if response.status != 200:
                    error = Refused(request.model, response.status, await response.read())
                    raise Unsuitable(str(error), self._failed(request, reading, error))
                async with contextlib.aclosing(self._texts(response, deployment, request, reading)) as texts:
                    async for text in texts:
                        yield text
            finally:
                if reading.done:
                    response.release()  # read to its end: the connection serves the next call
                else:
                    response.close()  # abandoned or broken: dropped, so the provider stops too

    async def _texts(self, response, deployment, request, reading: Reading) -> AsyncIterator[str]:
        """The answer's text (and ``Thought`` pieces, if asked for) as it arrives: the pieces
        of the events one read brought are joined, so a busy server hands on fewer, larger
        pieces instead of falling behind."""
        import aiohttp

        buffer = b""
        try:
            async for data in response.content.iter_any():
                buffer = (buffer + data).replace(b"\r\n", b"\n")  # events framed with CRLF too
                if len(buffer) > _MAX_EVENT:
                    raise ProviderDownError(f"{request.model} sent an event over "
                                            f"{_MAX_EVENT // 1_000_000} MB.", model=request.model)
                pieces: list[str] = []  # what the events of this read carried, each kind joined
                while (end := buffer.find(b"\n\n")) >= 0:
                    event, buffer = buffer[:end], buffer[end + 2:]
                    text = self._event(event, reading, request)
                    if not text:
                        continue
                    if pieces and type(pieces[-1]) is type(text):
                        pieces[-1] = type(text)(pieces[-1] + text)
                    else:
                        pieces.append(text)
                for piece in pieces:
                    yield piece
                if reading.done:
                    break
        except (aiohttp.ClientError, asyncio.TimeoutError, ProviderDownError) as exc:
            if not reading.started_answering():
                raise Unsuitable(str(exc), self._failed(request, reading, exc)) from None
            if isinstance(exc, asyncio.TimeoutError):
                raise ProviderTimeoutError(
                    f"{request.model} stopped sending within the timeout "
                    f"({self._idle(deployment, True):g} s).",
                    model=request.model) from None
            raise _cut(request.model) from None
        if not reading.finished():
            if not reading.started_answering():  # ended before it said anything: another try
                raise Unsuitable("stream ended early", self._failed(
                    request, reading, ProviderDownError(f"{request.model} ended its stream "
                                                        f"before its answer.")))
            raise _cut(request.model)

    @staticmethod
    def _event(event: bytes, reading: Reading, request) -> str | None:
        """One server-sent event: its ``data:`` lines as a chunk (``[DONE]`` ends the stream)."""
        data = b"".join(line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:"))
        if not data:
            return None
        if data == b"[DONE]":
            reading.done = True
            return None
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise ProviderDownError(f"{request.model} sent a stream Parley could not read.",
                                    model=request.model) from None
        return reading.take(chunk)

    @staticmethod
    def _failed(request, reading: Reading, exc: BaseException) -> Attempt:
        return Attempt(request.model, ms_since(reading.started), _as_error(exc, request.model))


def _cut(model: str) -> ProviderDownError:
    return ProviderDownError(f"{model}'s answer was cut off before it finished; try again.",
                             model=model)


class Refused(Exception):
    """The provider answered ``status_code`` before any text; ``message`` is its body (read
    by ``core.llm.errors.to_parley_error``, which words and redacts it like LiteLLM's)."""

    def __init__(self, model: str, status: int, raw: bytes):
        self.status_code, self.model = status, model
        self.message = raw[:2000].decode("utf-8", "replace") or f"HTTP {status}"
        super().__init__(self.message)

    @property
    def retried(self) -> bool:
        """Would the Router's retry policy send it again (a server error, a rate limit)?"""
        return self.status_code in (408, 409, 429) or self.status_code >= 500


def _as_error(exc: BaseException, model: str) -> BaseException:
    if isinstance(exc, asyncio.TimeoutError):
        return ProviderTimeoutError(f"{model} did not answer within the timeout.", model=model)
    return exc
