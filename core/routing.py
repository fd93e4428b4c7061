"""Which configured model answers a call that may not name one.

Order: an explicit ``model`` (``provider=`` is its synonym) > a ``complexity`` route
(``parley.routes``) > the user's override for this service type > the user's default >
``parley.default_model``. ``Choice.source`` says which applied:
explicit | route | service | user | default.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from core.catalog import Catalog
from core.config import Settings
from core.errors import BadRequestError, ConfigError

__all__ = ["Choice", "choose_model", "PreferenceReader"]

PreferenceReader = Callable[[str], Mapping[str | None, str]]


@dataclass(frozen=True)
class Choice:
    model: str
    source: str


def choose_model(settings: Settings, catalog: Catalog, *, user_id: str | None,
                 service_type: str | None, model: str | None = None, provider: str | None = None,
                 complexity: str | None = None, preferences: PreferenceReader | None = None) -> Choice:
    """Resolve the model for one call; raises ``BadRequestError``/``UnknownModelError``."""
    if model and provider and model != provider:
        raise BadRequestError(f"model={model!r} and provider={provider!r} disagree; give one of them.")
    named = model or provider
    if named:
        catalog.get(named)
        return Choice(named, "explicit")
    if complexity:
        routes = settings.routes
        if complexity not in routes:
            known = ", ".join(sorted(routes)) or "none are configured (parley.routes)"
            raise BadRequestError(f"Complexity {complexity!r} has no route; choose one of: {known}.")
        return Choice(routes[complexity], "route")
    stored = preferences(user_id) if (preferences and user_id) else {}
    if service_type and stored.get(service_type) in catalog.names():
        return Choice(stored[service_type], "service")
    if stored.get(None) in catalog.names():
        return Choice(stored[None], "user")
    if settings.default_model is None:
        raise ConfigError("no default model is configured", source=settings.source,
                          key="parley.default_model")
    return Choice(settings.default_model, "default")
