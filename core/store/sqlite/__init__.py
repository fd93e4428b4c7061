"""The default store: one SQLite file (``.parley/parley.db``), WAL mode.

One connection per store, guarded by a lock, so the threads of several Streamlit sessions
share it safely (and a second, read-only, for the key reads in a request's way, so they do
not wait behind the recorder's write transactions); other processes (the CLI while the app
runs) coordinate through WAL and ``busy_timeout``, and every write takes the write lock up
front (``BEGIN IMMEDIATE``) so a reader never has to upgrade its lock half way. The schema is
migrated on first use (``core/store/sqlite/migrations.py``).

A commit is on disk before it returns (WAL with ``synchronous=FULL``: one fsync per
transaction, which the recorder's large batches make cheap), so a record whose spool line was
acknowledged survives a power loss too. ``synchronous="NORMAL"`` skips that fsync, keeping
commits safe from the death of the process only.

SQLite has no row-level security: ``as_user`` is enforced here the way the Postgres
policies do it: a user reads only their own rows unless listed in ``parley_admins``, and
writes only their own preferences.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterator, Sequence

from core.errors import BadRequestError, StoreUnavailableError
from core.results import CallRecord
from core.store.alerts import SqliteAlerts
from core.store.keys import SqliteKeys
from core.store.ledgers import SqlLedgers
from core.store.sqlite import migrations as sqlite_migrations, rollups as sqlite_console
from core.store.rollups import (PERFORMANCE_GRAINS, USAGE_GRAINS, RollupQuery, pick_grain,
                                rollup_increments)
from core.store.clients import SQLITE_SPEND_BY_CLIENT, client_row, day_bounds
from core.store.call_pages import DETAIL_COLUMNS, CallQuery, call_detail, page_from_rows, page_sql
from core.store.sqlite.token_classes import fold_token_classes, token_class_totals
from core.store.base import (check_call, check_limit, check_usage_query, comparison_row,
                              leaderboard_rows, usage_row, utc_iso, vote_row)

__all__ = ["SqliteStore"]

_TABLES = ("request_logs", "usage_daily", "user_preferences", "votes")
_KEY_COLUMN = {"user": "user_id", "model": "model", "provider": "provider",
               "service": "service_type", "day": "day"}
_INSERT_LOG = """
    INSERT INTO request_logs (litellm_call_id, created_at, user_id, service_type, model, provider,
      provider_model, status, error_class, error, input_tokens, output_tokens, total_tokens,
      total_cost, response_time_ms, ttft_ms, fallback_of, is_demo, messages, response, metadata,
      kind, reasoning_tokens, cache_read_tokens, cache_write_tokens, tool_calls, saved_cost,
      key_id, cache_hit, price_id, provider_cost)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (litellm_call_id) DO NOTHING"""


class SqliteStore(SqliteKeys, SqliteAlerts, SqlLedgers):
    """A ``Store`` in one SQLite file (``":memory:"`` for a private in-memory database)."""

    backend = "sqlite"

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 30.0,
                 synchronous: str = "FULL"):
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise BadRequestError(f"synchronous must be NORMAL or FULL, not {synchronous!r}.")
        self.path = str(path)
        self._lock = threading.RLock()
        self._migrated = False
        self._busy_timeout_s = busy_timeout_s
        self._apart: sqlite3.Connection | None = None  # ``_reading_apart``'s, opened on first use
        self._apart_lock = threading.Lock()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._guard():
            self._conn = self._connect()
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
            # 8 MB of pages: the server's resident memory grew by this cache until it was full
            # (32 MB took 40k calls, bench/api.py's soak); shipping a 100k backlog ran as fast
            # with 8 MB as with 32 (bench/recording.py), the OS caching the file below it
            self._conn.execute("PRAGMA cache_size=-8000")

    # -- plumbing -------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """A connection to the file, shared by threads, each statement its own transaction
        unless one is begun, waiting ``busy_timeout`` for another process's write lock."""
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_s * 1000)}")
        return conn

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(
                f"The SQLite store at {self.path} cannot be used ({exc}); check that the file "
                "is writable and not locked by another program.") from None
        except sqlite3.DatabaseError as exc:
            if type(exc) is not sqlite3.DatabaseError:  # integrity and data errors: the record's fault
                raise
            raise StoreUnavailableError(
                f"{self.path} is not a SQLite database Parley can use ({exc}); point "
                "PARLEY_DATABASE_URL at another file, or move this one aside.") from None

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._guard():
            self._ensure_schema()
            yield self._conn

    @contextlib.contextmanager
    def _reading_apart(self) -> Iterator[sqlite3.Connection]:
        """A read on a connection of its own, for a read in a request's way (a key's row and
        month's spend): WAL lets it read the last commit while a write transaction runs. On
        the shared connection it waited for the recorder's transaction, and often for the next
        ones too (a lock is not fair: the recorder thread takes it again as it lets it go); a
        key read waited up to 4.7 s under 600 calls a second. An in-memory database has one
        connection: the shared one."""
        if self.path == ":memory:":
            with self._reading() as conn:
                yield conn
            return
        with self._apart_lock, self._guard():
            if self._apart is None:
                if not self._migrated:
                    with self._reading():
                        pass  # the schema is there before the other connection reads it
                self._apart = self._connect()
                self._apart.execute("PRAGMA query_only=1")
            yield self._apart

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the database's write lock from its first statement."""
        with self._lock, self._guard():
            self._ensure_schema()
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _ensure_schema(self) -> None:
        if not self._migrated:
            sqlite_migrations.migrate(self._conn)
            self._migrated = True

    def _is_admin(self, conn: sqlite3.Connection, user_id: str) -> bool:
        return conn.execute("SELECT 1 FROM parley_admins WHERE user_id = ?",
                            (user_id.strip().lower(),)).fetchone() is not None

    def sync_admins(self, admins: Sequence[str]) -> int:
        """The table holds exactly ``admins``, lower-cased and trimmed."""
        wanted = sorted({a.strip().lower() for a in admins if a and a.strip()})
        with self._writing() as conn:
            conn.execute(f"DELETE FROM parley_admins WHERE user_id NOT IN "
                         f"({', '.join('?' * len(wanted))})", wanted)
            conn.executemany("INSERT OR IGNORE INTO parley_admins VALUES (?, ?)",
                             [(a, utc_iso(dt.datetime.now(dt.timezone.utc))) for a in wanted])
            return conn.execute("SELECT count(*) FROM parley_admins").fetchone()[0]

    def _ledger_rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._reading() as conn:
            cursor = conn.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def _ledger_write(self, sql: str, rows) -> list[int]:
        with self._writing() as conn:
            return [conn.execute(sql, list(row)).fetchone()[0] for row in rows]

    # -- Store ----------------------------------------------------------------------

    def upgrade(self) -> list[str]:
        """Apply pending migrations in order; return the names applied."""
        with self._lock, self._guard():
            applied = sqlite_migrations.migrate(self._conn)
            self._migrated = True
            return applied

    def record_calls(self, records: Sequence[CallRecord]) -> int:
        """Insert the records whose call id is new and fold them into the rollups, in one
        transaction. Returns how many were new."""
        batch: dict[str, CallRecord] = {}
        for record in records:
            batch.setdefault(check_call(record).call_id, record)
        if not batch:
            return 0
        new = list(batch.values())
        stamps = [utc_iso(record.created_at) for record in new]
        with self._writing() as conn:
            last_id = conn.execute("SELECT coalesce(max(id), 0) FROM request_logs").fetchone()[0]
            inserted = conn.executemany(_INSERT_LOG, map(_log_values, new, stamps)).rowcount
            if inserted < len(new):  # some were stored before: fold in only the rows just added
                # Holding the write lock, this transaction's rows are the ones above last_id.
                added = {row[0] for row in conn.execute(
                    "SELECT litellm_call_id FROM request_logs WHERE id > ?", (last_id,))}
                kept = [i for i, record in enumerate(new) if record.call_id in added]
                new, stamps = [new[i] for i in kept], [stamps[i] for i in kept]
            if new:
                sqlite_console.fold_rollups(conn, *rollup_increments(new, stamps))
                fold_token_classes(conn, new, stamps)
        return inserted

    def usage(self, by: str, *, user_id: str | None = None, since: dt.date | None = None,
              until: dt.date | None = None, as_user: str | None = None) -> list[dict[str, Any]]:
        """Spend grouped by ``by`` from ``usage_daily``: cost desc (``day``: day asc)."""
        since_iso, until_iso = check_usage_query(by, since, until)
        key = _KEY_COLUMN[by]
        order = "key" if by == "day" else "cost DESC, key"
        where, params = ["(? IS NULL OR user_id = ?)", "(? IS NULL OR day >= ?)",
                         "(? IS NULL OR day <= ?)"], [user_id, user_id, since_iso, since_iso,
                                                      until_iso, until_iso]
        with self._reading() as conn:
            if as_user is not None and not self._is_admin(conn, as_user):
                where.append("user_id = ?")
                params.append(as_user)
            rows = conn.execute(f"""
                SELECT {key} AS key, sum(calls), sum(failures), sum(input_tokens),
                       sum(output_tokens), sum(total_tokens), sum(cost), sum(unpriced_calls),
                       sum(CASE WHEN is_demo THEN calls ELSE 0 END)
                FROM usage_daily WHERE {' AND '.join(where)}
                GROUP BY 1 ORDER BY {order}""", params).fetchall()
        names = ("key", "calls", "failures", "input_tokens", "output_tokens", "total_tokens",
                 "cost", "unpriced_calls", "demo_calls")
        return [usage_row(dict(zip(names, row))) for row in rows]

    def spend_by_client(self, *, user_id: str | None = None, since: dt.date | None = None,
                        until: dt.date | None = None,
                        as_user: str | None = None) -> list[dict[str, Any]]:
        """Spend per client and user from the call log (core/store/clients.py), cost desc; a
        non-admin ``as_user`` sees their own calls only."""
        start, end = day_bounds(since, until)
        params: list[Any] = [user_id, user_id, start, start, end, end]
        with self._reading() as conn:
            only_user = ""
            if as_user is not None and not self._is_admin(conn, as_user):
                only_user, params = "AND user_id = ?", [*params, as_user]
            rows = conn.execute(SQLITE_SPEND_BY_CLIENT.format(only_user=only_user), params).fetchall()
        return [client_row(row) for row in rows]

    def usage_rollup(self, query: RollupQuery, *, as_user: str | None = None) -> list[dict[str, Any]]:
        """``usage_daily`` sliced by ``query`` (see ``Store.usage_rollup``)."""
        with self._reading() as conn:
            if as_user is not None and not self._is_admin(conn, as_user):
                query = query.only_user(as_user)
            grain = pick_grain(USAGE_GRAINS, query, as_user=as_user)
            return sqlite_console.usage_rollup(conn, query, grain)

    def performance_rollup(self, query: RollupQuery, *,
                           as_user: str | None = None) -> list[dict[str, Any]]:
        """``performance_daily`` sliced by ``query`` (see ``Store.performance_rollup``)."""
        with self._reading() as conn:
            if as_user is not None and not self._is_admin(conn, as_user):
                query = query.only_user(as_user)
            grain = pick_grain(PERFORMANCE_GRAINS, query, as_user=as_user)
            return sqlite_console.performance_rollup(conn, query, grain)

    def token_classes(self, query: RollupQuery, *, as_user: str | None = None) -> dict[str, Any]:
        """``usage_classes_daily`` summed over ``query`` (see ``UsageReader.token_classes``)."""
        with self._reading() as conn:
            if as_user is not None and not self._is_admin(conn, as_user):
                query = query.only_user(as_user)
            return token_class_totals(conn, query)

    def get_preferences(self, user_id: str, *, as_user: str | None = None) -> dict[str | None, str]:
        """Service type (None = the user's default) -> model name."""
        with self._reading() as conn:
            if as_user not in (None, user_id) and not self._is_admin(conn, as_user):
                return {}
            rows = conn.execute("SELECT service_type, model FROM user_preferences "
                                "WHERE user_id = ?", (user_id,)).fetchall()
        return dict(rows)

    def set_preference(self, user_id: str, model: str, service_type: str | None = None, *,
                       as_user: str | None = None) -> None:
        """Upsert one preference; under ``as_user`` only that user's own."""
        if as_user not in (None, user_id):
            raise BadRequestError(f"User {as_user!r} may not change the preferences of {user_id!r}.")
        with self._writing() as conn:
            conn.execute("""
                INSERT INTO user_preferences (user_id, service_type, model, updated_at)
                VALUES (?, ?, ?, ?)
                ON CONFLICT (user_id, coalesce(service_type, '')) DO UPDATE SET
                  model = excluded.model, updated_at = excluded.updated_at""",
                         (user_id, service_type, model, utc_iso(dt.datetime.now(dt.timezone.utc))))

    def clear_preference(self, user_id: str, service_type: str | None = None, *,
                         as_user: str | None = None) -> bool:
        """Delete one preference; under ``as_user`` only that user's own. True if one went."""
        if as_user not in (None, user_id):
            raise BadRequestError(f"User {as_user!r} may not change the preferences of {user_id!r}.")
        with self._writing() as conn:
            gone = conn.execute("DELETE FROM user_preferences WHERE user_id = ? "
                                "AND service_type IS ?", (user_id, service_type))
        return gone.rowcount > 0

    def record_vote(self, vote: dict[str, Any]) -> None:
        """Store one blind-comparison outcome (see ``base.vote_row`` for its keys)."""
        row = vote_row(vote)
        for key in ("models", "settings", "costs", "latencies", "metadata"):
            row[key] = json.dumps(row[key], default=str)
        columns = ", ".join(row)
        with self._writing() as conn:
            conn.execute(f"INSERT INTO votes ({columns}) VALUES ({', '.join('?' * len(row))})",
                         list(row.values()))

    def leaderboard(self, *, user_id: str | None = None,
                    as_user: str | None = None) -> list[dict[str, Any]]:
        """Blind-vote results per model (see ``Store.leaderboard``)."""
        where, params = ["(? IS NULL OR user_id = ?)"], [user_id, user_id]
        with self._reading() as conn:
            if as_user is not None and not self._is_admin(conn, as_user):
                where.append("user_id = ?")
                params.append(as_user)
            rows = conn.execute(_LEADERBOARD.format(where=" AND ".join(where)), params).fetchall()
        names = ("model", "votes", "wins", "ties", "both_bad", "losses", "avg_cost",
                 "priced_answers", "avg_latency_ms")
        return leaderboard_rows([dict(zip(names, row)) for row in rows])

    def save_comparison(self, comparison: dict[str, Any]) -> None:
        """Insert or replace one comparison by id, unless it belongs to another user."""
        row = comparison_row(comparison)
        with self._writing() as conn:
            conn.execute("""
                INSERT INTO comparisons (id, user_id, created_at, updated_at, title, data)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at,
                  title = excluded.title, data = excluded.data
                WHERE comparisons.user_id = excluded.user_id""",
                         (row["id"], row["user_id"], row["created_at"], row["updated_at"],
                          row["title"], json.dumps(row["data"], default=str)))

    def comparisons(self, user_id: str, *, limit: int = 20,
                    as_user: str | None = None) -> list[dict[str, Any]]:
        """The user's saved comparisons, most recently updated first."""
        limit = check_limit(limit)
        with self._reading() as conn:
            if as_user not in (None, user_id) and not self._is_admin(conn, as_user):
                return []
            rows = conn.execute("SELECT id, user_id, created_at, updated_at, title, data "
                                "FROM comparisons WHERE user_id = ? "
                                "ORDER BY updated_at DESC, id LIMIT ?", (user_id, limit)).fetchall()
        names = ("id", "user_id", "created_at", "updated_at", "title", "data")
        return [{**dict(zip(names, row)), "data": json.loads(row[5])} for row in rows]

    def status(self) -> dict[str, Any]:
        """Backend, file, migrations applied and pending, and row counts per table."""
        with self._reading() as conn:
            applied = sqlite_migrations.applied_migrations(conn)
            counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                      for table in _TABLES}
        pending = [name for name, _ in sqlite_migrations.MIGRATIONS if name not in applied]
        return {"backend": self.backend, "location": self.path, "applied_migrations": applied,
                "pending_migrations": pending, "counts": counts}

    def calls(self, query: "CallQuery", *, as_user: str | None = None) -> dict[str, Any]:
        """One page of the call log (``core/store/call_pages.py``); a user who is not an admin
        sees only their own calls."""
        query = query.checked()
        with self._reading() as conn:
            if as_user is not None and not self._is_admin(conn, as_user):
                query = query.only_user(as_user)
            rows = conn.execute(*page_sql(query, "sqlite")).fetchall()
        return page_from_rows(query, rows)

    def call(self, call_id: str, *, as_user: str | None = None) -> dict[str, Any] | None:
        """One call with everything recorded of it, and ``attempts``: the failed attempts a
        fallback replaced, in order. None if there is none (or it is another user's)."""
        with self._reading() as conn:
            rows = conn.execute(f"SELECT {', '.join(DETAIL_COLUMNS)} FROM request_logs "
                                "WHERE litellm_call_id = ? OR litellm_call_id LIKE ? ESCAPE '!' "
                                "ORDER BY id", (call_id, _like_prefix(call_id))).fetchall()
            allowed = as_user is None or self._is_admin(conn, as_user)
        found = [call_detail(dict(zip(DETAIL_COLUMNS, row))) for row in rows]
        main = next((c for c in found if c["litellm_call_id"] == call_id), None)
        if main is None or not (allowed or main["user_id"] == as_user):
            return None
        return {**main, "attempts": [c for c in found if c is not main]}

    def evals(self):
        """The evaluation tables in this file (``core/store/evals.py``)."""
        from core.store.evals import EvalStore

        return EvalStore(self._reading, self._writing, "sqlite")

    def close(self) -> None:
        with self._apart_lock:
            if self._apart is not None:
                self._apart.close()
                self._apart = None
        with self._lock:
            self._conn.close()

# One row per (vote, distinct model) among votes of at least two different models.
_LEADERBOARD = """
    WITH voted AS (
      SELECT id, winner, costs, latencies, models FROM votes
      WHERE {where} AND (SELECT count(DISTINCT value) FROM json_each(votes.models)) >= 2
    ), per_model AS (
      SELECT DISTINCT voted.id, e.value AS model, voted.winner,
             (SELECT c.value FROM json_each(voted.costs) c WHERE c.key = e.value) AS cost,
             (SELECT l.value FROM json_each(voted.latencies) l WHERE l.key = e.value) AS latency
      FROM voted, json_each(voted.models) e
    )
    SELECT model, count(*), sum(winner = model), sum(winner = 'tie'), sum(winner IS NULL),
           sum(winner IS NOT NULL AND winner NOT IN (model, 'tie')), avg(cost), count(cost),
           avg(latency)
    FROM per_model GROUP BY model"""


def _like_prefix(call_id: str) -> str:
    """``call_id.%`` for LIKE, with LIKE's wildcards in the id escaped."""
    return call_id.replace("!", "!!").replace("%", "!%").replace("_", "!_") + ".%"


# Built once: json.dumps with options builds a new encoder on every call.
_to_json = json.JSONEncoder(default=str).encode


def _log_values(record: CallRecord, created_at: str) -> tuple:
    messages = None if record.messages is None else _to_json(record.messages)
    return (record.call_id, created_at, record.user_id, record.service_type,
            record.model, record.provider, record.provider_model or "", record.status,
            record.error_class, record.error, record.input_tokens or 0, record.output_tokens or 0,
            record.total_tokens or 0, record.total_cost, record.response_time_ms, record.ttft_ms,
            record.fallback_of, int(record.is_demo), messages, record.response,
            _to_json(record.metadata) if record.metadata else "{}", record.kind or "chat",
            record.reasoning_tokens or 0, record.cache_read_tokens or 0,
            record.cache_write_tokens or 0, record.tool_calls or 0, record.saved_cost,
            record.key_id, int(record.cache_hit), record.price_id, record.provider_cost)
