"""Which configured model answers a call, why, and whether the prompt fits it.

Precedence, first match wins:

1. A named model (``model="claude"``; ``provider=`` is its synonym) always wins.
2. ``model="auto"`` asks for routing: the prompt is classified (``core.routing.classifier``) and
   ``parley.routes[<class>]`` answers. "auto" is a choice made for this call, so, like a named
   model, it beats stored preferences. When no route is configured for the class, the steps
   below decide and the reason says so.
3. A ``complexity=`` hint from the calling code (``generate(..., complexity="simple")``,
   ``ask --complexity``) against the user's stored preferences, as configured by
   ``parley.route_over_preferences``:
   - ``false`` (the default): the user's stored choice (for this service type, else their
     default) wins; the hint's route applies to users who stored none.
   - ``true``: the hint's route wins over stored preferences.
4. The user's override for this service type, then 5. the user's default, then
   6. ``parley.default_model``.

``Choice.source`` says which step chose: explicit | auto | route | service | user | default.
``Choice.route`` is the complexity class whose route chose the model (None otherwise) and
``Choice.reason`` one sentence saying why, shown with the answer and recorded with the call.
Compare screens can show what "auto" would pick for a prompt with
``AIService.choose(model="auto", prompt=...)``, or pass ``"auto"`` among ``compare``'s models.

Pre-flight: ``fit_context`` runs before any request is sent. If the prompt does not fit the
chosen model's context window (``ModelEntry.context_window``: LiteLLM's map or
``model_info.max_input_tokens``), the first model of
``router_settings.context_window_fallbacks`` for it that is available and fits answers
instead (only those the caller's API key allows); if none does, ``ContextTooLongError`` is
raised and nothing is sent. Parley checks
this itself rather than relying on the Router's ``context_window_fallbacks``, which only acts
after a provider has rejected a request; the Router keeps them as a safety net for the rare
prompt a tokenizer estimate lets through.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Mapping

from core.catalog import Catalog, ModelEntry
from core.routing.classifier import LEVELS, classify
from core.config import Settings
from core.errors import BadRequestError, ConfigError, ContextTooLongError

__all__ = ["AUTO", "Choice", "choose_model", "fit_context", "PreferenceReader", "TokenCounter"]

AUTO = "auto"
PreferenceReader = Callable[[str], Mapping[str | None, str]]
TokenCounter = Callable[[ModelEntry, list[dict]], int]

# A token is at least one byte (byte-level BPE and SentencePiece alike); this much more covers
# chat-template tokens, so a prompt whose size in bytes plus this fits needs no tokenizing.
_TEMPLATE_TOKENS, _TOKENS_PER_MESSAGE = 64, 8


@dataclass(frozen=True)
class Choice:
    """The model for one call; ``source``, ``route`` and ``reason`` as in the module docstring."""

    model: str
    source: str
    route: str | None = None
    reason: str = ""


def choose_model(settings: Settings, catalog: Catalog, *, user_id: str | None,
                 service_type: str | None, model: str | None = None, provider: str | None = None,
                 complexity: str | None = None, prompt: str | None = None,
                 preferences: PreferenceReader | None = None) -> Choice:
    """Resolve the model for one call by the precedence above. ``prompt`` is needed only for
    ``model="auto"``. Raises ``BadRequestError``/``UnknownModelError`` for a bad request."""
    if model and provider and model != provider:
        raise BadRequestError(f"model={model!r} and provider={provider!r} disagree; give one of them.")
    named = model or provider
    if named == AUTO:
        return _auto(settings, catalog, prompt, user_id, service_type, preferences)
    if named:
        catalog.get(named)
        return Choice(named, "explicit", reason=f"{named} was named for this call.")
    if complexity is not None:
        target = _route_for(settings, complexity)
        routed = Choice(target, "route", complexity,
                        f"The caller marked the prompt {complexity}, and parley.routes sends "
                        f"{complexity} prompts to {target}.")
        stored = None if settings.route_over_preferences else _stored(
            catalog, user_id, service_type, preferences)
        if stored is None:
            return routed
        return dataclasses.replace(stored, reason=f"{stored.reason[:-1]}, which wins over the "
                                   f"{complexity} route (parley.route_over_preferences is off).")
    return _stored(catalog, user_id, service_type, preferences) or _default(settings)


def fit_context(choice: Choice, messages: list[dict], catalog: Catalog, count: TokenCounter, *,
                chain: tuple[str, ...] = ()) -> Choice:
    """``choice`` if the prompt fits its model, else the first model of ``chain`` (its
    context-window fallbacks the caller may use: ``core.routing.chains``) that fits (its
    reason says so). Raises ``ContextTooLongError`` when none fits. A model with an unknown
    window, or one that cannot be used at all, is passed through (the gateway reports the
    latter)."""
    entry = catalog.get(choice.model)
    tokens = _tokens_over(entry, messages, count)
    if tokens is None:
        return choice
    tried = [(entry, tokens)]
    for name in chain:
        other = catalog.get(name)
        over = _tokens_over(other, messages, count)
        if over is None:
            return dataclasses.replace(choice, model=name, reason=(
                f"{choice.reason} The prompt ({tokens:,} tokens) does not fit {choice.model}'s "
                f"{entry.context_window:,}-token context window, so {name} answers "
                f"(router_settings.context_window_fallbacks)."))
        tried.append((other, over))
    raise ContextTooLongError(_too_long(tried, catalog), model=choice.model)


# -- choosing ---------------------------------------------------------------------------------

def _auto(settings, catalog, prompt, user_id, service_type, preferences) -> Choice:
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequestError("model='auto' routes by the prompt; give a prompt to route.")
    found = classify(prompt)
    target = settings.routes.get(found.level)
    if target:
        return Choice(target, "auto", found.level,
                      f"{found.sentence[:-1]}, and parley.routes sends {found.level} prompts "
                      f"to {target}.")
    chosen = _stored(catalog, user_id, service_type, preferences) or _default(settings)
    return dataclasses.replace(chosen, reason=f"{found.sentence[:-1]}, but parley.routes has no "
                               f"{found.level} route; {chosen.reason[0].lower()}{chosen.reason[1:]}")


def _route_for(settings: Settings, complexity: str) -> str:
    if complexity not in LEVELS:
        raise BadRequestError(f"Complexity {complexity!r} is not one of: {', '.join(LEVELS)}.")
    if complexity not in settings.routes:
        known = ", ".join(sorted(settings.routes)) or "none are configured (parley.routes)"
        raise BadRequestError(f"Complexity {complexity!r} has no route; choose one of: {known}.")
    return settings.routes[complexity]


def _stored(catalog: Catalog, user_id: str | None, service_type: str | None,
            preferences: PreferenceReader | None) -> Choice | None:
    """The user's stored choice, if any names a configured model (a stale one is ignored)."""
    stored = preferences(user_id) if (preferences and user_id) else {}
    names = catalog.names()
    if service_type and stored.get(service_type) in names:
        model = stored[service_type]
        return Choice(model, "service", reason=f"{model} is your choice for {service_type}.")
    if stored.get(None) in names:
        return Choice(stored[None], "user", reason=f"{stored[None]} is your default model.")
    return None


def _default(settings: Settings) -> Choice:
    if settings.default_model is None:
        raise ConfigError("no default model is configured", source=settings.source,
                          key="parley.default_model")
    return Choice(settings.default_model, "default",
                  reason=f"{settings.default_model} is the configured default (parley.default_model).")


# -- the context window ----------------------------------------------------------------------

def _tokens_over(entry: ModelEntry, messages: list[dict], count: TokenCounter) -> int | None:
    """None when the prompt fits ``entry`` (or cannot be checked), else its token count."""
    window = entry.context_window
    if not window or not entry.available:
        return None
    ceiling = _TEMPLATE_TOKENS + sum(_TOKENS_PER_MESSAGE + len(str(m.get("content") or "").encode())
                                     for m in messages)
    if ceiling <= window:
        return None
    tokens = count(entry, messages)
    return tokens if tokens > window else None


def _too_long(tried: list[tuple[ModelEntry, int]], catalog: Catalog) -> str:
    first, tokens = tried[0]
    text = (f"The prompt is {tokens:,} tokens, more than {first.name} holds "
            f"({first.context_window:,})")
    if len(tried) > 1:
        text += "; no context-window fallback fits either (" + ", ".join(
            f"{e.name} holds {e.context_window:,}" for e, _ in tried[1:]) + ")"
    else:
        text += "; no context-window fallback is configured for it"
    larger = max((e for e in catalog.available() if (e.context_window or 0) > tokens),
                 key=lambda e: e.context_window, default=None)
    hint = f", or choose a model with a larger window such as {larger.name}" if larger else ""
    return f"{text}. Shorten the prompt or the conversation{hint}; nothing was sent."
