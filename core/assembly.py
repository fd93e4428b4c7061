"""The one composition root: how the app, the API server and the CLI are put together.

    parley = assemble(env, team=False)
    parley.service, parley.keyring, parley.start_alerts()
    parley.close()

``AIService.from_env`` builds the service on one store, opened once (on first use: loading
settings connects to nothing), that the recorder, the preferences and the budget guard share;
``assemble`` hands that same store to the keyring and the alert watcher, so a page, an API
worker and a CLI command hold one store each, wired the same way. ``ui/deps.py``,
``core/api/serve.py`` and ``core/cli/context.py`` all call it.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Mapping

from core.errors import ParleyError
from core.guards import SpendCounter
from core.keys import KeyRing
from core.service import AIService
from core.store import open_store
from core.store.shared import SharedStore

__all__ = ["Parley", "assemble", "keyring_for"]

log = logging.getLogger("parley")


@dataclass
class Parley:
    """A process's parts; the service owns the one store and closes it last."""

    service: AIService
    keyring: KeyRing
    env: Mapping[str, str]

    @property
    def settings(self):
        return self.service.settings

    def start_alerts(self):
        """The spend-alert watcher on its own thread when ``parley.alerts`` is set, else None
        (core/console/alerts.py), on the shared store; the caller closes it."""
        from core.console.alerts import start_watcher

        return start_watcher(self.settings, self.env, store_opener=self.service.shared_store)

    def warm_prices(self) -> None:
        """Read the price book now (synced with the configuration), so no call waits for it;
        a store that cannot be read now is read by the first call instead."""
        if self.service.prices is None:
            return
        try:
            self.service.prices.refresh()
        except ParleyError as err:
            log.warning("the price book could not be read at start: %s", err)

    def close(self, ship_seconds: float = 5.0) -> None:
        """Stop the keyring, then the service (its recorder ships what it can within
        ``ship_seconds``; then the store closes)."""
        self.keyring.close()
        self.service.close(ship_seconds)


def assemble(env: Mapping[str, str] | None = None, *, config: str | None = None,
             team: bool = False, store: SharedStore | None = None,
             client: str = "parley-python") -> Parley:
    """Every part for ``env`` (default ``os.environ``) and ``config`` (default
    ``PARLEY_CONFIG`` or ./parley.yaml), on ``store`` (default: the configured store, opened on
    first use). ``team``: several users sign in, so each is held to the team rate limit.
    ``client``: what the calls made here (not through an API route, which names the caller's
    client) are recorded as coming from: ``parley-app``, ``parley-cli`` or ``parley-python``."""
    env = os.environ if env is None else env
    service = AIService.from_env(env, config=config, team=team, store=store)
    service.client = client
    return Parley(service, keyring_for(service), env)


def keyring_for(service: AIService) -> KeyRing:
    """The API keys in ``service``'s store; their month-to-date spend is shared by every worker
    through Redis when it is configured."""
    settings = service.settings
    opener = service.shared_store or (lambda: open_store(settings.database_url,
                                                         data_dir=settings.data_dir))
    return KeyRing(opener, spend=SpendCounter(settings.redis_url) if settings.redis_url else None)
