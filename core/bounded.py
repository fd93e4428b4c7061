"""User-supplied work, bounded: a deadline it checks, a few worker threads off the event loop,
and regular expressions matched in linear time.

Templates, JSON schemas and regex checks come from users; one of them must not stall the
server or the other users. Three tools make that so:

- ``Deadline`` / ``check_deadline()``: the work being bounded (template rendering, schema
  validation) calls ``check_deadline()`` often; past the deadline it raises ``LimitExceeded``
  naming the limit. The deadline is per thread, so concurrent work does not share one.
- ``run_off_loop(fn, *args, seconds=...)``: runs ``fn`` on one of ``WORKERS`` daemon threads
  and awaits it, so the event loop keeps serving everyone else. The threads are daemons: a
  worker still busy at exit never holds the process (``asyncio.to_thread``'s executor is
  joined at shutdown, which would let one request delay a SIGTERM). If ``fn`` has not
  returned ``GRACE`` seconds after its deadline, the caller gets ``LimitExceeded`` anyway.
- ``compile_pattern`` / ``search``: RE2 (google-re2), a linear-time engine. Python's ``re``
  backtracks (``^(a+)+$`` on 30 a's and a ``!`` takes about a minute) and holds the GIL
  while it does, so no thread or timeout can interrupt it. The ``regex`` package can time out,
  but a hostile pattern still burns its whole timeout of CPU on every request; RE2 cannot
  backtrack at all. The price: no backreferences and no lookaround, which RE2 refuses at
  compile time with ``BadRequestError`` naming the pattern.
"""
from __future__ import annotations

import asyncio
import functools
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import re2

from core.errors import BadRequestError

__all__ = [
    "GRACE",
    "MAX_PATTERN_CHARS",
    "WORKERS",
    "Deadline",
    "LimitExceeded",
    "check_deadline",
    "compile_pattern",
    "run_off_loop",
    "search",
]

WORKERS = 4
GRACE = 1.0
MAX_PATTERN_CHARS = 1_000
_T = TypeVar("_T")
_local = threading.local()


class LimitExceeded(BadRequestError):
    """User-supplied work went past one of its limits; the message names the limit."""

    kind = "limit_exceeded"


class Deadline:
    """``with Deadline(2.0, "rendering the template"):`` bounds the work in this thread;
    ``check_deadline()`` inside it raises ``LimitExceeded`` once 2 s have passed. Nested
    deadlines keep the earlier of the two."""

    def __init__(self, seconds: float, what: str):
        self.seconds, self.what = seconds, what
        self.ends = time.monotonic() + seconds
        self._outer: Deadline | None = None

    def __enter__(self) -> Deadline:
        self._outer = getattr(_local, "deadline", None)
        if self._outer is None or self.ends < self._outer.ends:
            _local.deadline = self
        return self

    def __exit__(self, *exc: object) -> None:
        _local.deadline = self._outer

    def exceeded(self) -> LimitExceeded:
        return LimitExceeded(f"{self.what[:1].upper()}{self.what[1:]} took longer than the "
                             f"{self.seconds:g}-second limit; make it simpler.")


def check_deadline() -> None:
    """Raise ``LimitExceeded`` if this thread's deadline (if any) has passed."""
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline.ends:
        raise deadline.exceeded()


class _Pool:
    """``WORKERS`` daemon threads, started on first use, pulling ``(fn, future)`` jobs."""

    def __init__(self, size: int):
        self.size = size
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.started = 0
        self.lock = threading.Lock()

    def submit(self, fn: Callable[[], _T]) -> Future:
        future: Future = Future()
        with self.lock:
            if self.started < self.size:
                self.started += 1
                threading.Thread(target=self._work, name=f"parley-bounded-{self.started}",
                                 daemon=True).start()
        self.jobs.put((fn, future))
        return future

    def _work(self) -> None:
        while True:
            fn, future = self.jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the awaiting caller, never lost
                future.set_exception(exc)


_POOL = _Pool(WORKERS)


async def run_off_loop(fn: Callable[..., _T], *args: Any, seconds: float, what: str) -> _T:
    """``fn(*args)`` on a worker thread under ``Deadline(seconds, what)``; its result or its
    exception. ``LimitExceeded`` if it is still running ``GRACE`` s after the deadline (the
    thread finishes on its own; the caller no longer waits)."""
    deadline = Deadline(seconds, what)

    def bounded() -> _T:
        with deadline:
            return fn(*args)

    future = _POOL.submit(bounded)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), seconds + GRACE)
    except TimeoutError:
        future.cancel()
        raise deadline.exceeded() from None


def compile_pattern(pattern: Any, where: str, noun: str = "pattern") -> Any:
    """``pattern`` compiled by RE2, or ``BadRequestError`` saying why it cannot be used."""
    if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN_CHARS:
        raise BadRequestError(f"{where}: a pattern must be text of at most "
                              f"{MAX_PATTERN_CHARS:,} characters.")
    try:
        return _compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise BadRequestError(
            f"{where}: the {noun} {pattern[:80]!r} is invalid ({reason}); patterns are "
            "matched by RE2, which has no backreferences or lookaround.") from None


def search(pattern: str, text: str) -> bool:
    """True if ``pattern`` (RE2) matches somewhere in ``text``; ``BadRequestError`` if the
    pattern cannot be compiled."""
    return compile_pattern(pattern, "The pattern").search(text) is not None


_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the refusal says why; RE2 need not also write to stderr


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, _OPTIONS)
