"""Runs executing in the background, by run id: a page starts one, the user may leave, and
any later script run (any session of the same process) sees its progress or cancels it.

The work runs on the ``AIService``'s own event loop thread (``service.submit``), so it outlives
the Streamlit script run that started it. Progress is read from the store
(``EvalStore.progress``), not from here, so it is the same for every viewer. A run left
``running`` by a process that died is not active here: the page offers to resume it.
"""
from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

__all__ = ["BackgroundRuns"]


class BackgroundRuns:
    """Start, watch and cancel runs of one ``EvalRunner``. Thread-safe."""

    def __init__(self, runner):
        self.runner = runner
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[concurrent.futures.Future, threading.Event]] = {}

    def start(self, run_id: str) -> bool:
        """Execute ``run_id`` (what it has not answered yet) unless it is running here
        already; True if it was started now."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is not None and not job[0].done():
                return False
            cancel = threading.Event()
            future = self.runner.service.submit(self.runner.execute(run_id, cancel=cancel))
            self._jobs[run_id] = (future, cancel)
            return True

    def active(self, run_id: str) -> bool:
        with self._lock:
            job = self._jobs.get(run_id)
        return job is not None and not job[0].done()

    def cancel(self, run_id: str) -> bool:
        """Ask the run to stop starting new calls (those in flight finish and are stored)."""
        with self._lock:
            job = self._jobs.get(run_id)
        if job is None or job[0].done():
            return False
        job[1].set()
        return True

    def outcome(self, run_id: str) -> dict[str, Any] | None:
        """How the run ended here (``execute``'s result, or ``{"error": sentence}``); None
        while it runs or if it was not run here."""
        with self._lock:
            job = self._jobs.get(run_id)
        if job is None or not job[0].done():
            return None
        error = job[0].exception()
        return {"error": str(error)} if error is not None else job[0].result()

    def wait(self, run_id: str, timeout: float | None = None) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(run_id)
        if job is not None:
            concurrent.futures.wait([job[0]], timeout=timeout)
        return self.outcome(run_id)
