"""Runs executing in the background, by run id: a page starts one, the user may leave, and
any later script run (any session of the same process) sees its progress or cancels it.

The work runs on the ``AIService``'s own event loop thread (``service.submit``), so it outlives
the Streamlit script run that started it. Progress is read from the store
(``EvalStore.progress``), not from here, so it is the same for every viewer. A run left
``running`` by a process that died is not active here: the page offers to resume it.

Only a run's owner resumes it (``start(..., as_user=)``): its calls are made under the owner's
id and spend the owner's budget, so an admin may watch and cancel anyone's run but not spend
for them. Cancelling is for the owner or an admin.
"""
from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

from core.errors import BadRequestError

__all__ = ["BackgroundRuns"]


class BackgroundRuns:
    """Start, watch and cancel runs of one ``EvalRunner``. Thread-safe."""

    def __init__(self, runner):
        self.runner = runner
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[concurrent.futures.Future, threading.Event]] = {}

    def start(self, run_id: str, *, as_user: str | None = None) -> bool:
        """Execute ``run_id`` (what it has not answered yet) unless it is running here
        already; True if it was started now. With ``as_user`` (the signed-in user, admins
        included) only the run's owner may: anyone else gets ``BadRequestError`` and nothing
        is sent."""
        if as_user is not None:
            run = self.runner.evals.run(run_id)
            if run is not None and run["created_by"] != as_user:
                raise BadRequestError(f"Only {run['created_by']} can resume run {run_id}: its "
                                      "calls are made under their id and budget.")
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

    def cancel(self, run_id: str, *, as_user: str | None = None) -> bool:
        """Ask the run to stop starting new calls (those in flight finish and are stored).
        With ``as_user``: only the run's owner or an admin (else ``BadRequestError``)."""
        if as_user is not None and self.runner.evals.run(run_id, as_user=as_user) is None:
            raise BadRequestError(f"There is no run {run_id!r} you can open; ask its owner for "
                                  "a share link.")
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
