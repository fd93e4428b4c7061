"""The local durable queue behind the recorder: append-only JSON-lines files in one directory.

Durability: ``append`` returns after one ``os.write`` of the whole line to a file opened with
``O_APPEND``. The line is then in the kernel's page cache, so it survives the death of the
process (SIGKILL, OOM, a crash) but not of the machine. ``fsync=True`` adds an ``fdatasync``
per line, which survives power loss but costs about a millisecond a line; without it,
``sync()`` (the recorder calls it every round, off the request path) bounds what a power loss
can take to the lines of the last round.

Layout; any number of processes may share one directory on a local filesystem::

    <owner>.lock            flock(LOCK_EX) held by the live owner; owner = "<pid>-<hex>"
    <owner>.<seq>.jsonl     segments, one record per line, each line written by one os.write
    <owner>.<seq>.ack       20-digit byte offset: every line before it is in the store
    rejected.jsonl          lines the store refused as malformed, kept for inspection
    journal/<segment>       fully acknowledged segments, kept ``journal_days`` (7) days for
                            ``db verify`` (core/recording/verify.py), then removed

A lock file that nobody holds belongs to a dead process: ``adopt`` claims it, and its segments
are shipped like the owner's own. A last line without its newline (a write cut by a crash,
so never acknowledged to a caller) is skipped and reported. Segments are deleted once fully
acknowledged; the lock file goes last, so a crash part-way through cleanup leaves the rest
claimable.
"""
from __future__ import annotations

import fcntl
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Spool", "Batch", "backlog", "rejected", "JOURNAL", "REJECTED"]

log = logging.getLogger("parley.recorder")

_CHUNK = 256 * 1024
_ACK_WIDTH = 20
_OPEN = os.O_RDWR | os.O_CLOEXEC
_REJECTED = REJECTED = "rejected.jsonl"
JOURNAL = "journal"


class _Segment:
    """One segment file and its acknowledged offset. ``size`` counts only complete writes."""

    def __init__(self, path: Path, owner: str, *, create: bool = False):
        self.path, self.owner = path, owner
        self.ack_path = path.with_suffix(".ack")
        self.fd = os.open(path, _OPEN | os.O_APPEND | (os.O_CREAT | os.O_EXCL if create else 0),
                          0o600)
        self.size = os.fstat(self.fd).st_size
        self.acked = min(_read_ack(self.ack_path), self.size)
        self._ack_fd: int | None = None

    def read(self, max_lines: int) -> tuple[list[bytes], int]:
        """Up to ``max_lines`` complete lines after the acknowledged offset, and where they end."""
        lines: list[bytes] = []
        buf, pos = b"", self.acked
        while len(lines) < max_lines and pos < self.size:
            data = os.pread(self.fd, min(_CHUNK, self.size - pos), pos)
            if not data:
                break
            pos += len(data)
            *complete, buf = (buf + data).split(b"\n")
            lines.extend(complete)
        del lines[max_lines:]
        return lines, self.acked + sum(len(line) + 1 for line in lines)

    def ack(self, offset: int) -> None:
        # Fixed width, written in place: one small pwrite cannot be half-done by process death,
        # and a garbled value after a power loss reads as 0, which only re-ships (idempotent).
        if self._ack_fd is None:
            self._ack_fd = os.open(self.ack_path, _OPEN | os.O_CREAT, 0o600)
        os.pwrite(self._ack_fd, b"%0*d\n" % (_ACK_WIDTH, offset), 0)
        self.acked = offset

    def replaced(self) -> bool:
        """True when the path no longer names this file (removed, or replaced by something else)."""
        try:
            return os.stat(self.path).st_ino != os.fstat(self.fd).st_ino
        except FileNotFoundError:
            return True

    def close(self, remove: bool, journal: Path | None = None) -> None:
        """Close the files; with ``remove``, drop the acknowledgement and move the segment
        into ``journal`` (None: delete it)."""
        replaced = self.replaced()
        for fd in (self.fd, self._ack_fd):
            if fd is not None:
                os.close(fd)
        if remove:
            self.ack_path.unlink(missing_ok=True)
            if replaced:  # never remove what someone put in its place
                return
            if journal is not None and self.acked == self.size:
                os.replace(self.path, journal / self.path.name)
            else:
                self.path.unlink(missing_ok=True)


@dataclass
class Batch:
    """Lines read from one segment; ``Spool.ack(batch)`` once the store has committed them."""

    segment: _Segment
    lines: list[bytes]
    end: int


class Spool:
    """A per-process queue of lines in ``directory``; thread-safe ``append``, one reader thread."""

    def __init__(self, directory: Path, *, fsync: bool = False, segment_bytes: int = 4 << 20,
                 journal_days: float = 7.0):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.journal = self.directory / JOURNAL if journal_days > 0 else None
        if self.journal is not None:
            self.journal.mkdir(exist_ok=True)
        self._journal_s = journal_days * 86400
        self.fsync, self.segment_bytes = fsync, segment_bytes
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.torn = 0
        self._lock = threading.Lock()
        self._locks = {self.owner: self._create_own_lock()}
        self._seq = 0
        self._current = self._new_segment()
        self._segments = [self._current]
        self._unsynced = self._dirty = False

    def append(self, line: bytes) -> None:
        """Write one newline-terminated line durably (see module docstring). Raises OSError."""
        with self._lock:
            seg = self._current
            if seg is None:
                raise OSError("the spool is closed")
            if self._dirty:  # end the fragment a failed write left, so it stays one bad line
                line = b"\n" + line
            written = 0
            try:
                while written < len(line):  # only a full disk or a signal makes a short write
                    written += os.write(seg.fd, line[written:])
            except OSError:
                # Part of the line may be on disk: seal this segment so the fragment stays a
                # torn last line there, and start a fresh one for the next append.
                seg.size += written
                self._dirty = True
                self._rotate_locked()
                self._dirty = False
                raise
            self._dirty = False
            seg.size += written
            if self.fsync:
                os.fdatasync(seg.fd)
            self._unsynced = True

    def sync(self) -> None:
        """Flush appended lines to the disk itself (bounds a power loss to one round). Called by
        the reader thread, which also rescues a segment whose file was removed or replaced."""
        self._rescue_replaced()
        if self._unsynced and self._current is not None:
            self._unsynced = False
            os.fdatasync(self._current.fd)

    def _rescue_replaced(self) -> None:
        """Copy the unacknowledged lines of this process's segments whose file is gone (removed,
        or replaced by a directory...) into a fresh segment, so a later run still finds them.
        Lines already shipped again are skipped by the store (idempotent by call id)."""
        for seg in [s for s in self._segments if s.owner == self.owner and s.replaced()]:
            with self._lock:
                lines, _ = seg.read(1 << 30)
                if seg is self._current:
                    self._rotate_locked()
                for line in lines:
                    os.write(self._current.fd, line + b"\n")
                    self._current.size += len(line) + 1
                self._unsynced = True
                self._segments.remove(seg)
            log.warning("spool file %s was removed or replaced; its %d unshipped records were "
                        "copied to %s", seg.path.name, len(lines), self._current.path.name)
            seg.close(remove=False)

    def next_batch(self, max_lines: int) -> Batch | None:
        """The oldest unacknowledged lines, or None when everything is acknowledged.
        Drained segments other than the one being written are removed on the way."""
        for seg in list(self._segments):
            lines, end = seg.read(max_lines)
            if lines:
                return Batch(seg, lines, end)
            if seg is not self._current:
                self._retire(seg)
        return None

    def ack(self, batch: Batch) -> None:
        """Record that ``batch`` is in the store; its lines will not be read again."""
        seg = batch.segment
        seg.ack(batch.end)
        if seg is self._current and seg.acked == seg.size >= self.segment_bytes:
            with self._lock:
                if seg.acked == seg.size:
                    self._rotate_locked()

    def adopt(self) -> int:
        """Claim the segments of dead processes; return how many owners were adopted."""
        names = os.listdir(self.directory)
        owners = {n.split(".", 1)[0] for n in names
                  if n.endswith((".jsonl", ".lock")) and n != _REJECTED}
        adopted = 0
        for owner in sorted(owners - set(self._locks)):
            fd = self._claim(owner)
            if fd is None:
                continue
            self._locks[owner] = fd
            segs = sorted(p for p in self.directory.glob(f"{owner}.*.jsonl") if p.is_file())
            self._segments[:0] = [_Segment(p, owner) for p in segs]
            adopted += 1
            if not segs:
                self._release(owner, remove=True)
        return adopted

    def backlog(self) -> int:
        """Unacknowledged lines in every segment in the directory, whoever owns it."""
        return backlog(self.directory)

    def reject(self, line: bytes) -> None:
        """Set aside a line the store refuses, so it no longer holds up the queue."""
        fd = os.open(self.directory / _REJECTED,
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, line + b"\n")
        finally:
            os.close(fd)

    def rejected(self) -> int:
        return rejected(self.directory)

    def close(self) -> None:
        """Close every file; remove what is fully acknowledged, keep the rest for a later run.
        Lock files go last, and only once their owner has no segment left."""
        with self._lock:
            self._current = None
        for seg in self._segments:
            seg.close(remove=seg.acked == seg.size, journal=self.journal)
        self._segments = []
        for owner in list(self._locks):
            self._release(owner, remove=not any(p.is_file() for p in
                                                self.directory.glob(f"{owner}.*.jsonl")))

    def _prune_journal(self) -> None:
        """Remove journal segments older than ``journal_days``."""
        if self.journal is None:
            return
        cutoff = time.time() - self._journal_s
        for path in self.journal.glob("*.jsonl"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except FileNotFoundError:  # pruned by another process meanwhile
                continue

    def _create_own_lock(self) -> int:
        # Locked under a temporary name, then renamed: a "<owner>.lock" that exists is always
        # held from its first instant, so no other process can mistake it for a dead owner's.
        tmp = self.directory / f"{self.owner}.lock-new"
        fd = os.open(tmp, _OPEN | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(tmp, self.directory / f"{self.owner}.lock")
        return fd

    def _claim(self, owner: str) -> int | None:
        """Hold ``owner``'s lock if its process is gone; None if it is alive or already claimed."""
        path = self.directory / f"{owner}.lock"
        try:
            fd = os.open(path, _OPEN)
        except FileNotFoundError:
            return self._claim_lockless(owner, path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except (BlockingIOError, FileNotFoundError):
            pass  # alive, or cleaned up by another adopter between open and flock
        os.close(fd)
        return None

    def _claim_lockless(self, owner: str, path: Path) -> int | None:
        # Segments whose lock file is gone (removed by hand): create one, held from birth;
        # os.link fails if another process got there first.
        if not any(self.directory.glob(f"{owner}.*.jsonl")):
            return None
        tmp = self.directory / f"{self.owner}.claim-{owner}"
        fd = os.open(tmp, _OPEN | os.O_CREAT | os.O_TRUNC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            os.link(tmp, path)
        except FileExistsError:
            os.close(fd)
            return None
        finally:
            tmp.unlink()
        return fd

    def _new_segment(self) -> _Segment:
        self._seq += 1
        return _Segment(self.directory / f"{self.owner}.{self._seq:06d}.jsonl", self.owner,
                        create=True)

    def _rotate_locked(self) -> None:
        self._current = self._new_segment()
        self._segments.append(self._current)

    def _retire(self, seg: _Segment) -> None:
        if seg.acked < seg.size:
            self.torn += 1
            log.warning("skipped a torn last record (%d bytes) at the end of %s, left by a "
                        "process that died while writing it", seg.size - seg.acked, seg.path.name)
        seg.close(remove=True, journal=self.journal)
        self._segments.remove(seg)
        self._prune_journal()
        if seg.owner != self.owner and not any(s.owner == seg.owner for s in self._segments):
            self._release(seg.owner, remove=True)

    def _release(self, owner: str, *, remove: bool) -> None:
        if remove:
            (self.directory / f"{owner}.lock").unlink(missing_ok=True)
        os.close(self._locks.pop(owner))


def backlog(directory: Path) -> int:
    """Records waiting in ``directory`` (unacknowledged complete lines, every owner's),
    counted without joining the spool, so a status report changes nothing."""
    total = 0
    for path in Path(directory).glob("*.jsonl"):
        if path.name == _REJECTED or not path.is_file():
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:  # shipped and removed while we looked
            continue
        try:
            size = os.fstat(fd).st_size
            total += _count_lines(fd, min(_read_ack(path.with_suffix(".ack")), size), size)
        finally:
            os.close(fd)
    return total


def rejected(directory: Path) -> int:
    """How many records the store refused, set aside in ``rejected.jsonl``."""
    try:
        return (Path(directory) / _REJECTED).read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _read_ack(path: Path) -> int:
    try:
        return int(path.read_bytes().strip() or 0)
    except FileNotFoundError:
        return 0
    except ValueError:
        log.warning("unreadable acknowledgement %s; its segment will be shipped again", path.name)
        return 0


def _count_lines(fd: int, start: int, end: int) -> int:
    count = 0
    while start < end:
        data = os.pread(fd, min(_CHUNK, end - start), start)
        if not data:
            break
        count += data.count(b"\n")
        start += len(data)
    return count
