"""An event loop on a daemon thread, for synchronous callers (Streamlit pages, scripts, the
CLI): they share one loop, and so its HTTP connection pools, instead of starting a loop per
call. ``AIService`` runs ``generate_sync``, ``stream_sync`` and ``submit`` on it."""
from __future__ import annotations

import asyncio
import threading
from typing import AsyncIterator, Iterator

__all__ = ["LoopThread"]


class LoopThread:
    """An event loop on a daemon thread, so synchronous callers share one loop (and its
    HTTP connection pools) instead of starting a new loop per call."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="parley-loop", daemon=True)
        self.thread.start()

    def run(self, coro):
        if self.loop.is_closed():
            coro.close()  # never scheduled: closed here, not left to warn at collection
            raise RuntimeError("Parley's background loop is stopped")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def iterate(self, agen: AsyncIterator) -> Iterator:
        """Drive an async iterator from synchronous code, one item at a time."""
        try:
            while True:
                try:
                    yield self.run(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self.run(agen.aclose())

    def stop(self) -> None:
        """Cancel what still runs on the loop (LiteLLM leaves a logging worker there), then
        stop and close it; a task left pending, or a loop left open, would be destroyed with a
        warning at exit."""
        if self.thread.is_alive():
            self.run(_cancel_other_tasks())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


async def _cancel_other_tasks() -> None:
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
