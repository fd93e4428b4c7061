"""What every command shares: the settings, the parts (``core.assembly``) and the one store
behind them, each built on first use (``models`` loads no litellm and opens no store;
``usage`` opens no provider), and how results are printed."""
from __future__ import annotations

import argparse
import json
from typing import Any, Callable

from core.assembly import Parley, assemble
from core.cli.store import StoreContext
from core.config import load_settings
from core.store import open_store
from core.store.shared import SharedStore

__all__ = ["Context", "emit"]


class Context:
    """What commands share. The store is opened once, on first use, whether a command asks
    for it directly (``db``, ``usage``, ``prefs``) or through the service and keys."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self._settings = None
        self._parts: Parley | None = None
        self._stores: StoreContext | None = None
        self._shared: SharedStore | None = None

    @property
    def settings(self):
        if self._settings is None:
            self._settings = load_settings(self.args.config)
        return self._settings

    @property
    def parts(self) -> Parley:
        if self._parts is None:
            self._parts = assemble(config=self.args.config, store=self._store_handle(),
                                   client="parley-cli")
            self._settings = self._parts.settings
        return self._parts

    @property
    def service(self):
        return self.parts.service

    @property
    def keyring(self):
        return self.parts.keyring

    def store(self):
        """The configured store (for the db, usage, prefs and keys commands)."""
        return self._store_context().store()

    def recorder(self):
        """The service's recorder when a call was made, else one for the backlog commands."""
        if self._parts is not None and self._parts.service.recorder is not None:
            return self._parts.service.recorder
        return self._store_context().recorder()

    def _store_handle(self) -> SharedStore:
        if self._shared is None:
            settings = self.settings
            self._shared = SharedStore(lambda: open_store(settings.database_url,
                                                          data_dir=settings.data_dir))
        return self._shared

    def _store_context(self) -> StoreContext:
        if self._stores is None:
            self._stores = StoreContext(self.settings, store_opener=self._store_handle())
        return self._stores

    def close(self) -> None:
        if self._stores is not None:
            self._stores.close()
        if self._parts is not None:
            self._parts.close()  # closes the store last
        elif self._shared is not None:
            self._shared.close()


def emit(data: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    print(json.dumps(data, indent=2, default=str) if as_json else render(data))
