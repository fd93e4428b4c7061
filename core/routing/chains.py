"""Every model that could answer a call after its own: its fallbacks of every kind, in order.

``router_settings`` names three kinds (LiteLLM proxy's format): ``fallbacks`` (any failure;
``default_fallbacks`` and a ``"*"`` entry apply to a model with no chain of its own),
``context_window_fallbacks`` (the prompt is too long) and ``content_policy_fallbacks`` (the
provider refused the content). ``chains_for`` resolves all three for one model, keeping only
configured, usable models the caller may use (``allows``: an API key's model list), so a key
limited to some models is never answered by another through any of them.

The gateway hands these chains to the Router with each request, so the Router's own lists
never decide: the plan made before the call is the whole of what may answer it.
"""
from __future__ import annotations

from typing import Callable, Iterable

from core.catalog import Catalog
from core.config import Settings
from core.llm.gateway import Chains

__all__ = ["chains_for"]

_ANY = "*"




def chains_for(settings: Settings, catalog: Catalog, model: str, *,
               allows: Callable[[str], bool] = lambda _name: True) -> Chains:
    """``model``'s chains from ``settings.router_settings``: configured models only, usable
    ones only (a key set, the bundled model installed), and only those ``allows`` accepts."""
    router = settings.router_settings
    known = set(catalog.names())

    def usable(names: Iterable[str]) -> tuple[str, ...]:
        return tuple(name for name in dict.fromkeys(names)
                     if name != model and name in known and catalog.get(name).available
                     and allows(name))

    return Chains(fallbacks=usable(_chain(router.get("fallbacks"), model,
                                          router.get("default_fallbacks"))),
                  context_window=usable(_chain(router.get("context_window_fallbacks"), model)),
                  content_policy=usable(_chain(router.get("content_policy_fallbacks"), model)))


def _chain(entries, model: str, default=None) -> list[str]:
    """The targets ``entries`` (a list of ``{model: [targets]}``) give ``model``: its own
    entry, else a ``"*"`` entry, else ``default``."""
    generic = None
    for entry in entries or []:
        if model in entry:
            return list(entry[model])
        if _ANY in entry and generic is None:
            generic = list(entry[_ANY])
    return generic if generic is not None else list(default or [])
