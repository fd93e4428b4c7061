"""What every command shares: the settings, the service and the store, each built on first
use (``models`` loads no litellm; ``usage`` opens no provider), and how results are printed."""
from __future__ import annotations

import argparse
import json
from typing import Any, Callable

from core.config import load_settings
from core.cli.store import StoreContext
from core.service import AIService

__all__ = ["Context", "emit"]


class Context:
    """What commands share: settings and the service, each built on first use."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self._service = None
        self._settings = None
        self._stores = None

    @property
    def settings(self):
        if self._settings is None:
            self._settings = load_settings(self.args.config)
        return self._settings

    @property
    def service(self):
        if self._service is None:
            self._service = AIService.from_env(config=self.args.config)
            self._settings = self._service.settings
        return self._service

    def store(self):
        """The configured store (for the db, usage and prefs commands)."""
        return self._store_context().store()

    def recorder(self):
        """The service's recorder when a call was made, else one for the backlog commands."""
        if self._service is not None and self._service.recorder is not None:
            return self._service.recorder
        return self._store_context().recorder()

    def _store_context(self):
        if self._stores is None:
            self._stores = StoreContext(self.settings)
        return self._stores

    def close(self) -> None:
        if self._service is not None:
            self._service.close()
        if self._stores is not None:
            self._stores.close()


def emit(data: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    print(json.dumps(data, indent=2, default=str) if as_json else render(data))
