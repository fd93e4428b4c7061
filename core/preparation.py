"""A call, decided once: what a caller asks (``Call``) and everything decided about it (``Plan``).

    call = Call("Summarise...", user_id="u1", service_type="xray")
    plan = await service.prepare(call)      # checked, chosen, bounded, reserved; nothing sent
    result = await service.execute(plan)    # or service.execute_stream(plan)

Pages, API routes, the CLI and evals all state a ``Call``; ``prepare(service, call)`` is the
one place its model is chosen. In order, it renders a prompt template (its version named in
the metadata), checks every argument (one sentence for what is wrong, before anything is sent
or spent), chooses the model (``core.routing``), applies the caller's API key to the whole plan
(the model, the service type and every fallback of every kind: ``core.routing.chains``), trims
a chat's history to the model's window when asked, fits the context, bounds the request in
bytes and tokens, reserves the call's worst-case cost against the user's and the key's hard
budgets, and takes a slot of the user's and the key's rate limits. A large request is
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
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from core.attachments import check_attachments, content_parts, missing_capability
from core.bounded import run_off_loop
from core.errors import BadRequestError, NotAllowedError, ParleyError
from core.guards import Hold
from core.image_requests import image_models
from core.keys import ApiKey
from core.llm.gateway import CallRequest, Chains
from core.llm.responses_native import answers_natively, check_body
from core.llm.runtime import cache_partition
from core.pricing import estimate_call
from core.prompt_cache import CacheMarks, with_cache_marks
from core.prompts import PromptTemplate, parse_ref, render_bounded
from core.routing import Choice, fit_context
from core.routing.chains import chains_for
from core.routing.window import check_request_tokens, fit_history
from core.store.base import EvalsHolder
from core.structured import CHECK_SECONDS, Structured, check_structured
from core.validation import check_arguments, check_call, check_request_size, messages_for

__all__ = ["Call", "Plan", "Reservation", "prepare", "settle", "check_names", "takes_a_call",
           "OFFLOAD_CHARS"]

OFFLOAD_CHARS = 50_000  # requests larger than this are checked and tokenized off the event loop
STORE_SECONDS = 30.0  # reading a template row; the store has its own timeouts


@dataclass(frozen=True)
class Call:
    """One request for an answer, as its caller states it (``None``: not given). The first six
    fields are the seed API's, in its order; ``provider`` is a synonym of ``model``.

    ``history``: earlier turns; ``prompt=None`` continues a history that ends with tool results.
    ``trim_history`` leaves the oldest turns out until the request fits the model's window.
    ``attachments``: images and PDFs (core/attachments.py). ``tools``, ``tool_choice``,
    ``response_format``, ``reasoning_effort``: core/structured.py. ``template`` (``"name"`` or
    ``"name@3"``) renders a stored prompt template with ``variables`` instead of ``prompt``.
    ``key``: the API key the call came through; its models, service type, budget and rate limit
    bind the whole plan. ``call_id``: the id to record the call under (default: a new UUID).
    ``stop``: up to four stop sequences (the answer ends before any of them).
    ``cache_marks``: the client's prompt-cache breakpoints (core/prompt_cache.py), sent on when
    an Anthropic model answers (another provider would read them as its own caching request).
    ``responses``: the OpenAI Responses API body the call was stated from; the chosen model
    answers it natively when it is OpenAI's (core/llm/responses_native.py), else the prompt,
    history and options above are sent as a chat request."""

    prompt: str | None = None
    user_id: str = "anonymous"
    service_type: str = "default"
    model: str | None = None
    system_prompt: str | None = None
    metadata: dict | None = None
    _: KW_ONLY
    provider: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    complexity: str | None = None
    history: list | None = None
    fallbacks: bool = True
    trim_history: bool = False
    attachments: list | None = None
    tools: list | None = None
    tool_choice: Any = None
    response_format: dict | None = None
    reasoning_effort: str | None = None
    template: str | None = None
    variables: dict | None = None
    key: ApiKey | None = None
    call_id: str | None = None
    stop: list | None = None
    cache_marks: CacheMarks | None = None
    stream_reasoning: bool = False
    responses: dict | None = None


@dataclass(frozen=True)
class Plan:
    """Everything decided about a call before anything is sent; executing it decides nothing.

    ``request`` is what the gateway sends: the model, the messages, the options and, in
    ``request.chains``, every model that may answer instead. ``choice`` says why the model was
    chosen; ``metadata`` is what is recorded with the call (the caller's, the route, the
    template version); ``estimate`` the most it should cost (0 when no budget needed it);
    ``holds`` the budget reservations to settle once the cost is known."""

    call: Call
    request: CallRequest
    choice: Choice
    metadata: dict
    structured: Structured
    estimate: float = 0.0
    holds: tuple["Reservation", ...] = field(default_factory=tuple)

    @property
    def model(self) -> str:
        return self.request.model

    @property
    def call_id(self) -> str:
        return self.request.call_id

    @property
    def candidates(self) -> tuple[str, ...]:
        """The model and every model that may answer instead, in order."""
        return (self.request.model, *self.request.chains.models())


async def prepare(service, call: Call) -> Plan:
    """The plan for ``call`` on ``service`` (an ``AIService``), or ``ParleyError``; a refused
    call holds nothing (no budget reserved, no rate-limit slot taken)."""
    if call.key is not None:
        _check_key_service(call)
        _known(service, call.model or call.provider)  # 404 before anything else, as the API says
    if call.template is not None:  # user-supplied work: in a worker process, under a deadline
        call = await _rendered(service, call)
    if call.responses is not None:
        check_body(call.responses)
    attachments = _checked(call)
    structured = await _structured(call)
    stop = _stop(call)
    messages = messages_for(call.prompt, call.system_prompt, call.history)
    if attachments:
        messages[-1] = {"role": "user", "content": content_parts(call.prompt, attachments)}
    check_request_size(messages, service.settings.max_request_bytes)
    # Tokenizing a large request takes long enough to stall every session's streams, so it
    # runs on a worker thread; a small one is decided here (a thread hop costs more).
    if sum(_chars(m.get("content")) for m in messages) > OFFLOAD_CHARS:
        choice, chains, messages, estimate = await asyncio.to_thread(
            _decide, service, call, messages, attachments)
    else:
        choice, chains, messages, estimate = _decide(service, call, messages, attachments)
    anthropic = service.catalog.get(choice.model).provider == "anthropic"
    if call.cache_marks and not call.trim_history and anthropic:  # trimming would move the marks
        messages = with_cache_marks(messages, call.cache_marks)
    if not anthropic:  # Claude's signed reasoning is Claude's: another provider refuses the field
        messages = [{k: v for k, v in m.items() if k != "thinking_blocks"} for m in messages]
    holds = _reserve(service, call, estimate)
    request = CallRequest(model=choice.model, call_id=call.call_id or str(uuid.uuid4()),
                          key_id=call.key.id if call.key else None, messages=messages,
                          temperature=call.temperature, max_tokens=call.max_tokens,
                          chains=chains, options={**structured.litellm_kwargs(), **stop},
                          stream_reasoning=call.stream_reasoning,
                          cache_scope=cache_partition(service.settings.cache, call.user_id,
                                                      call.key.id if call.key else None),
                          responses=call.responses if call.responses is not None
                          and answers_natively(service.settings, choice.model) else None)
    return Plan(call, request, choice, _recorded_metadata(call, choice), structured, estimate, holds)


async def _structured(call: Call) -> Structured:
    """The checked tools, tool choice, response format and reasoning effort; schemas (user
    supplied, possibly large) are checked off the loop under a deadline."""
    options = (call.tools, call.tool_choice, call.response_format, call.reasoning_effort)
    if not call.tools and not call.response_format:
        return check_structured(*options)
    return await run_off_loop(check_structured, *options, seconds=CHECK_SECONDS,
                              what="checking the tools and schemas")


def _stop(call: Call) -> dict:
    """``{"stop": [...]}`` for a call with stop sequences, checked; else nothing."""
    if call.stop is None:
        return {}
    if (not isinstance(call.stop, (list, tuple)) or not 1 <= len(call.stop) <= 4
            or not all(isinstance(s, str) and s for s in call.stop)):
        raise BadRequestError("stop must be a list of one to four non-empty strings.")
    return {"stop": list(call.stop)}


def _checked(call: Call) -> list:
    """Every argument by type and content; returns the checked attachments."""
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
    if call.cache_marks is not None and not isinstance(call.cache_marks, CacheMarks):
        raise BadRequestError("cache_marks must be a CacheMarks (core/prompt_cache.py).")
    return attachments


def _decide(service, call: Call, messages: list[dict],
            attachments) -> tuple[Choice, Chains, list[dict], float]:
    """The model and why, every model that may answer instead, the messages it gets, and the
    most the call should cost (counted only when a budget needs it)."""
    choice = service.choose(user_id=call.user_id, service_type=call.service_type, model=call.model,
                            provider=call.provider, complexity=call.complexity,
                            prompt=call.prompt or "")
    _check_key_model(call.key, choice.model)
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
    chosen, chains = choice.model, _chains(service, call, choice.model)
    choice = fit_context(choice, messages, service.catalog, service.count_tokens,
                         chain=chains.context_window)
    if choice.model != chosen:  # a context-window fallback answers, with fallbacks of its own
        chains = _chains(service, call, choice.model)
    entry = service.catalog.get(choice.model)
    check_request_tokens(entry, messages, service.settings.max_request_tokens, service.count_tokens)
    estimate = 0.0
    if _budgeted(service, call):
        estimate = estimate_call(entry, messages, call.max_tokens, service.count_tokens).cost or 0.0
    return choice, chains, messages, estimate


def _chains(service, call: Call, model: str) -> Chains:
    if not call.fallbacks:
        return Chains()
    key = call.key
    return chains_for(service.settings, service.catalog, model,
                      allows=key.allows if key is not None else (lambda _name: True))


def _budgeted(service, call: Call) -> bool:
    """Whether a budget needs this call's worst-case cost: the user's hard budget or the key's."""
    user = service.budget is not None and service.budget.applies(call.user_id)
    return user or (call.key is not None and call.key.monthly_budget is not None)


def _reserve(service, call: Call, estimate: float) -> tuple[Reservation, ...]:
    """Reserve ``estimate`` against the user's and the key's budgets and take a slot of the
    user's and the key's rate limits; on a refusal, hand back what was taken and re-raise."""
    held: list[Reservation] = []
    try:
        if service.budget is not None:
            held.append(Reservation(service.budget, service.budget.reserve(call.user_id, estimate)))
        if call.key is not None and service.key_budget is not None:
            held.append(Reservation(service.key_budget, service.key_budget.reserve(call.key, estimate)))
        service.limiter.acquire(call.user_id)  # each compare column is a call of its own
        if call.key is not None and call.key.rate_limit_per_minute:
            service.key_limiter.acquire(f"key:{call.key.prefix}", call.key.rate_limit_per_minute)
    except ParleyError:
        settle(tuple(held), 0.0)
        raise
    return tuple(r for r in held if r.hold is not None)


@dataclass(frozen=True)
class Reservation:
    """What a call holds of one budget (``guard``: the user's or the key's)."""

    guard: Any
    hold: Hold | None


def settle(reservations: tuple[Reservation, ...], cost: float | None) -> None:
    """Hand back a plan's budget reservations with the call's cost (None: an unknown price,
    which budgets do not count)."""
    for reservation in reservations:
        if reservation.hold is not None:
            reservation.guard.settle(reservation.hold, cost)


def _check_key_service(call: Call) -> None:
    fixed = call.key.service_type
    if fixed and call.service_type != fixed:
        raise NotAllowedError(f"API key {call.key.prefix} is for service type {fixed!r}, "
                              f"not {call.service_type!r}.", code="service_not_allowed")


def _check_key_model(key: ApiKey | None, model: str) -> None:
    if key is not None and not key.allows(model):
        raise NotAllowedError(f"API key {key.prefix} may use only {', '.join(key.models)}, "
                              f"not {model}.", model=model)


def _known(service, model: str | None) -> None:
    if model is not None and model != "auto":
        service.catalog.get(model)


def _recorded_metadata(call: Call, choice: Choice) -> dict:
    """The call's metadata plus its routing, for the call log (``request_logs.metadata``)."""
    routed = {"route_source": choice.source, "route_reason": choice.reason}
    if choice.route:
        routed["route"] = choice.route
    if call.key is not None:
        routed["key_prefix"] = call.key.prefix  # the route says how it came ("via": "api")
    return {**(call.metadata or {}), **routed}


def _chars(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    return 0 if content is None else len(json.dumps(content, default=str))


async def _rendered(service, call: Call) -> Call:
    """``call`` with its template rendered into the prompt and system prompt; a template's
    service type applies to a call that named none (never to a key fixed to one). The stored
    template is read here (on a worker thread); only the rendering runs in a worker process."""
    found = await run_off_loop(_template_of, service, call, seconds=STORE_SECONDS,
                               what=f"reading template {call.template}")
    system, rendered = await render_bounded(found, call.variables or {})
    service_type = call.service_type
    if service_type == "default" and found.service_type:  # a key fixed to one never says "default"
        service_type = found.service_type
    return dataclasses.replace(
        call, prompt=rendered, template=None, variables=None, service_type=service_type,
        system_prompt=call.system_prompt if call.system_prompt is not None else system,
        metadata={**(call.metadata or {}), "template": found.ref})


def _template_of(service, call: Call) -> PromptTemplate:
    """The stored template ``call.template`` names, as its caller may see it."""
    if call.prompt:
        raise BadRequestError("Give a prompt or a template, not both.")
    name, version = parse_ref(call.template)
    store = service.store
    if not isinstance(store, EvalsHolder):
        raise BadRequestError("Prompt templates need a SQLite or Postgres store "
                              "(PARLEY_DATABASE_URL).")
    # Through an API key, only the key's user's templates (or any, for an admin) are found:
    # another user's template is neither run nor revealed.
    row = store.evals().template(name, version,
                                 as_user=call.key.user_id if call.key is not None else None)
    if row is None:
        raise BadRequestError(f"There is no template {call.template!r}; save it first.")
    return PromptTemplate.from_row(row)


def takes_a_call(method):
    """``method(self, call)`` called as ``method(self, prompt, user_id, ..., **fields)``: its
    arguments are exactly ``Call``'s (one signature, written once), and a misspelt one is a
    ``TypeError`` when it is called, not when it is awaited."""
    @functools.wraps(method)
    def taking_a_call(self, *args, **kwargs):
        return method(self, Call(*args, **kwargs))

    fields = list(inspect.signature(Call).parameters.values())
    self_ = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    taking_a_call.__signature__ = inspect.signature(method).replace(parameters=[self_, *fields])
    return taking_a_call


def check_names(kwargs: dict) -> None:
    """``BadRequestError`` for a keyword that is not a ``Call`` field, with the nearest one."""
    taken = [f.name for f in dataclasses.fields(Call) if f.name != "prompt"]
    for name in kwargs:
        if name not in taken:
            close = difflib.get_close_matches(name, taken, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; it takes {', '.join(taken)}."
            raise BadRequestError(f"A call takes no argument {name!r}{hint}")
