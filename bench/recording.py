"""What recording costs: on the request path, and shipped into SQLite and Postgres.

Run: ``.venv/bin/python bench/recording.py [--records N] [--pg-url URL]``

1. ``Recorder.record`` as a call sees it (median, p99 in µs): alone, with the shipper draining
   into SQLite at the same time (it shares the interpreter lock, which shows in the p99), and
   with ``fsync=True`` (one fdatasync per record, power-loss safe) for comparison.
2. Sustained records/s the recorder ships from a spooled backlog into SQLite and into a
   temporary Postgres database (created and dropped here), next to a raw batched insert of the
   same rows in the same run: SQLite ``executemany`` (WAL, ``synchronous=FULL``, as the store
   runs), Postgres ``COPY``, in transactions of the recorder's batch size. "store alone" calls
   ``Store.record_calls`` with the same batches directly (the records as the recorder ships
   them: privacy ``none``). The raw baseline only appends rows; the store also checks
   idempotency and keeps six rollup tables current, and the recorder reads its spool back on
   top: the ratios are the price of those guarantees. Into Postgres the recorder passes its
   spool lines through as the JSON the SQL function takes (``record_call_json``), so it can
   beat "store alone", which encodes ``CallRecord`` objects first. Each rate is the median of ``--runs``
   runs (interleaved, each into a fresh database), the spread printed beside it: a shared
   2-core VM varies by a third from one second to the next.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.recording.recorder import BATCH_SIZE, Recorder  # noqa: E402
from core.results import CallRecord  # noqa: E402
from core.store import open_store  # noqa: E402

BATCH = BATCH_SIZE
COLUMNS = ("litellm_call_id", "created_at", "user_id", "service_type", "model", "provider",
           "provider_model", "status", "error_class", "error", "input_tokens", "output_tokens",
           "total_tokens", "total_cost", "response_time_ms", "ttft_ms", "fallback_of", "is_demo",
           "messages", "response", "metadata")


def make_records(count: int, run: str) -> list[CallRecord]:
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    return [CallRecord(
        call_id=f"{run}-{n}", user_id=f"user{n % 50}", service_type=("xray", "chat")[n % 2],
        model=("claude", "gemini", "gpt")[n % 3], provider=("anthropic", "gemini", "openai")[n % 3],
        provider_model="claude-sonnet-4-5-20250929", status="failure" if n % 20 == 0 else "success",
        created_at=start + dt.timedelta(seconds=17 * n), input_tokens=120 + n % 400,
        output_tokens=300 + n % 700, total_tokens=420 + n % 1100, total_cost=None if n % 10 == 0
        else 0.0001 * (n % 97), response_time_ms=850.0 + n % 300, ttft_ms=210.0,
        fallback_of=f"{run}-{n - 1}" if n % 25 == 0 else None,
        error="Provider returned 529 overloaded" if n % 20 == 0 else None,
        messages=[{"role": "user", "content": "Compare these two answers " * 8}],
        response="An answer of moderate length. " * 10,
        metadata={"temperature": 0.2, "stream": True, "route": "moderate"})
        for n in range(count)]


def row_values(rec: CallRecord) -> tuple:
    """The same row the store writes (privacy ``none``: no messages or response)."""
    return (rec.call_id, rec.created_at.isoformat(), rec.user_id, rec.service_type, rec.model,
            rec.provider, rec.provider_model, rec.status, rec.error_class, rec.error,
            rec.input_tokens, rec.output_tokens, rec.total_tokens, rec.total_cost,
            rec.response_time_ms, rec.ttft_ms, rec.fallback_of, rec.is_demo, None, None,
            json.dumps(rec.metadata))


def request_path(records: list[CallRecord], workdir: Path, *, fsync: bool,
                 busy: bool) -> dict[str, float]:
    """Time each ``record`` call. ``busy``: the shipper drains into SQLite meanwhile, sharing
    the interpreter with the caller; otherwise the store is down and the shipper waits."""
    tag = f"{fsync}-{busy}"
    db = workdir / f"path-{tag}.db"

    def opener():
        if not busy:
            raise ConnectionError("held down by the benchmark")
        return open_store(f"sqlite:///{db}")
    recorder = Recorder(opener, workdir / f"spool-path-{tag}", fsync=fsync)
    timings = []
    clock = time.perf_counter_ns
    for rec in records:
        t0 = clock()
        recorder.record(rec)
        timings.append(clock() - t0)
    recorder.close(timeout=60 if busy else 0.5)
    timings.sort()
    return {"median": statistics.median(timings) / 1000,
            "p99": timings[int(len(timings) * 0.99)] / 1000,
            "mean": statistics.fmean(timings) / 1000}


def python_speed() -> float:
    """µs for ``sum(range(1000))``: about 8 on a recent laptop; scales every figure here."""
    return min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6


def upgraded(url: str):
    store = open_store(url)
    store.upgrade()
    return store


def drain_rate(records: list[CallRecord], url: str, spool: Path) -> float:
    """Spool every record with the store held down, then time the shipper emptying the spool."""
    upgraded(url).close()
    gate = {"open": False}

    def gated():
        if not gate["open"]:
            raise ConnectionError("held down by the benchmark")
        return open_store(url)
    recorder = Recorder(gated, spool, batch_size=BATCH, max_backoff=0.05)
    for rec in records:
        recorder.record(rec)
    recorder.flush(timeout=0.1)
    gate["open"] = True
    t0 = time.perf_counter()
    shipped = recorder.flush(timeout=600)
    elapsed = time.perf_counter() - t0
    recorder.close()
    if shipped != len(records) or recorder.inserted != len(records):
        raise SystemExit(f"recorder shipped {shipped} of {len(records)} records")
    return len(records) / elapsed


def store_rate(records: list[CallRecord], url: str) -> float:
    """``Store.record_calls`` called directly with the same batches: no spool, no thread."""
    records = [dataclasses.replace(rec, messages=None, response=None) for rec in records]
    store = upgraded(url)
    t0 = time.perf_counter()
    for i in range(0, len(records), BATCH):
        store.record_calls(records[i:i + BATCH])
    elapsed = time.perf_counter() - t0
    store.close()
    return len(records) / elapsed


def sqlite_raw_rate(records: list[CallRecord], url: str) -> float:
    upgraded(url).close()
    conn = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
    conn.execute("PRAGMA synchronous=FULL")
    sql = f"INSERT INTO request_logs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    t0 = time.perf_counter()
    for i in range(0, len(records), BATCH):
        rows = [row_values(rec) for rec in records[i:i + BATCH]]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return len(records) / elapsed


def postgres_raw_rate(records: list[CallRecord], url: str) -> float:
    import psycopg

    upgraded(url).close()
    copy = f"COPY public.request_logs ({', '.join(COLUMNS)}) FROM STDIN"
    with psycopg.connect(url) as conn:
        t0 = time.perf_counter()
        for i in range(0, len(records), BATCH):
            rows = [row_values(rec) for rec in records[i:i + BATCH]]
            with conn.transaction(), conn.cursor() as cur, cur.copy(copy) as pipe:
                for row in rows:
                    pipe.write_row(row)
        elapsed = time.perf_counter() - t0
    return len(records) / elapsed


def three_rates(records, urls: list[str], raw, workdir: Path, runs: int) -> list[list[float]]:
    """Records/s through the recorder, straight into the store, and raw: ``runs`` of each,
    interleaved, each run in its own database (``urls``: three per run) and spool."""
    rates: list[list[float]] = [[], [], []]
    for run in range(runs):
        ship_url, direct_url, raw_url = urls[3 * run:3 * run + 3]
        rates[0].append(drain_rate(records, ship_url, workdir / f"spool-{run}"))
        rates[1].append(store_rate(records, direct_url))
        rates[2].append(raw(records, raw_url))
    return rates


@contextlib.contextmanager
def temporary_databases(admin_url: str, count: int):
    """``count`` fresh Postgres databases, dropped on the way out."""
    import psycopg

    names = [f"parley_bench_{secrets.token_hex(4)}" for _ in range(count)]
    base = admin_url.rsplit("/", 1)[0]
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        try:
            for name in names:
                admin.execute(f"CREATE DATABASE {name}")
            yield [f"{base}/{name}" for name in names]
        finally:
            for name in names:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def print_rates(label: str, rates: list[list[float]], raw_label: str) -> None:
    ship, direct, raw = (statistics.median(r) for r in rates)
    spread = "  ".join(f"{min(r):,.0f}-{max(r):,.0f}" for r in rates)
    print(f"   {label:9} {ship:9,.0f} r/s {direct:9,.0f} r/s {raw:9,.0f} r/s "
          f"{ship / raw:8.2f}x  {ship / direct:10.2f}x   (raw: {raw_label}; "
          f"spread {spread})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000, help="rows shipped per store")
    parser.add_argument("--runs", type=int, default=3, help="runs per rate (the median is shown)")
    parser.add_argument("--path-records", type=int, default=20_000, help="record() calls timed")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="a Postgres where the bench may create and drop databases")
    args = parser.parse_args()
    run = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        workdir = Path(tmp)
        print(f"Python speed on this machine: sum(range(1000)) in {python_speed():.1f} µs "
              "(a recent laptop: about 8 µs)\n")
        print("1. Recorder.record on the request path, privacy none")
        for label, fsync, busy, count in (
                ("shipper idle (store down)", False, False, args.path_records),
                ("shipper draining meanwhile", False, True, args.path_records),
                ("fsync=True, shipper idle", True, False, 1000)):
            t = request_path(make_records(count, f"{run}{fsync}{busy}"), workdir, fsync=fsync,
                             busy=busy)
            print(f"   {label:28} {count:6,} calls   median {t['median']:7.1f} µs   "
                  f"p99 {t['p99']:7.1f} µs   mean {t['mean']:7.1f} µs")
        records = make_records(args.records, run)
        print(f"\n2. Sustained shipping of a {len(records):,}-record backlog, {BATCH} a batch, "
              f"median of {args.runs} runs")
        print(f"   {'':9} {'recorder':>13} {'store alone':>13} {'raw insert':>13} "
              f"{'rec/raw':>9} {'rec/store':>11}")
        sqlite_urls = [f"sqlite:///{workdir / name}-{run}.db" for run in range(args.runs)
                       for name in ("ship", "direct", "raw")]
        print_rates("sqlite", three_rates(records, sqlite_urls, sqlite_raw_rate,
                                          workdir / "sqlite", args.runs), "executemany")
        try:
            with temporary_databases(args.pg_url, 3 * args.runs) as pg_urls:
                rates = three_rates(records, pg_urls, postgres_raw_rate, workdir / "pg", args.runs)
        except Exception as exc:  # no Postgres here: say so and keep the SQLite figures
            print(f"   postgres  skipped: {type(exc).__name__}: {exc}".splitlines()[0])
        else:
            print_rates("postgres", rates, "COPY")
        print("\n   aim: record() under 200 µs; at least 20,000 r/s into SQLite, 10,000 r/s into Postgres")
    return 0


if __name__ == "__main__":
    sys.exit(main())
