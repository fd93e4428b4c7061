"""The calls explorer's pages at a small and a large call log, on SQLite (and Postgres).

    .venv/bin/python bench/calls.py [--small 10000] [--large 10000000]
                                    [--postgres URL --pg-large 1000000]

Each size gets a fresh store, filled in bulk by SQL (indexes dropped during the fill and
rebuilt after, as a restore would; 100 users, 4 models, 3 service types, 7% failures, 2%
fallbacks, unknown prices for the local model, one call every ~3 s). Then each page is timed
(median of ``--repeat`` rounds after a warm-up), as ``Store.calls`` serves it:

- first page: newest 50 calls, as an admin;
- deep page: 50 calls from a cursor 90% of the way down the log (keyset, no OFFSET);
- filtered page: one model's failures in a 30-day window;
- cost page: the dearest calls of one user, from a cursor half-way down their calls;
- user page: a plain user's own newest calls.

With ``--postgres`` (a server URL; fresh databases are created and dropped) the same pages
are timed on Postgres, at ``--pg-large`` calls (filled by ``generate_series``).

It prints each figure, large/small, and checks the aims: each page at most 300 ms at the
large size and large/small at most 1.5. Exit status 1 when an aim is missed.
"""
from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.store.call_pages import CallQuery  # noqa: E402
from core.store.sqlite import SqliteStore  # noqa: E402

LIMIT_MS, RATIO = 300.0, 1.5
_START = 1_700_000_000  # unix seconds of the oldest call

_FILL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO request_logs (litellm_call_id, created_at, user_id, service_type, model, provider,
  provider_model, status, error_class, input_tokens, output_tokens, total_tokens, total_cost,
  response_time_ms, ttft_ms, fallback_of, metadata)
SELECT 'bench-' || i, strftime('%Y-%m-%dT%H:%M:%S+00:00', ? + i * 3, 'unixepoch'),
  'user' || (i * 7919 % 100), CASE i % 3 WHEN 0 THEN 'xray' WHEN 1 THEN 'answer_builder'
  ELSE 'smart_questions' END,
  CASE i % 4 WHEN 0 THEN 'claude' WHEN 1 THEN 'gemini' WHEN 2 THEN 'gpt' ELSE 'local' END,
  CASE i % 4 WHEN 0 THEN 'anthropic' WHEN 1 THEN 'gemini' WHEN 2 THEN 'openai' ELSE 'parley-local' END,
  'm', CASE WHEN i * 31 % 100 < 7 THEN 'failure' ELSE 'success' END,
  CASE WHEN i * 31 % 100 < 7 THEN 'RateLimitError' END, i % 4000, i % 900, i % 4000 + i % 900,
  CASE WHEN i % 4 = 3 THEN NULL ELSE (i * 104729 % 100000) / 10000000.0 END,
  200 + i % 3000, 50 + i % 400, CASE WHEN i % 50 = 0 THEN 'bench-' || (i - 1) END, '{}'
FROM n"""


def fill_sqlite(path: Path, calls: int) -> SqliteStore:
    """A migrated store at ``path`` holding ``calls`` synthetic calls."""
    store = SqliteStore(path, synchronous="NORMAL")
    store.upgrade()
    with store._lock:
        conn = store._conn
        indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                               "tbl_name = 'request_logs' AND sql IS NOT NULL").fetchall()
        conn.execute("PRAGMA synchronous=OFF")
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("BEGIN")
        conn.execute(_FILL, (calls, _START))
        conn.execute("COMMIT")
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("ANALYZE")
        conn.execute("PRAGMA synchronous=NORMAL")
    return store


_PG_FILL = """
INSERT INTO request_logs (litellm_call_id, created_at, user_id, service_type, model, provider,
  provider_model, status, error_class, input_tokens, output_tokens, total_tokens, total_cost,
  response_time_ms, ttft_ms, fallback_of, metadata)
SELECT 'bench-' || i, to_timestamp(%s + i * 3), 'user' || (i * 7919 %% 100),
  (array['smart_questions', 'xray', 'answer_builder'])[i %% 3 + 1],
  (array['local', 'claude', 'gemini', 'gpt'])[i %% 4 + 1],
  (array['parley-local', 'anthropic', 'gemini', 'openai'])[i %% 4 + 1], 'm',
  CASE WHEN i * 31 %% 100 < 7 THEN 'failure' ELSE 'success' END,
  CASE WHEN i * 31 %% 100 < 7 THEN 'RateLimitError' END, i %% 4000, i %% 900, i %% 4000 + i %% 900,
  CASE WHEN i %% 4 = 0 THEN NULL ELSE (i * 104729 %% 100000) / 10000000.0 END,
  200 + i %% 3000, 50 + i %% 400, CASE WHEN i %% 50 = 0 THEN 'bench-' || (i - 1) END, '{}'
FROM generate_series(%s::bigint, %s) AS i"""


def fill_postgres(server_url: str, calls: int):
    """A fresh migrated database on ``server_url``'s server with ``calls`` synthetic calls;
    returns (store, its url, a function dropping it)."""
    import uuid

    import psycopg

    from core.store.postgres import PostgresStore

    name = f"parley_bench_calls_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    url = server_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(url, autocommit=True) as conn:
        for role in ("anon", "authenticated", "service_role"):
            if not conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
                conn.execute(f"create role {role} nologin")
        conn.execute("create schema if not exists auth")
        conn.execute("create or replace function auth.uid() returns uuid language sql stable as "
                     "$$ select null::uuid $$")
    store = PostgresStore(url)

    def drop() -> None:
        store.close()
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"drop database {name} with (force)")
    try:
        _fill_pg(store, url, calls)
    except BaseException:
        drop()
        raise
    return store, drop


def _fill_pg(store, url: str, calls: int) -> None:
    import psycopg

    store.upgrade()
    with psycopg.connect(url, autocommit=True) as conn:
        indexes = conn.execute("select indexname, indexdef from pg_indexes where tablename = "
                               "'request_logs' and indexdef not like '%%UNIQUE%%'").fetchall()
        for index, _ in indexes:
            conn.execute(f"drop index {index}")
        # The rollup trigger is off during the fill: the pages read request_logs only.
        conn.execute("alter table request_logs disable trigger user")
        for start in range(0, calls, 1_000_000):
            conn.execute(_PG_FILL, (_START, start + 1, min(start + 1_000_000, calls)))
        conn.execute("alter table request_logs enable trigger user")
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("insert into parley_admins (user_id) values ('admin') on conflict do nothing")
        conn.execute("vacuum analyze request_logs")


def pg_pages(store, calls: int) -> dict[str, tuple[CallQuery, str | None]]:
    """The same pages as ``pages``, cursors found with Postgres's SQL."""
    import datetime as dt

    with store._transaction() as cur:
        cur.execute("select created_at, id from request_logs order by created_at desc, id desc "
                    "limit 1 offset %s", (int(calls * 0.9),))
        deep = cur.fetchone()
        cur.execute("select count(*) from request_logs where user_id = 'user7'")
        mine = cur.fetchone()[0]
        cur.execute("select coalesce(total_cost, -1.0), id from request_logs where user_id = "
                    "'user7' order by 1 desc, id desc limit 1 offset %s", (mine // 2,))
        cost = cur.fetchone()
        cur.execute("select max(created_at) from request_logs")
        until = cur.fetchone()[0]
    return {
        "first page": (CallQuery(limit=50), "admin"),
        "deep page (90%)": (CallQuery(limit=50, cursor=_cursor("time", deep[0].isoformat(), deep[1])), "admin"),
        "filtered page": (CallQuery(limit=50, models=("gpt",), status="failure",
                                    since=until - dt.timedelta(days=30), until=until), "admin"),
        "cost page, one user": (CallQuery(limit=50, sort="cost", users=("user7",),
                                          cursor=_cursor("cost", float(cost[0]), cost[1])), "admin"),
        "a user's own page": (CallQuery(limit=50), "user7"),
    }


def _cursor(sort: str, key, row_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort, key, row_id]).encode()).decode()


def pages(store, calls: int) -> dict[str, tuple[CallQuery, str | None]]:
    """The queries timed, each with the identity it runs under (cursors found untimed)."""
    with store._reading() as conn:
        deep = conn.execute("SELECT created_at, id FROM request_logs ORDER BY created_at DESC, "
                            "id DESC LIMIT 1 OFFSET ?", (int(calls * 0.9),)).fetchone()
        mine = conn.execute("SELECT count(*) FROM request_logs WHERE user_id = 'user7'").fetchone()[0]
        cost = conn.execute("SELECT coalesce(total_cost, -1.0), id FROM request_logs "
                            "WHERE user_id = 'user7' ORDER BY 1 DESC, id DESC LIMIT 1 OFFSET ?",
                            (mine // 2,)).fetchone()
        newest = conn.execute("SELECT max(created_at) FROM request_logs").fetchone()[0]
    import datetime as dt

    until = dt.datetime.fromisoformat(newest)
    return {
        "first page": (CallQuery(limit=50), "admin"),
        "deep page (90%)": (CallQuery(limit=50, cursor=_cursor("time", *deep)), "admin"),
        "filtered page": (CallQuery(limit=50, models=("gpt",), status="failure",
                                    since=until - dt.timedelta(days=30), until=until), "admin"),
        "cost page, one user": (CallQuery(limit=50, sort="cost", users=("user7",),
                                          cursor=_cursor("cost", *cost)), "admin"),
        "a user's own page": (CallQuery(limit=50), "user7"),
    }


def time_page(store, query: CallQuery, as_user: str, repeat: int) -> tuple[float, int]:
    page = store.calls(query, as_user=as_user)  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        page = store.calls(query, as_user=as_user)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), len(page["calls"])


def measure(store, calls: int, repeat: int) -> dict[str, tuple[float, int]]:
    with store._lock:
        store._conn.execute("INSERT OR IGNORE INTO parley_admins VALUES ('admin', 'now')")
    return {name: time_page(store, query, who, repeat) for name, (query, who) in pages(store, calls).items()}


def _report(label: str, small_n: int, large_n: int, results: dict) -> int:
    missed = 0
    print(f"\n{label}")
    print(f"{'page':<22}{f'{small_n:,} calls':>16}{f'{large_n:,} calls':>18}{'ratio':>8}  rows")
    for name in results[small_n]:
        small, large = results[small_n][name][0], results[large_n][name][0]
        ratio = large / small if small else float("inf")
        ok = large <= LIMIT_MS and ratio <= RATIO
        missed += not ok
        print(f"{name:<22}{small:>13.2f} ms{large:>15.2f} ms{ratio:>8.2f}  "
              f"{results[large_n][name][1]:>3}  {'ok' if ok else 'MISSED'}")
    print(f"aims: each page ≤ {LIMIT_MS:.0f} ms at {large_n:,} calls, ratio ≤ {RATIO}")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=10_000_000)
    parser.add_argument("--postgres", help="a Postgres server URL (databases are created and dropped)")
    parser.add_argument("--pg-large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="parley-bench-calls-") as tmp:
        for size in (args.small, args.large):
            started = time.perf_counter()
            store = fill_sqlite(Path(tmp) / f"calls-{size}.db", size)
            mb = (Path(tmp) / f"calls-{size}.db").stat().st_size / 1e6
            print(f"sqlite: {size:,} calls filled and indexed in {time.perf_counter() - started:.0f} s "
                  f"({mb:,.0f} MB)", flush=True)
            results[size] = measure(store, size, args.repeat)
            store.close()
    missed = _report("SQLite", args.small, args.large, results)
    if args.postgres:
        pg = {}
        for size in (args.small, args.pg_large):
            started = time.perf_counter()
            store, drop = fill_postgres(args.postgres, size)
            print(f"postgres: {size:,} calls filled and indexed in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
            try:
                pg[size] = {name: time_page(store, query, who, args.repeat)
                            for name, (query, who) in pg_pages(store, size).items()}
            finally:
                drop()
        missed += _report("Postgres", args.small, args.pg_large, pg)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
