"""Every call's record: durable on local disk before the call returns, then shipped.

``open_recorder(settings)`` gives the ``Recorder`` for the configured store (rooms: ``recorder``
ships batches from the ``spool``; ``records`` turns a call's attempts into rows).
"""
from __future__ import annotations

import os
from typing import Any, Callable, Mapping

from core.config import Settings
from core.recording.recorder import Recorder, spool_dir_for
from core.recording.telemetry import Telemetry
from core.store import open_store

__all__ = ["open_recorder", "Recorder"]


def open_recorder(settings: Settings, env: Mapping[str, str] | None = None, *,
                  store_opener: Callable[[], Any] | None = None) -> Recorder:
    """A recorder shipping to the store ``store_opener`` opens (default: the configured one),
    spooling under ``settings.data_dir``, with spans and metrics of every call
    (``core/recording/telemetry.py``; spans when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set)."""
    env = os.environ if env is None else env
    opener = store_opener or (lambda: open_store(settings.database_url, data_dir=settings.data_dir,
                                                 env=env))
    return Recorder(opener,
                    spool_dir_for(settings.data_dir, settings.database_url),
                    privacy=settings.privacy, secrets=settings.secrets(),
                    telemetry=Telemetry.from_env(env, privacy=settings.privacy))
