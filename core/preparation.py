"""From a call's arguments to the request that is sent: ``AIService``'s first step.

``prepare(service, call)`` checks every argument (one sentence for what is wrong, before
anything is sent or spent), renders a prompt template, checks attachments and structured
options, chooses the model (``core.routing``), trims a chat's history to the model's window
when asked, fits the context, bounds the request in bytes and tokens, reserves the call's
estimated cost against a hard budget and takes a rate-limit slot. A large request is
tokenized on a worker thread, so one user's 2M-character prompt never stalls the event loop
every session's streams share.
"""
from __future__ import annotations

import asyncio
import dataclasses
import difflib
import functools
import inspect
import json
import uuid
from dataclasses import dataclass
from typing import Any

from core.attachments import check_attachments, content_parts, missing_capability
from core.images import image_models
from core.errors import BadRequestError, ParleyError
from core.guards import Hold
from core.images import image_models
from core.llm.gateway import CallRequest
from core.pricing import estimate_call
from core.prompts import PromptTemplate, parse_ref
from core.routing import Choice, fit_context
from core.routing.window import check_request_tokens, fit_history
from core.structured import Structured, check_structured
from core.validation import check_arguments, check_call, check_request_size, messages_for

__all__ = ["Call", "Prepared", "prepare", "from_template", "check_names", "OFFLOAD_CHARS"]

OFFLOAD_CHARS = 50_000  # requests larger than this are checked and tokenized off the event loop


@dataclass
class Call:
    """Everything ``generate``/``stream`` were asked (``None``: not given)."""

    prompt: str | None
    user_id: str
    service_type: str
    model: str | None = None
    provider: str | None = None
    system_prompt: str | None = None
    metadata: dict | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    complexity: str | None = None
    history: list | None = None
    fallbacks: bool = True
    trim_history: bool = False
    attachments: list | None = None
    structured: Structured | None = None
    call_id: str | None = None
    key_id: str | None = None  # the API key the call came through (recorded with it)


@dataclass
class Prepared:
    request: CallRequest
    choice: Choice
    hold: Hold | None  # the budget reservation to settle once the cost is known


def structured_options(tools, tool_choice, response_format, reasoning_effort) -> Structured:
    """The checked ``tools``/``tool_choice``/``response_format``/``reasoning_effort``."""
    return check_structured(tools, tool_choice, response_format, reasoning_effort)


async def prepare(service, call: Call) -> Prepared:
    """The request for ``call`` on ``service`` (an ``AIService``), or ``ParleyError``."""
    attachments = check_attachments(call.attachments)  # first: a bad one is the real fault
    continuing = (call.prompt is None and bool(call.history) and isinstance(call.history, list)
                  and isinstance(call.history[-1], dict) and call.history[-1].get("role") == "tool")
    check_call("(tool results)" if continuing else call.prompt, call.temperature, call.max_tokens,
               call.user_id)
    check_arguments(service_type=call.service_type, model=call.model, provider=call.provider,
                    system_prompt=call.system_prompt, metadata=call.metadata, history=call.history,
                    fallbacks=call.fallbacks, complexity=call.complexity)
    if attachments and call.prompt is None:
        raise BadRequestError("Attach files to a prompt, not to tool results.")
    messages = messages_for(call.prompt, call.system_prompt, call.history)
    if attachments:
        messages[-1] = {"role": "user", "content": content_parts(call.prompt, attachments)}
    check_request_size(messages, service.settings.max_request_bytes)
    plan = functools.partial(_plan, service, call, messages, attachments)
    # Tokenizing a large request takes long enough to stall every session's streams, so it
    # runs on a worker thread; a small one is checked here (a thread hop costs more).
    if sum(_chars(m.get("content")) for m in messages) > OFFLOAD_CHARS:
        choice, messages, estimate = await asyncio.to_thread(plan)
    else:
        choice, messages, estimate = plan()
    budget = service.budget
    hold = budget.reserve(call.user_id, estimate) if budget is not None else None
    try:  # counted once the call is valid; each compare column is a call of its own
        service.limiter.acquire(call.user_id)
    except ParleyError:
        if hold is not None:
            budget.settle(hold, 0.0)
        raise
    structured = call.structured or Structured()
    request = CallRequest(model=choice.model, call_id=call.call_id or str(uuid.uuid4()),
                          key_id=call.key_id,
                          messages=messages, temperature=call.temperature,
                          max_tokens=call.max_tokens, fallbacks=call.fallbacks,
                          options=structured.litellm_kwargs())
    return Prepared(request, choice, hold)


def _plan(service, call: Call, messages: list[dict], attachments) -> tuple[Choice, list[dict], float]:
    """The model, the messages it gets, and the most the call should cost (counted only for a
    user with a hard budget): a model that can read the attachments, history trimmed to its
    window when asked, the context window checked (a prompt too long for every candidate is
    refused before anything is sent), and the request's token bound."""
    choice = service.choose(user_id=call.user_id, service_type=call.service_type, model=call.model,
                            provider=call.provider, complexity=call.complexity,
                            prompt=call.prompt or "")
    if choice.model in image_models(service.settings):
        raise BadRequestError(f"{choice.model} makes images, not answers; use generate_image "
                              "(the Images page), or pick a chat model.")
    missing = missing_capability(service.settings, choice.model, attachments)
    if missing:
        raise BadRequestError(f"{choice.model} cannot read {missing}; pick a model that can, "
                              f"or send the prompt without them.")
    if call.trim_history:
        messages, dropped = fit_history(messages, service.catalog.get(choice.model),
                                        service.count_tokens)
        if dropped:
            choice = dataclasses.replace(choice, reason=(
                f"{choice.reason} The {dropped} oldest messages of the conversation were "
                f"left out to fit {choice.model}'s context window."))
    choice = fit_context(choice, messages, service.catalog, service.settings, service.count_tokens,
                         fallbacks=call.fallbacks)
    entry = service.catalog.get(choice.model)
    check_request_tokens(entry, messages, service.settings.max_request_tokens, service.count_tokens)
    estimate = 0.0
    if service.budget is not None and service.budget.applies(call.user_id):
        estimate = estimate_call(entry, messages, call.max_tokens, service.count_tokens).cost or 0.0
    return choice, messages, estimate


def _chars(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    return 0 if content is None else len(json.dumps(content, default=str))


def from_template(store, prompt, ref, variables, system_prompt, service_type, metadata):
    """(prompt, system prompt, service type, metadata) of a call made from a template."""
    if prompt:
        raise BadRequestError("Give a prompt or a template, not both.")
    name, version = parse_ref(ref)
    if not hasattr(store, "evals"):
        raise BadRequestError("Prompt templates need a SQLite or Postgres store "
                              "(PARLEY_DATABASE_URL).")
    row = store.evals().template(name, version)
    if row is None:
        raise BadRequestError(f"There is no template {ref!r}; save it first.")
    found = PromptTemplate.from_row(row)
    system, rendered = found.render(variables or {})
    if service_type == "default" and found.service_type:
        service_type = found.service_type
    return (rendered, system_prompt if system_prompt is not None else system, service_type,
            {**(metadata or {}), "template": found.ref})


def check_names(method, kwargs: dict) -> None:
    """``BadRequestError`` for a keyword ``method`` does not take, with the nearest it does."""
    taken = [name for name in inspect.signature(method).parameters if name != "prompt"]
    for name in kwargs:
        if name not in taken:
            close = difflib.get_close_matches(name, taken, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; it takes {', '.join(taken)}."
            raise BadRequestError(f"{method.__name__}() takes no argument {name!r}{hint}")
