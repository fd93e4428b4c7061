"""Non-blocking, durable, idempotent recording of call attempts.

::

    recorder = Recorder(lambda: open_store(url), spool_dir_for(data_dir, url), privacy="none")
    recorder.record(call_record)   # on the request path: privacy, redaction, one local write
    recorder.flush(timeout=10)     # ship the backlog now; returns how many were shipped
    recorder.close()               # flush and stop; registered with atexit

Contract: ``record`` never raises and never waits for the store. When it returns, the record
is on local disk (``core/recording/spool.py`` says exactly how durable) and will reach the store: a
background thread ships batches through ``Store.record_calls`` (idempotent by call id),
retries with capped exponential backoff while the store is down, and acknowledges a batch in
the spool only after the store has committed it. A crash between commit and acknowledgement
re-ships the batch, which the store skips. A later run, or any process sharing the spool
directory, ships what a dead process left behind.

Privacy of prompt and answer text (``privacy``): ``none`` drops ``messages`` and ``response``
before they reach the disk, ``hash`` keeps the sha256 hex of their canonical JSON, ``store``
keeps them. Known secrets and anything shaped like a key are masked in every mode.

A backlog ships in transactions of up to ``batch_size`` (``BATCH_SIZE``) records: the store
upserts each rollup row a batch touches once, so larger batches cost less per record, while
one transaction still holds SQLite's write lock for only a few tens of milliseconds.

A batch the store refuses as malformed (a data or integrity error, while the store is up) is
bisected; the records it refuses are set aside in the spool's ``rejected.jsonl`` so one bad
record cannot hold up the rest.
"""
from __future__ import annotations

import atexit
import hashlib
import logging
import random
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable

from core.config import PRIVACY_MODES
from core.errors import BadRequestError, ConfigError, redact
from core.results import CallRecord
from core.recording.codec import decode_records, encode_record
from core.recording.safe_form import made_safe
from core.recording.spool import Batch, Spool
from core.store.base import CallLog

__all__ = ["Recorder", "PRIVACY_MODES", "BATCH_SIZE", "spool_dir_for", "encode_record",
           "decode_records", "made_safe"]

log = logging.getLogger("parley.recorder")

BATCH_SIZE = 2000
_DATA_ERRORS = {"DataError", "IntegrityError", "ValueError", "TypeError", "UnicodeError"}


def spool_dir_for(data_dir: Path, database_url: str) -> Path:
    """Where records bound for ``database_url`` wait: one directory per target store, so a
    backlog is never shipped to a different database. Credentials do not enter the name."""
    target = re.sub(r"//[^/@]*@", "//", database_url)
    return Path(data_dir) / "spool" / hashlib.sha256(target.encode()).hexdigest()[:12]


# Built once: json.dumps with options builds a new encoder on every call.
def _is_data_error(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, BadRequestError) or any(
                cls.__name__ in _DATA_ERRORS for cls in type(exc).__mro__):
            return True
        exc = exc.__cause__
    return False


class Recorder:
    """Records ``CallRecord``s off the request path; see the module docstring for the contract.

    ``store_opener`` is called on the shipping thread (lazily, and again after a failure);
    the recorder owns and closes what it returns. Counters: ``recorded``, ``shipped`` (sent
    and committed), ``inserted`` (new rows; the rest were already stored), ``lost`` (could
    not be written locally), ``last_error`` (None while the store is healthy); ``stats()``
    adds the backlog and what was set aside.
    """

    def __init__(self, store_opener: Callable[[], CallLog], spool_dir: Path, privacy: str = "none",
                 *, batch_size: int = BATCH_SIZE, flush_interval: float = 0.2,
                 secrets: tuple[str, ...] = (), fsync: bool = False, max_backoff: float = 30.0,
                 telemetry=None):
        if privacy not in PRIVACY_MODES:
            raise ConfigError(f"must be one of {', '.join(PRIVACY_MODES)}, not {privacy!r}",
                              key="parley.privacy")
        try:
            self._spool = Spool(Path(spool_dir), fsync=fsync)
        except OSError as exc:
            raise ConfigError(f"cannot keep the call-recording queue in {spool_dir} "
                              f"({exc.strerror}); set PARLEY_DATA_DIR to a writable directory",
                              source="recorder") from None
        self._open_store, self._store = store_opener, None
        # core/recording/telemetry.py: spans and metrics of each record, seen as it is kept
        self.telemetry = telemetry
        self.privacy, self._secrets = privacy, tuple(secrets)
        self._batch_size, self._interval, self._max_backoff = batch_size, flush_interval, max_backoff
        self.recorded = self.shipped = self.inserted = self.lost = self.made_safe = 0
        self.last_error: str | None = None
        self._failures = 0
        self._since_wake = 0
        self._wake, self._stop = threading.Event(), threading.Event()
        self._cond = threading.Condition()
        self._started = self._finished = self._drained = 0
        self._flushing = self._reported = 0
        self._next_adopt = 0.0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="parley-recorder", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    @property
    def spool_dir(self) -> Path:
        return self._spool.directory

    def record(self, rec: CallRecord) -> None:
        """Make ``rec`` durable locally and queue it for the store. Never raises. A record
        holding what JSON cannot (text that is not Unicode, a non-text key, a cycle) is kept
        with those values made safe, marked so in its metadata, and counted in ``made_safe``.
        ``telemetry`` (when given) observes the record first; it never raises either."""
        if self.telemetry is not None:
            self.telemetry.observe(rec)
        try:
            try:
                line = encode_record(rec, self.privacy, self._secrets)
            except (ValueError, TypeError, UnicodeError, RecursionError) as exc:
                line = encode_record(made_safe(rec, f"{type(exc).__name__}"), self.privacy,
                                     self._secrets)
                self.made_safe += 1
                log.warning("the record of call %s held data JSON cannot hold (%s); it is kept "
                            "with that data written as text", ascii(rec.call_id), type(exc).__name__)
            self._spool.append(line)
        except Exception as exc:  # a call must not fail because its record could not be kept
            self.lost += 1
            log.error("could not keep the record of call %s locally: %s", rec.call_id,
                      redact(str(exc), self._secrets))
            return
        self.recorded += 1
        self._since_wake += 1
        if self._since_wake >= self._batch_size:
            self._since_wake = 0
            self._wake.set()

    def flush(self, timeout: float = 10.0) -> int:
        """Ship everything recorded before this call, retrying until done or ``timeout``
        seconds pass; also adopts what dead processes left. Returns how many records were
        shipped since the previous ``flush`` returned (or since the recorder started)."""
        with self._cond:
            self._flushing += 1
            self._next_adopt = 0.0
        try:
            self._wait_for_round(timeout, drained=True)
        finally:
            with self._cond:
                self._flushing -= 1
                shipped, self._reported = self.shipped - self._reported, self.shipped
        return shipped

    def backlog(self) -> int:
        """Records in the spool directory not yet in the store, across every process."""
        return self._spool.backlog()

    def stats(self) -> dict[str, Any]:
        return {"recorded": self.recorded, "shipped": self.shipped, "inserted": self.inserted,
                "backlog": self.backlog(), "rejected": self._spool.rejected(),
                "torn": self._spool.torn, "lost": self.lost, "made_safe": self.made_safe,
                "last_error": self.last_error,
                "spool_dir": str(self.spool_dir)}

    def close(self, timeout: float = 5.0) -> None:
        """Make one last attempt to ship (at most ``timeout`` seconds), then stop. What the
        store did not take stays in the spool for the next run."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        deadline = time.monotonic() + timeout
        self._wait_for_round(timeout, drained=False)
        self._stop.set()
        self._wake.set()
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self.telemetry is not None:
            self.telemetry.close()  # exports the spans still queued
        if self._thread.is_alive():  # stuck in the store: leave the files to the next run
            log.warning("recorder stopped while the store was still busy; %d records wait in %s",
                        self.backlog(), self.spool_dir)
            return
        self._spool.close()
        self._drop_store()

    def _wait_for_round(self, timeout: float, *, drained: bool) -> bool:
        """Wait for a shipping round that starts after now to finish (and to drain the spool,
        if ``drained``). Returns whether it happened within ``timeout``."""
        if not self._thread.is_alive():
            return False
        with self._cond:
            target = self._started + 1
            self._wake.set()
            if drained:
                return self._cond.wait_for(lambda: self._drained >= target, timeout)
            return self._cond.wait_for(lambda: self._finished >= target, timeout)

    def _run(self) -> None:
        delay = 0.0
        while not self._stop.is_set():
            self._wake.wait(delay)
            self._wake.clear()
            with self._cond:
                self._started += 1
                number = self._started
            drained = self._ship_round()
            with self._cond:
                self._finished = number
                if drained:
                    self._drained = number
                self._cond.notify_all()
                delay = self._interval if drained else self._backoff()
                if self._flushing:
                    delay = min(delay, 0.25)

    def _ship_round(self) -> bool:
        """Ship until the spool is drained; False if the store failed on the way."""
        try:
            if time.monotonic() >= self._next_adopt:
                self._next_adopt = time.monotonic() + 5.0
                self._spool.adopt()
            self._spool.sync()
            while (batch := self._spool.next_batch(self._batch_size)) is not None:
                self._ship(batch)
                self._spool.ack(batch)
        except Exception as exc:  # store or disk trouble: keep everything, retry later
            self._on_failure(exc)
            return False
        if self.last_error is not None:
            log.warning("call store is reachable again; the backlog has been shipped")
        self.last_error, self._failures = None, 0
        return True

    def _ship(self, batch: Batch) -> None:
        if self._store is None:
            self._store = self._open_store()
        if self._ship_as_json(batch):
            return
        pairs, unreadable = decode_records(batch.lines)
        for line, reason in unreadable:
            self._set_aside(line, f"unreadable spool line ({reason})")
        if not pairs:
            return
        refused: list[tuple[bytes, Exception]] = []
        try:
            inserted = self._send(pairs, refused)
            if len(refused) == len(pairs):
                # Nothing went in: blame the store (a bug, a missing table), not the data,
                # and keep everything for the next attempt.
                raise refused[0][1]
        except Exception:
            self._drop_store()
            raise
        for line, exc in refused:
            self._set_aside(line, f"{type(exc).__name__}: {exc}")
        self.inserted += inserted
        self.shipped += len(pairs) - len(refused)

    def _ship_as_json(self, batch: Batch) -> bool:
        """Hand the lines to a store that takes them as they are (``record_call_json``:
        the spool line is already its wire format). False when the store cannot, or refuses
        the batch as malformed: then ``_ship`` decodes it and finds the bad lines."""
        take_json = getattr(self._store, "record_call_json", None)
        if take_json is None:
            return False
        try:
            inserted = take_json(b"[" + b",".join(batch.lines) + b"]")
        except Exception as exc:
            if _is_data_error(exc):
                return False
            self._drop_store()
            raise
        self.inserted += inserted
        self.shipped += len(batch.lines)
        return True

    def _send(self, pairs: list[tuple[CallRecord, bytes]],
              refused: list[tuple[bytes, Exception]]) -> int:
        """Insert ``pairs``; on a data error, bisect and collect the records refused alone."""
        try:
            return self._store.record_calls([rec for rec, _ in pairs])
        except Exception as exc:
            if not _is_data_error(exc):
                raise
            if len(pairs) == 1:
                refused.append((pairs[0][1], exc))
                return 0
        mid = len(pairs) // 2
        return self._send(pairs[:mid], refused) + self._send(pairs[mid:], refused)

    def _set_aside(self, line: bytes, reason: str) -> None:
        self._spool.reject(line)
        log.error("a call record was set aside in %s/rejected.jsonl: %s", self.spool_dir,
                  redact(reason, self._secrets)[:300])

    def _on_failure(self, exc: Exception) -> None:
        self._failures += 1
        first = self.last_error is None
        text = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "", self._secrets)
        self.last_error = f"{type(exc).__name__}: {text}"[:300]
        if first:
            log.warning("call records could not be shipped; they wait in %s and will be "
                        "retried: %s", self.spool_dir, self.last_error)

    def _backoff(self) -> float:
        base = min(self._max_backoff, self._interval * 2 ** min(self._failures, 20))
        return base * random.uniform(0.8, 1.2)

    def _drop_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception as exc:  # already broken; reopening is what matters
                log.debug("closing the failed store raised %s", type(exc).__name__)
