"""Several API workers on one port, each accepting on its own socket: ``serve --workers N``.

uvicorn's own workers share one listening socket, and whichever wakes first accepts every
connection waiting (up to its backlog, 2048): a client that opens its pool of keep-alive
connections at once (wrk, an agent framework, an SDK under load) lands them all on one
worker, which then carries that client's whole load while the others idle (bench/api.py saw a
two-worker server use one core). Here each worker listens on a socket of its own bound with
``SO_REUSEPORT``, and the kernel spreads new connections over them by their addresses, as
nginx's ``reuseport`` and gunicorn's ``--reuse-port`` do.

    Workers(options, host, port, count).run()   # returns when stopped (SIGTERM, SIGINT)

The supervisor holds the port with a socket that is bound and never listens (so a port in use
fails at once, with one message, and port 0 picks one port for all workers); no connection
is ever queued on it. A worker that dies is replaced (a dead worker's spool is shipped by the
next one to start, core/recording); one that fails while starting, before any worker has
served, stops them all. Only processes of the same user can join a ``SO_REUSEPORT`` port:
that is the one boundary it adds (uvicorn's shared socket had none to add).
"""
from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time

__all__ = ["Workers", "reuse_port_supported", "STARTUP_FAILURE"]

_LOG = logging.getLogger("parley.serve")
STARTUP_FAILURE = 3  # uvicorn's exit code when a server cannot start
_BACKOFF = (1.0, 30.0)  # a worker failing again and again is restarted at most this often


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker(options: dict, host: str, port: int, ready) -> None:
    """One worker process: uvicorn's server on a socket of its own (uvicorn listens on it with
    its backlog); ``ready`` is set once it serves."""
    import uvicorn

    config = uvicorn.Config(**options)
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            ready.set()

    threading.Thread(target=announce, name="parley-ready", daemon=True).start()
    server.run(sockets=[_socket(host, port)])


class _Slot:
    """One worker's place: its process, and whether it ever served."""

    def __init__(self, context, options: dict, host: str, port: int):
        self.ready = context.Event()
        self.process = context.Process(target=_worker, args=(options, host, port, self.ready),
                                       daemon=False)
        self.process.start()


class Workers:
    """``count`` uvicorn workers of ``options`` (``uvicorn.Config`` keyword arguments, the app
    as an import string) on ``host:port``, supervised until SIGTERM or SIGINT."""

    def __init__(self, options: dict, host: str, port: int, count: int, *,
                 stop_seconds: float = 10.0):
        self.options, self.host, self.port, self.count = options, host, port, count
        self.stop_seconds = stop_seconds  # a worker's graceful stop, before it is killed
        self._stop = threading.Event()

    def run(self) -> int:
        try:
            holder = _socket(self.host, self.port)
        except OSError as exc:
            _LOG.error("Cannot serve on %s:%s: %s", self.host, self.port, exc.strerror or exc)
            return STARTUP_FAILURE
        port = holder.getsockname()[1]
        context = multiprocessing.get_context("spawn")
        previous = {sig: signal.signal(sig, lambda *_: self._stop.set())
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        slots: list[_Slot] = []
        served, failures, code = False, 0, 0
        try:
            slots += [_Slot(context, self.options, self.host, port) for _ in range(self.count)]
            while not self._stop.wait(0.2):
                served = served or any(s.ready.is_set() for s in slots)
                for i, slot in enumerate(slots):
                    if slot.process.is_alive():
                        continue
                    exitcode = slot.process.exitcode
                    if not served and not slot.ready.is_set():
                        _LOG.error("A worker could not start (exit code %s).", exitcode)
                        code = STARTUP_FAILURE
                        self._stop.set()
                        break
                    failures = 0 if slot.ready.is_set() else failures + 1
                    delay = min(_BACKOFF[1], _BACKOFF[0] * 2 ** failures) if failures else 0
                    _LOG.warning("Worker %s exited (code %s); starting another%s.", slot.process.pid,
                                 exitcode, f" in {delay:.0f} s" if delay else "")
                    if self._stop.wait(delay):
                        break
                    slots[i] = _Slot(context, self.options, self.host, port)
        finally:
            self._shut(slots)
            holder.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _shut(self, slots: list[_Slot]) -> None:
        """SIGTERM to every worker (each finishes its requests and ships its records), then
        SIGKILL to any still running after ``stop_seconds``."""
        for slot in slots:
            if slot.process.is_alive():
                slot.process.terminate()
        deadline = time.monotonic() + self.stop_seconds
        for slot in slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                _LOG.warning("Worker %s did not stop in %.0f s: killed.", slot.process.pid,
                             self.stop_seconds)
                slot.process.kill()
                slot.process.join(5)
