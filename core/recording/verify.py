"""Proof that recording works: the local journal against the store (``db verify``).

``verify_recording(spool_dir, store)`` reads every line this machine's recorder wrote for the
store (the spool's live segments and its ``journal/`` of shipped ones, see
``core/recording/spool.py``) and checks that:

- every answered call (``status = success``) that was shipped is in ``request_logs``
  exactly once (``missing``, ``doubled``: the call ids that are not);
- ``usage_daily`` equals the sums of the rows (``rollup_mismatches``);
- no line waits longer than ``stuck_after_s`` to be shipped (``stuck``), and none was
  refused by the store (``failed``: lines set aside in ``rejected.jsonl``).

``VerifyReport.counts`` are what ``db verify`` prints and the console shows: answered,
recorded, pending, failed to record. ``ok`` is False on any mismatch. The journal holds what
the last ``journal_days`` (7) days shipped; older calls are checked by the rollups only.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from core.recording.spool import JOURNAL, REJECTED

__all__ = ["VerifyReport", "verify_recording", "STUCK_AFTER_S"]

STUCK_AFTER_S = 600.0


@dataclass
class VerifyReport:
    answered: int = 0
    recorded: int = 0
    pending: int = 0
    failed: int = 0
    stuck: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    rollup_mismatches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.stuck or self.missing or self.doubled or self.rollup_mismatches
                    or self.failed)

    @property
    def counts(self) -> dict[str, int]:
        return {"answered": self.answered, "recorded": self.recorded, "pending": self.pending,
                "failed_to_record": self.failed}

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, **self.counts, "stuck": self.stuck, "missing": self.missing,
                "doubled": self.doubled, "rollup_mismatches": self.rollup_mismatches}


def _ack_offset(path: Path) -> int:
    try:
        return int(path.with_suffix(".ack").read_bytes().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _lines(spool_dir: Path) -> Iterator[tuple[bytes, bool]]:
    """Every complete line of the journal and the live segments, with whether it is shipped."""
    journal = spool_dir / JOURNAL
    for path in sorted(journal.glob("*.jsonl")) if journal.is_dir() else ():
        for line in path.read_bytes().split(b"\n")[:-1]:
            yield line, True
    for path in sorted(spool_dir.glob("*.jsonl")):
        if path.name == REJECTED:
            continue
        data = path.read_bytes()
        acked, pos = _ack_offset(path), 0
        for line in data.split(b"\n")[:-1]:
            yield line, pos < acked
            pos += len(line) + 1


def _fields(line: bytes) -> dict[str, Any] | None:
    try:
        row = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return row if isinstance(row, dict) and row.get("call_id") else None


def _rejected_ids(spool_dir: Path) -> set[str]:
    try:
        data = (spool_dir / REJECTED).read_bytes()
    except FileNotFoundError:
        return set()
    return {row["call_id"] for line in data.split(b"\n") if (row := _fields(line))}


def verify_recording(spool_dir: Path, store, *, stuck_after_s: float = STUCK_AFTER_S,
                     now: dt.datetime | None = None) -> VerifyReport:
    """Check the journal in ``spool_dir`` against ``store`` (see the module docstring)."""
    spool_dir = Path(spool_dir)
    now = now or dt.datetime.now(dt.timezone.utc)
    report = VerifyReport()
    rejected = _rejected_ids(spool_dir) if spool_dir.is_dir() else set()
    report.failed = len(rejected)
    shipped: set[str] = set()
    waiting = 0
    for line, is_shipped in (_lines(spool_dir) if spool_dir.is_dir() else ()):
        row = _fields(line)
        if row is None or row["call_id"] in rejected:
            continue
        if not is_shipped:
            report.pending += 1
            waiting += row.get("status") == "success"
            if _age_s(row.get("created_at"), now) > stuck_after_s:
                report.stuck.append(row["call_id"])
            continue
        if row.get("status") == "success":
            shipped.add(row["call_id"])
    report.answered = len(shipped) + waiting
    counts = store.call_id_counts(sorted(shipped)) if shipped else {}
    report.missing = sorted(cid for cid, n in counts.items() if n == 0)
    report.doubled = sorted(cid for cid, n in counts.items() if n > 1)
    report.recorded = sum(1 for n in counts.values() if n == 1)
    report.rollup_mismatches = store.rollup_mismatches()
    return report


def _age_s(created_at: Any, now: dt.datetime) -> float:
    try:
        moment = dt.datetime.fromisoformat(str(created_at).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return (now - moment).total_seconds()

