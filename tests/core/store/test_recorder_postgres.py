"""The recorder into a real Postgres: calls recorded while it is down land once when it is
back, and the spool lines it passes through as they are still have every bad one set aside."""
from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from core.recording.recorder import Recorder, encode_record
from core.store.postgres import PostgresStore
from tests.core.store.records import make_record


@pytest.fixture
def spool(tmp_path):
    return tmp_path / "spool"


@pytest.fixture
def new_recorder(spool):
    made = []

    def make(opener):
        made.append(Recorder(opener, spool, "none", flush_interval=0.05, max_backoff=0.2))
        return made[-1]
    yield make
    for recorder in made:
        recorder.close(timeout=1)


@pytest.fixture
def store(fresh_pg_url) -> PostgresStore:
    store = PostgresStore(fresh_pg_url)
    yield store
    store.close()


def test_postgres_unreachable_then_back_records_each_call_once(new_recorder, fresh_pg_url,
                                                               store):
    target = {"url": "postgresql://postgres@127.0.0.1:1/nowhere"}
    recorder = new_recorder(lambda: PostgresStore(target["url"]))
    for n in range(2000):
        recorder.record(make_record(call_id=f"call-{n}"))
    assert recorder.recorded == 2000 and recorder.lost == 0
    recorder.flush(timeout=0.5)
    assert recorder.backlog() == 2000 and recorder.last_error
    target["url"] = fresh_pg_url
    assert recorder.flush(timeout=30) == 2000
    assert store.status()["counts"]["request_logs"] == 2000
    assert sum(r["calls"] for r in store.usage("model")) == 2000


def test_postgres_takes_the_spool_lines_and_sets_aside_only_what_it_refuses(new_recorder, spool,
                                                                            fresh_pg_url, store):
    """The lines go to Postgres as they are; a batch it refuses is decoded and bisected, so
    a garbled line and the records the table's checks refuse are set aside, the rest stored."""
    database = fresh_pg_url.rsplit("/", 1)[1]
    with psycopg.connect(fresh_pg_url, autocommit=True) as conn:  # where a naive time would shift
        conn.execute(f'alter database "{database}" set timezone = \'America/Los_Angeles\'')
    lines = [encode_record(make_record(call_id=f"call-{n}"), "none") for n in range(30)]
    lines[5] = encode_record(make_record(call_id=""), "none")
    lines[10] = b'{"call_id": "call-10", "us\n'
    lines[20] = encode_record(make_record(status="maybe"), "none")
    spool.mkdir(parents=True)
    (spool / "999-dead.000001.jsonl").write_bytes(b"".join(lines))
    (spool / "999-dead.lock").touch()
    recorder = new_recorder(lambda: PostgresStore(fresh_pg_url))
    assert recorder.flush(timeout=30) == 27
    assert store.status()["counts"]["request_logs"] == 27
    assert sum(r["calls"] for r in store.usage("model")) == 27
    assert recorder.stats()["rejected"] == 3 and recorder.backlog() == 0
    for n in range(40, 44):  # the next batch goes through as it is
        recorder.record(make_record(call_id=f"call-{n}"))
    recorder.record(make_record(created_at=dt.datetime(2025, 5, 1, 23, 30)))
    assert recorder.flush(timeout=30) == 5
    assert store.status()["counts"]["request_logs"] == 32
    # a naive time is taken as UTC, as record_calls takes it: 1 May, not 2 May in Los Angeles
    may = store.usage("day", since=dt.date(2025, 5, 1), until=dt.date(2025, 5, 2))
    assert [(row["key"], row["calls"]) for row in may] == [("2025-05-01", 1)]
