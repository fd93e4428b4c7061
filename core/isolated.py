"""User-supplied work in a worker process: it cannot take the server's GIL, and it is killed
at its deadline.

A thread off the event loop (``core.bounded.run_off_loop``) keeps the loop free, but a
template rendering for its full 2 seconds still competes with the server for the GIL, and
every other user's request waits its turn (up to about 200 ms measured). Here the work runs in
one of ``WORKERS`` long-lived processes instead:

    system, prompt = await run_isolated(render_texts, system, template, variables, where,
                                        seconds=4.0, what="rendering template greeting@2")

- The processes start on first use (``forkserver``: forked from a small server process that
  has already imported ``PRELOAD``, so a replacement starts in milliseconds, not the seconds
  importing ``core`` takes), are daemons, and are killed at exit. A worker whose server has
  gone finds its pipe closed and exits. The fork server is multiprocessing's, shared by the
  process: if something else started it first, ``PRELOAD`` is imported by each worker instead.
- ``fn`` must be a module-level function (it is pickled by name); its arguments are pickled
  in this process. The child runs ``fn(*args)`` under ``Deadline(seconds, what)`` (the work's
  own ``check_deadline()`` calls stop it there) and answers in JSON, so this process never
  unpickles anything the child sends.
- If the child has not answered ``GRACE`` seconds after the deadline, it is killed, a new
  one takes its place on the next call, and the caller gets ``LimitExceeded`` naming the limit.
- Busy workers make a caller wait for the next one free; the wait does not block the loop.
- Workers run at ``NICENESS``: when the machine's cores are all busy, the CPU a render burns
  is taken from the server answering other users last.
"""
from __future__ import annotations

import asyncio
import atexit
import collections
import json
import logging
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

from core.bounded import GRACE, Deadline, LimitExceeded
from core.errors import BadRequestError

__all__ = ["NICENESS", "PRELOAD", "WORKERS", "run_isolated", "shutdown", "warm"]

WORKERS = 2
# What the fork server imports once, so that no worker does: the program's main module (which
# multiprocessing re-imports in a child; a script must guard its main with ``if __name__ ==
# "__main__":``, as for any multiprocessing) and the modules a render needs.
PRELOAD = ["__main__", "core.prompts"]
NICENESS = 10  # workers yield the CPU to the server: on a busy machine, requests come first
_log = logging.getLogger(__name__)
_RETURNED: dict[str, type[BadRequestError]] = {"LimitExceeded": LimitExceeded,
                                               "BadRequestError": BadRequestError}


async def run_isolated(fn: Callable[..., Any], *args: Any, seconds: float, what: str) -> Any:
    """``fn(*args)`` in a worker process under ``Deadline(seconds, what)``; its result, as JSON
    gives it back (a tuple arrives as a list). A ``BadRequestError`` or ``LimitExceeded`` raised
    in the child is raised here with the same type and sentence (another ``BadRequestError``
    subclass arrives as ``BadRequestError``). ``LimitExceeded`` if the child has not answered
    ``GRACE`` s after the deadline (it is killed). ``BadRequestError`` if ``args`` cannot be
    pickled; ``RuntimeError`` for any other failure in the child (a bug, not the user's)."""
    deadline = Deadline(seconds, what)
    try:
        job = pickle.dumps((fn, args, seconds, what))
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise BadRequestError(f"{_sentence(what)} needs plain values (text, numbers, lists, "
                              f"mappings); this one cannot be sent to its worker ({exc}).") from None
    worker = await _POOL.acquire()
    try:
        reply = await worker.exchange(job, seconds + GRACE)
    except TimeoutError:
        _POOL.discard(worker)
        raise deadline.exceeded() from None
    except (EOFError, OSError) as exc:
        _POOL.discard(worker)
        raise RuntimeError(f"{_sentence(what)} ended its worker process ({exc!r}).") from None
    except BaseException:  # cancelled mid-job: the worker's answer would come to no one
        _POOL.discard(worker)
        raise
    _POOL.release(worker)
    return _outcome(reply, what)


def warm() -> None:
    """Start the workers now, in the background (a server calls this at startup), so that the
    first render does not wait for the fork server's imports. Without it they start on first
    use."""
    _POOL.warm()


def shutdown() -> None:
    """Kill every worker now (registered to run at exit once one has started)."""
    _POOL.close()


class _Worker:
    """One worker process and this side of its pipe; used by one caller at a time."""

    def __init__(self, context: multiprocessing.context.BaseContext, number: int):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True,
                                       name=f"parley-isolated-{number}")
        self.process.start()
        child.close()

    async def exchange(self, job: bytes, timeout: float) -> dict[str, Any]:
        """Send ``job``; the child's decoded reply, or ``TimeoutError`` after ``timeout`` s,
        ``EOFError`` if the child died. Waits on the pipe's descriptor, never on the loop."""
        self.conn.send_bytes(job)
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        fd = self.conn.fileno()
        loop.add_reader(fd, lambda: readable.done() or readable.set_result(None))
        try:
            await asyncio.wait_for(readable, timeout)
        finally:
            loop.remove_reader(fd)
        return json.loads(self.conn.recv_bytes().decode("utf-8", "surrogatepass"))

    def kill(self) -> None:
        """Kill the process and close the pipe; a daemon thread reaps it."""
        if self.process.is_alive():
            self.process.kill()
        self.conn.close()
        threading.Thread(target=self.process.join, name="parley-isolated-reaper", daemon=True).start()


class _Pool:
    """At most ``size`` workers, started as callers need them. ``acquire`` gives a caller a
    worker of its own: an idle one, a new one while fewer than ``size`` live, or else the next
    one released. Callers may be on different event loops, so the state is under a lock and
    waiters are woken through their own loop."""

    def __init__(self, size: int):
        self.size, self.live, self.started = size, 0, 0
        self.idle: list[_Worker] = []
        self.all: set[_Worker] = set()
        self.waiters: collections.deque[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = collections.deque()
        self.lock = threading.Lock()

    async def acquire(self) -> _Worker:
        loop = asyncio.get_running_loop()
        with self.lock:
            if self.idle:
                return self.idle.pop()
            if self.live < self.size:
                self.live += 1
                waiting = None
            else:
                waiting = loop.create_future()
                self.waiters.append((loop, waiting))
        handed = None if waiting is None else await waiting
        # ``None``: a free slot rather than a worker; start one there, off the loop.
        return handed if handed is not None else await self._start()

    def release(self, worker: _Worker) -> None:
        """``worker`` is healthy and free: to the first waiter, or idle."""
        self._hand_on(worker)

    def discard(self, worker: _Worker) -> None:
        """``worker`` is dead or stuck: kill it; its slot goes to the first waiter, or is freed."""
        worker.kill()
        with self.lock:
            self.all.discard(worker)
        self._hand_on(None)

    def close(self) -> None:
        with self.lock:
            workers, self.idle, self.all, self.live = list(self.all), [], set(), 0
        for worker in workers:
            worker.kill()

    def _hand_on(self, worker: _Worker | None) -> None:
        with self.lock:
            while self.waiters:
                loop, waiting = self.waiters.popleft()
                try:
                    loop.call_soon_threadsafe(self._give, waiting, worker)
                    return
                except RuntimeError:  # that waiter's loop is closed: the next one
                    continue
            if worker is None:
                self.live = max(0, self.live - 1)  # after close(), live is already 0
            else:
                self.idle.append(worker)

    def _give(self, waiting: asyncio.Future, worker: _Worker | None) -> None:
        if waiting.done():  # the waiter was cancelled meanwhile: pass it on
            self._hand_on(worker)
        else:
            waiting.set_result(worker)

    async def _start(self) -> _Worker:
        """A new worker for a slot already counted in ``live``, started on a thread. If the
        caller stops waiting (cancelled) or the start fails, the pool adopts the outcome: the
        worker goes to the next caller, or the slot is freed."""
        started: Future = Future()
        started.set_running_or_notify_cancel()  # so that a cancelled caller cannot cancel it
        threading.Thread(target=self._start_into, args=(started,), daemon=True,
                         name="parley-isolated-start").start()
        try:
            return await asyncio.wrap_future(started)
        except BaseException:
            started.add_done_callback(self._adopt)
            raise

    def warm(self) -> None:
        """Start every worker not yet started, on a thread; they wait idle for callers."""
        with self.lock:
            missing, self.live = self.size - self.live, self.size
        for _ in range(missing):
            started: Future = Future()
            started.set_running_or_notify_cancel()
            started.add_done_callback(self._adopt)
            threading.Thread(target=self._start_into, args=(started,), daemon=True,
                             name="parley-isolated-start").start()

    def _start_into(self, started: Future) -> None:
        try:
            started.set_result(self._new_worker())
        except BaseException as exc:  # handed to the caller, or logged by _adopt
            started.set_exception(exc)

    def _adopt(self, started: Future) -> None:
        if started.exception() is None:
            self._hand_on(started.result())
        else:
            _log.warning("A worker process could not be started: %r", started.exception())
            self._hand_on(None)

    def _new_worker(self) -> _Worker:
        context = multiprocessing.get_context("forkserver")
        with self.lock:
            first, self.started = self.started == 0, self.started + 1
            number = self.started
        if first:
            context.set_forkserver_preload(PRELOAD)
            atexit.register(shutdown)
        worker = _Worker(context, number)
        with self.lock:
            self.all.add(worker)
        return worker


_POOL = _Pool(WORKERS)


def _serve(conn: Connection) -> None:
    """A worker's life: run each job it is sent and answer, until its server goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server, which closes us
    os.nice(NICENESS)
    while True:
        try:
            fn, args, seconds, what = pickle.loads(conn.recv_bytes())
            conn.send_bytes(_reply(fn, args, seconds, what))
        except (EOFError, OSError):  # the server closed the pipe or is gone
            return


def _reply(fn: Callable[..., Any], args: tuple, seconds: float, what: str) -> bytes:
    """The JSON answer to one job: ``{"result": ...}``, ``{"error": type, "message": ...}`` for
    a ``BadRequestError``, or ``{"crash": ...}`` for anything else."""
    try:
        with Deadline(seconds, what):
            answer: dict[str, Any] = {"result": fn(*args)}
        text = json.dumps(answer, ensure_ascii=False)
    except BadRequestError as exc:
        name = type(exc).__name__ if type(exc).__name__ in _RETURNED else "BadRequestError"
        text = json.dumps({"error": name, "message": str(exc)}, ensure_ascii=False)
    except Exception as exc:  # noqa: BLE001 - reported to the caller as a crash, never lost
        text = json.dumps({"crash": f"{type(exc).__name__}: {exc}"}, ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def _outcome(reply: dict[str, Any], what: str) -> Any:
    if "result" in reply:
        return reply["result"]
    if "error" in reply:
        raise _RETURNED[reply["error"]](reply["message"])
    raise RuntimeError(f"{_sentence(what)} failed in its worker process: {reply['crash']}")


def _sentence(what: str) -> str:
    return f"{what[:1].upper()}{what[1:]}"
