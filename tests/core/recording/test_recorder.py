"""The recorder: calls answer while the store is down, and every record lands exactly once."""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from core.errors import BadRequestError, StoreUnavailableError
from core.recording.recorder import Recorder, decode_records, encode_record, spool_dir_for
from core.results import CallRecord
from core.recording.spool import Spool, backlog
from tests.paths import REPO

ROOT = REPO


class MemoryStore:
    """A ``Store`` in a dict, idempotent by call id like the real ones (the recorder needs only
    ``record_calls`` and ``close``). ``down = True`` makes every call raise as an unreachable
    database would; ``refuse`` names call ids it rejects as malformed."""

    backend = "memory"

    def __init__(self):
        self.rows: dict[str, CallRecord] = {}
        self.down = False
        self.refuse: set[str] = set()
        self.attempts = 0
        self._lock = threading.Lock()

    def upgrade(self) -> list[str]:
        return []

    def record_calls(self, records) -> int:
        with self._lock:
            self.attempts += 1
            if self.down:
                raise StoreUnavailableError("The call store cannot be reached (connection refused).")
            bad = [r.call_id for r in records if r.call_id in self.refuse]
            if bad:
                raise BadRequestError(f"Call {bad[0]}: refused.")
            before = len(self.rows)
            for r in records:
                self.rows.setdefault(r.call_id, r)
            return len(self.rows) - before

    def close(self) -> None:
        pass


def make_record(n: int, **overrides) -> CallRecord:
    fields = dict(call_id=f"call-{n}", user_id=f"u{n % 3}", service_type="xray", model="claude",
                  provider="anthropic", provider_model="claude-sonnet-4-5", status="success",
                  input_tokens=10 + n, output_tokens=5, total_tokens=15 + n, total_cost=0.001 * n,
                  messages=[{"role": "user", "content": f"prompt {n}"}], response=f"answer {n}")
    return CallRecord(**{**fields, **overrides})


@pytest.fixture
def store():
    return MemoryStore()


@pytest.fixture
def spool(tmp_path):
    return tmp_path / "spool"


@pytest.fixture
def new_recorder(store, spool):
    made = []

    def make(privacy="none", opener=None, **kw):
        made.append(Recorder(opener or (lambda: store), spool, privacy, flush_interval=0.05,
                             max_backoff=0.2, **kw))
        return made[-1]
    yield make
    for recorder in made:
        recorder.close(timeout=1)


def test_records_reach_the_store_once(store, new_recorder):
    recorder = new_recorder()
    for n in range(50):
        recorder.record(make_record(n))
    recorder.record(make_record(7))  # the same attempt twice is one row
    assert recorder.flush(timeout=5) == 51
    assert sorted(store.rows) == sorted(f"call-{n}" for n in range(50))
    assert recorder.backlog() == 0
    assert recorder.inserted == 50


def test_calls_are_recorded_while_the_store_is_down_and_shipped_when_it_returns(store, new_recorder):
    store.down = True
    recorder = new_recorder()
    for n in range(200):
        recorder.record(make_record(n))
    assert recorder.recorded == 200 and recorder.lost == 0
    assert recorder.flush(timeout=0.3) == 0
    assert recorder.backlog() == 200
    assert "connection refused" in recorder.last_error
    store.down = False
    assert recorder.flush(timeout=5) == 200
    assert len(store.rows) == 200 and recorder.backlog() == 0
    assert recorder.last_error is None


def test_record_never_waits_for_a_store_that_hangs(store, new_recorder):
    """The shipper is stuck opening the store; if ``record`` waited for it, this would hang."""
    gate, opened = threading.Event(), threading.Event()

    def hanging_opener():
        opened.set()
        gate.wait()
        return store
    recorder = new_recorder(opener=hanging_opener)
    recorder.record(make_record(0))
    recorder.flush(timeout=0.01)  # wakes the shipper, which now hangs in the opener
    assert opened.wait(5)
    for n in range(1, 3000):  # more than a batch: each batch wakes the hung shipper again
        recorder.record(make_record(n))
    assert recorder.recorded == 3000 and not store.rows
    gate.set()
    assert recorder.flush(timeout=10) == 3000
    assert len(store.rows) == 3000


def test_a_later_run_ships_what_an_earlier_one_could_not(store, spool, new_recorder):
    store.down = True
    first = new_recorder()
    for n in range(30):
        first.record(make_record(n))
    first.close(timeout=0.5)
    assert backlog(spool) == 30
    store.down = False
    second = new_recorder()
    assert second.flush(timeout=5) == 30
    assert len(store.rows) == 30
    assert sorted(p.name for p in spool.iterdir() if p.name != "journal") == sorted(
        p.name for p in spool.iterdir() if p.name.startswith(second._spool.owner))


def test_a_live_process_keeps_its_spool_and_a_dead_ones_is_adopted(store, spool, new_recorder):
    store.down = True
    alive, other = new_recorder(), new_recorder()
    for n in range(10):
        alive.record(make_record(n))
    store.down = False
    assert other.flush(timeout=2) == 0  # alive's files are not other's to ship
    assert alive.flush(timeout=5) == 10
    store.down = True
    for n in range(10, 20):
        alive.record(make_record(n))
    alive.close(timeout=0.3)  # gone with 10 unsent: its files are now orphans
    store.down = False
    assert other.flush(timeout=5) == 10
    assert len(store.rows) == 20


def record_then_get_killed(count: int, opener_source: str, spool: Path) -> None:
    """A child process records ``count`` records, says "acked", and is SIGKILLed."""
    script = textwrap.dedent(f"""
        import time
        from core.recording.recorder import Recorder
        from core.store.sqlite import SqliteStore
        from tests.core.recording.test_recorder import make_record
        def unreachable():
            raise ConnectionError("database is down")
        recorder = Recorder({opener_source}, {str(spool)!r}, batch_size=100, flush_interval=0.01)
        for n in range({count}):
            recorder.record(make_record(n))
        print("acked", {count}, flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True)
    assert child.stdout.readline().split() == ["acked", str(count)]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()


def test_records_survive_sigkill_of_the_process(store, spool, new_recorder):
    record_then_get_killed(300, "unreachable", spool)
    assert new_recorder().flush(timeout=5) == 300
    assert len(store.rows) == 300


def test_a_torn_last_line_is_skipped_and_reported(store, spool, new_recorder):
    spool.mkdir(parents=True)
    lines = b"".join(encode_record(make_record(n), "none") for n in range(3))
    (spool / "999-dead.000001.jsonl").write_bytes(lines + b'{"call_id": "call-3", "us')
    (spool / "999-dead.lock").touch()
    recorder = new_recorder()
    assert recorder.flush(timeout=5) == 3
    assert sorted(store.rows) == ["call-0", "call-1", "call-2"]
    assert recorder.stats()["torn"] == 1
    assert not (spool / "999-dead.000001.jsonl").exists()
    assert not (spool / "999-dead.lock").exists()


def test_a_record_the_store_refuses_is_set_aside_and_the_rest_ship(store, spool, new_recorder):
    store.refuse = {"call-13"}
    recorder = new_recorder()
    for n in range(40):
        recorder.record(make_record(n))
    recorder.flush(timeout=5)
    assert len(store.rows) == 39 and "call-13" not in store.rows
    assert recorder.backlog() == 0 and recorder.stats()["rejected"] == 1
    refused = json.loads((spool / "rejected.jsonl").read_text())
    assert refused["call_id"] == "call-13"


def test_a_store_that_refuses_everything_keeps_the_records(store, new_recorder):
    store.refuse = {f"call-{n}" for n in range(5)}
    recorder = new_recorder()
    for n in range(5):
        recorder.record(make_record(n))
    recorder.flush(timeout=0.3)
    assert recorder.backlog() == 5 and recorder.stats()["rejected"] == 0
    store.refuse = set()
    assert recorder.flush(timeout=5) == 5


def test_store_failures_never_reach_the_caller(spool, new_recorder):
    def broken_opener():
        raise RuntimeError("connection to postgresql://app:hunter2@db failed")
    recorder = new_recorder(opener=broken_opener, secrets=("hunter2",))
    recorder.record(make_record(1))
    recorder.flush(timeout=0.3)
    assert recorder.last_error.startswith("RuntimeError")
    assert "hunter2" not in recorder.last_error


def test_a_down_store_is_retried_with_backoff_not_hammered(store, new_recorder):
    store.down = True
    recorder = new_recorder()
    recorder.record(make_record(1))
    time.sleep(1.0)
    # flush_interval 0.05 doubling to the 0.2 s cap: about 6 attempts in a second, not 20.
    assert 2 <= store.attempts <= 10


@pytest.mark.parametrize("privacy", ["none", "hash", "store"])
def test_privacy_setting_decides_what_text_is_kept(store, new_recorder, privacy):
    recorder = new_recorder(privacy)
    rec = make_record(1, messages=[{"role": "user", "content": "hello"}], response="hi there")
    recorder.record(rec)
    recorder.flush(timeout=5)
    kept = store.rows["call-1"]
    if privacy == "none":
        assert kept.messages is None and kept.response is None
    elif privacy == "hash":
        assert len(kept.response) == 64 and kept.response != "hi there"
        assert kept.messages != rec.messages and len(kept.messages) == 64
    else:
        assert kept.messages == rec.messages and kept.response == "hi there"
    assert rec.response == "hi there"  # the caller's record is not changed


def test_privacy_none_keeps_prompts_off_the_local_disk(spool, store, new_recorder):
    store.down = True
    recorder = new_recorder("none")
    recorder.record(make_record(1, response="the secret plan"))
    assert b"secret plan" not in b"".join(p.read_bytes() for p in spool.glob("*.jsonl"))


def test_secrets_are_never_kept(store, new_recorder):
    recorder = new_recorder("store", secrets=("my-configured-key",))
    recorder.record(make_record(
        1, error="401 from provider: api_key=sk-ant-abcdef123456 was refused",
        metadata={"api_key": "AIzaSyA1234567890abcdef", "note": "uses my-configured-key",
                  "nested": {"authorization": "Bearer xyz"}, "input_tokens": 3},
        response="here is sk-proj-1234567890abcdef"))
    recorder.flush(timeout=5)
    kept = store.rows["call-1"]
    text = json.dumps([kept.error, kept.metadata, kept.response])
    for secret in ("sk-ant-abcdef123456", "AIzaSyA1234567890abcdef", "my-configured-key",
                   "Bearer xyz", "sk-proj-1234567890abcdef"):
        assert secret not in text
    assert kept.metadata["input_tokens"] == 3


def test_spool_lines_round_trip():
    rec = make_record(5, created_at=dt.datetime(2025, 3, 1, 12, tzinfo=dt.timezone.utc),
                      total_cost=None, fallback_of="call-4", metadata={"stream": "abandoned"})
    line = encode_record(rec, "store")
    assert decode_records([line]) == ([(rec, line)], [])


def test_damaged_spool_lines_are_told_apart_from_good_ones():
    good = [encode_record(make_record(n), "none") for n in range(3)]
    lines = [good[0].rstrip(), b'{"call_id": 1}, {"x": 2}', good[1].rstrip(), b"\x00\x00"]
    records, bad = decode_records(lines)
    assert [rec.call_id for rec, _ in records] == ["call-0", "call-1"]
    assert [line for line, _ in bad] == [lines[1], lines[3]]


def test_record_after_close_does_not_raise(new_recorder):
    recorder = new_recorder()
    recorder.close(timeout=1)
    recorder.record(make_record(1))
    assert recorder.lost == 1


def test_spool_rotates_and_removes_shipped_segments(tmp_path):
    spool = Spool(tmp_path, segment_bytes=2_000)
    for n in range(40):
        spool.append(encode_record(make_record(n), "none"))
        if n % 10 == 9:
            while (batch := spool.next_batch(7)) is not None:
                spool.ack(batch)
    assert len(list(tmp_path.glob("*.jsonl"))) == 1 and spool.backlog() == 0
    spool.close()
    assert [p.name for p in tmp_path.iterdir()] == ["journal"]  # kept for db verify
    assert sum(p.read_bytes().count(b"\n") for p in (tmp_path / "journal").iterdir()) == 40


def test_spool_dir_is_per_database_and_hides_credentials(tmp_path):
    a = spool_dir_for(tmp_path, "postgresql://app:s3cret@db:5432/parley")
    assert a == spool_dir_for(tmp_path, "postgresql://app:other@db:5432/parley")
    assert a != spool_dir_for(tmp_path, "sqlite:///x.db")
    assert "s3cret" not in str(a)


# -- on the real SQLite store ----------------------------------------------------------

@pytest.fixture
def sqlite_opener(tmp_path):
    from core.store.sqlite import SqliteStore
    path = tmp_path / "parley.db"
    return lambda: SqliteStore(path)


def count_rows(opener) -> int:
    store = opener()
    try:
        return store.status()["counts"]["request_logs"]
    finally:
        store.close()


def test_sqlite_store_down_then_back_records_each_call_once(tmp_path, spool, new_recorder,
                                                            sqlite_opener):
    down = {"now": True}

    def opener():
        if down["now"]:
            raise StoreUnavailableError("The SQLite store cannot be used (disk I/O error).")
        return sqlite_opener()
    recorder = new_recorder(opener=opener)
    for n in range(1000):
        recorder.record(make_record(n))
    recorder.flush(timeout=0.3)
    assert recorder.backlog() == 1000
    down["now"] = False
    assert recorder.flush(timeout=10) == 1000
    recorder.close()
    again = new_recorder(opener=opener)
    for n in range(500):  # shipped again by a confused caller: still one row each
        again.record(make_record(n))
    again.flush(timeout=10)
    assert count_rows(sqlite_opener) == 1000


def test_sqlite_sigkill_mid_run_loses_no_acknowledged_record(tmp_path, spool, new_recorder,
                                                             sqlite_opener):
    db = tmp_path / "parley.db"
    record_then_get_killed(5000, f"lambda: SqliteStore({str(db)!r})", spool)  # mid-shipping
    new_recorder(opener=sqlite_opener).flush(timeout=20)
    assert count_rows(sqlite_opener) == 5000


# On a real Postgres: tests/core/store/test_recorder_postgres.py (it uses that folder's databases).
