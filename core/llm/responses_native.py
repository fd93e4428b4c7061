"""The OpenAI Responses API answered by the provider's own ``/v1/responses``.

A ``CallRequest`` whose ``responses`` holds a Responses API create body (set by the plan when
every deployment of the chosen model is OpenAI's: ``answers_natively``) is sent through the
Router's ``aresponses``: the Router chooses the deployment and makes the retries, cooldowns
and fallbacks (a fallback that is not OpenAI's is answered through LiteLLM's own responses
bridge), so reasoning items, built-in tools, ``text.format``, ``instructions`` and
``function_call_output`` items reach the provider as the client sent them.

    outcome = await complete(gateway, request)        # result.native: the response object
    async for item in stream(gateway, request): ...   # ResponsesEvent..., then the Outcome

The answer is priced, recorded and budgeted like every other call: its usage (input, output,
cached and reasoning tokens) is read into the chat shape the gateway prices (``as_chat``).
A stream yields each of the provider's events as a ``ResponsesEvent`` (a ``Delta`` whose text
is the event's output text, empty for other events, so an abandoned stream is recorded with
the text that was sent), then the ``Outcome``; a failure before the first event is the
Router's to retry or fall back from, one after it ends the stream with the error.
"""
from __future__ import annotations

import contextlib
import time
from typing import Any, AsyncIterator

from core.errors import BadRequestError, ProviderBadResponse
from core.llm import runtime
from core.llm.runtime import ATTEMPTS, ms_since
from core.results import Delta

__all__ = ["answers_natively", "check_body", "ResponsesEvent", "complete", "stream", "as_chat"]

# The create body's fields sent on to the provider, and no other: the body is the Router's
# keyword arguments, and LiteLLM reads its own settings there too (``api_base``, ``api_key``,
# ``extra_headers``, ``mock_response``, ``metadata``...), which a key holder must never set.
# Parley answers the rest itself: the model is the Router's deployment, a previous response
# is Parley's (its turns are already in ``input``), the stream is the route's.
# ``store`` is always false (the provider keeps no copy: a client reads its responses back
# from Parley, under Parley's privacy setting); ``service_tier`` is the default (a priority
# tier bills at a rate the usage does not show); ``user``/``safety_identifier`` are not sent
# (a key holder could name someone else, and the user's id is not the provider's to keep).
_SENT = frozenset({"input", "instructions", "max_output_tokens", "max_tool_calls",
                   "parallel_tool_calls", "reasoning", "temperature", "text", "tool_choice",
                   "tools", "top_p", "top_logprobs", "truncation", "include", "prompt_cache_key"})
_TERMINAL = ("response.completed", "response.incomplete")


def answers_natively(settings, model: str) -> bool:
    """Whether ``model`` answers a Responses API body natively: every one of its deployments
    with a key is OpenAI's (``openai/...``), unless its ``model_info`` sets
    ``responses_api: false`` (an OpenAI-compatible server without ``/v1/responses``)."""
    deployments = [m for m in settings.models if m.name == model and m.key_present]
    return bool(deployments) and all(
        str(m.litellm_params.get("model", "")).startswith("openai/")
        and m.model_info.get("responses_api", True) is not False for m in deployments)


def check_body(body: dict[str, Any]) -> None:
    """Refuse, with one sentence, what a Responses body may hold that Parley cannot check,
    count or price: a tool other than a function (built-in tools are billed per use, at rates
    the usage does not carry), an item that refers to something stored elsewhere
    (``item_reference``, a ``file_id``), an image or file by URL (fetched by whoever answers,
    out of the plan's sight; send it as a ``data:`` URL)."""
    for tool in body.get("tools") or ():
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "function":
            raise BadRequestError(f"tools: Parley answers function tools only; a {kind!r} tool is "
                                  f"billed per use at a rate it cannot price.")
    for item in _dicts(body.get("input")):
        kind = item.get("type")
        if kind == "item_reference" or item.get("file_id"):
            raise BadRequestError("input: items that refer to stored items or files are not "
                                  "accepted; send their content.")
        url = item.get("image_url") if kind == "input_image" else item.get("file_url")
        if isinstance(url, dict):
            url = url.get("url")
        if kind in ("input_image", "input_file") and url and not str(url).startswith("data:"):
            raise BadRequestError(f"input: an {kind} must be a data: URL, not a link Parley "
                                  f"would have fetched for you.")


def _dicts(value: Any):
    """Every dict in ``value``, nested ones included."""
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from _dicts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _dicts(inner)


class ResponsesEvent(Delta):
    """One Responses API event from the provider: ``event`` is its JSON object; as a ``str``
    it is the text it adds to the answer (``response.output_text.delta``), else empty."""

    event: dict[str, Any]

    def __new__(cls, event: dict[str, Any], served_by: str | None = None) -> "ResponsesEvent":
        text = event.get("delta") if event.get("type") == "response.output_text.delta" else ""
        piece = super().__new__(cls, str(text or ""), served_by)
        piece.event = event
        return piece


def _kwargs(request, *, stream: bool) -> dict[str, Any]:
    """The Router's ``aresponses`` arguments: the client's body, the plan's fallbacks."""
    kwargs: dict[str, Any] = {k: v for k, v in request.responses.items() if k in _SENT}
    kwargs.update(model=request.model, litellm_call_id=request.call_id, stream=stream,
                  caching=False, store=False)
    kwargs.update(request.chains.router_kwargs(request.model))
    if not request.chains.fallbacks:
        kwargs["disable_fallbacks"] = True
    return kwargs


def _dumped(obj) -> dict[str, Any]:
    """An event or response as the provider's JSON: without the ``cost`` LiteLLM adds to usage
    (its estimate, not the provider's figure, nor Parley's price)."""
    body = dict(obj) if isinstance(obj, dict) else obj.model_dump(mode="json", exclude_none=True,
                                                                   warnings=False)
    response = body.get("response") if isinstance(body.get("response"), dict) else body
    if isinstance(response.get("usage"), dict):
        response["usage"] = {k: v for k, v in response["usage"].items() if k != "cost"}
    return body


async def _call(gateway, request, *, stream: bool):
    """The Router's ``aresponses`` for ``request``: its answer (a response, or the stream of
    events), the attempts it made and when it started. A failure, after the Router's retries
    and fallbacks, is the gateway's error for the request."""
    gateway._check_available(request.model)
    attempts: list = []
    started = time.perf_counter()
    token = ATTEMPTS.set(attempts)
    try:
        answer = await gateway.router.aresponses(**_kwargs(request, stream=stream))
    except Exception as exc:
        raise gateway._failure(request, exc, attempts) from None
    finally:
        ATTEMPTS.reset(token)
    return answer, attempts, started


async def complete(gateway, request):
    """One Responses API answer as an ``Outcome``; ``result.native`` is the response object."""
    response, attempts, started = await _call(gateway, request, stream=False)
    body = _dumped(response)
    outcome = gateway._outcome(request, as_chat(body), attempts, ms_since(started), None)
    outcome.result.native = body
    return outcome


async def stream(gateway, request) -> AsyncIterator:
    """The provider's events as ``ResponsesEvent``s, then the ``Outcome`` (its
    ``result.native`` the final response object, usage included)."""
    events, attempts, started = await _call(gateway, request, stream=True)
    served = next((a.model for a in reversed(attempts) if a.ok), request.model)
    final, ttft = None, None
    try:
        async with contextlib.aclosing(_events(events)) as provider_events:
            async for event in provider_events:
                if ttft is None and event.get("type") in ("response.output_text.delta",
                                                          "response.function_call_arguments.delta"):
                    ttft = ms_since(started)
                if event.get("type") in _TERMINAL:
                    final = event.get("response") or {}
                yield ResponsesEvent(event, served)
    except Exception as exc:
        raise gateway._failure(request, exc, attempts) from None
    if final is None:
        raise gateway._failure(request, ProviderBadResponse(
            f"{served}'s stream ended before the response was complete.", model=served), attempts)
    outcome = gateway._outcome(request, as_chat(final), attempts, ms_since(started), ttft,
                               streamed=True)
    outcome.result.native = final
    yield outcome


async def _events(source) -> AsyncIterator[dict[str, Any]]:
    """The events of LiteLLM's Responses stream as JSON objects; the stream is closed after."""
    try:
        async for event in source:
            yield _dumped(event)
    finally:
        close = getattr(source, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):  # secondary to what ended the stream
                await close()


def as_chat(response: dict[str, Any]):
    """A Responses API response object as the LiteLLM ``ModelResponse`` the gateway prices and
    records: its output text, function calls, reasoning summary and usage (input tokens
    with their cached part, output tokens with their reasoning part)."""
    text, calls, reasoning = [], [], []
    for item in response.get("output") or []:
        kind = item.get("type")
        if kind == "message":
            text += [p.get("text") or "" for p in item.get("content") or []
                     if p.get("type") == "output_text"]
        elif kind == "function_call":
            calls.append({"id": item.get("call_id") or item.get("id"), "type": "function",
                          "function": {"name": item.get("name") or "",
                                       "arguments": item.get("arguments") or ""}})
        elif kind == "reasoning":
            reasoning += [p.get("text") or "" for p in item.get("summary") or []]
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if calls:
        message["tool_calls"] = calls
    if reasoning:
        message["reasoning_content"] = "\n".join(reasoning)
    finish = ("tool_calls" if calls else "length" if response.get("status") == "incomplete"
              else "stop")
    return runtime.load().ModelResponse(
        id=str(response.get("id") or ""), created=int(response.get("created_at") or time.time()),
        model=str(response.get("model") or ""), object="chat.completion",
        choices=[{"index": 0, "finish_reason": finish, "message": message}],
        usage=_usage(response.get("usage")))


def _usage(usage: dict[str, Any] | None) -> dict[str, Any] | None:
    """Responses usage in the chat shape: the cached and reasoning parts kept as such."""
    if not usage:
        return None
    read = int((usage.get("input_tokens_details") or {}).get("cached_tokens") or 0)
    reasoning = int((usage.get("output_tokens_details") or {}).get("reasoning_tokens") or 0)
    prompt, completion = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": read},
            "completion_tokens_details": {"reasoning_tokens": reasoning}}

