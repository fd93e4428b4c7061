"""A served worker's startup (core/api/serve.py): what it built is frozen out of the
collector's sight, so a full collection under load walks only what requests made (a full
walk of ~400k startup objects stopped the loop ~150 ms, stalling every stream)."""
from __future__ import annotations

import gc

from starlette.testclient import TestClient


def test_a_worker_freezes_what_its_startup_built(api_env):
    from core.api.serve import build

    before = gc.get_freeze_count()
    try:
        with TestClient(build()) as client:
            frozen = gc.get_freeze_count()
            assert client.get("/api/openapi.json").status_code == 200
        assert frozen > before + 10_000  # litellm, the Router and the app at least
    finally:
        gc.unfreeze()  # this test process goes on collecting as before
