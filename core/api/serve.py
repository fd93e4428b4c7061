"""The API alone under uvicorn: ``python -m core serve [--host H] [--port P] [--workers N]``.

Each worker process imports this module and builds its own ``AIService`` from the
environment (``app`` is a factory target: ``uvicorn core.api.serve:build --factory``).
Calls are recorded by each worker's recorder to the configured store; rate limits are shared
through Redis when ``PARLEY_REDIS_URL`` is set, and per worker otherwise. With
``parley.alerts`` set, each worker also runs an alert watcher (core/console/alerts.py). Each
worker starts its template-rendering processes (core/isolated.py) at startup.

Bounded against slow or hostile clients: request headers must arrive within
``HEADER_SECONDS`` (core/api/slow_clients.py), bodies within ``BODY_SECONDS`` (core/api/app.py),
and on SIGTERM requests still open after ``GRACEFUL_SECONDS`` are cancelled, so the server
stops within about ``GRACEFUL_SECONDS`` plus the recorder's flush.
"""
from __future__ import annotations

import contextlib
import gc

__all__ = ["build", "run", "GRACEFUL_SECONDS"]

GRACEFUL_SECONDS = 2  # requests in flight at SIGTERM get this long to finish
SHIP_SECONDS = 1.0  # then the recorder ships for at most this long (the rest waits in the spool)


def build():
    """A FastAPI app on the parts ``core.assembly`` puts together; they are closed (the
    recorder flushed, the store closed last) when the server shuts down."""
    from core import isolated
    from core.api.app import create_app
    from core.assembly import assemble

    parley = assemble()
    watcher = parley.start_alerts()  # every worker checks; each alert is sent once

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        isolated.warm()  # template workers start now, not on the first user's render
        # litellm's import and the Router take seconds: done before the first request, not
        # on the event loop in the middle of serving (it would stall every user and SIGTERM)
        parley.service.gateway.router  # noqa: B018 - built now, on purpose
        await parley.service.gateway.pool()  # one pool of provider connections on this loop
        parley.warm_prices()  # the price book is read before the first call needs it
        # What startup built (litellm, the Router, the app: ~400k objects) lives as long as
        # the worker: out of the collector's sight, a full collection no longer walks it
        # (~150 ms with the loop stopped, every stream stalled, bench/api.py)
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if watcher is not None:
                watcher.close()
            await parley.service.gateway.aclose()  # the fast path's connections, on this loop
            parley.close(ship_seconds=SHIP_SECONDS)

    app = create_app(parley.service, parley.keyring)
    app.router.lifespan_context = lifespan
    return app


def run(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, log_level: str = "warning") -> None:
    """Serve until SIGTERM or SIGINT: one uvicorn server, or ``workers`` of them each on its
    own ``SO_REUSEPORT`` socket (core/api/workers.py; uvicorn's shared socket where the
    platform has no ``SO_REUSEPORT``)."""
    import uvicorn

    from core.api.slow_clients import HeaderDeadlineProtocol
    from core.api.workers import Workers, reuse_port_supported

    options = dict(app="core.api.serve:build", factory=True, host=host, port=port,
                   log_level=log_level, access_log=False, http=HeaderDeadlineProtocol,
                   timeout_graceful_shutdown=GRACEFUL_SECONDS)
    if workers > 1 and reuse_port_supported():
        code = Workers(options, host, port, workers,
                       stop_seconds=GRACEFUL_SECONDS + SHIP_SECONDS + 5).run()
        if code:
            raise SystemExit(code)
        return
    uvicorn.run(**options, workers=workers)
