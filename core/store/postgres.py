"""Postgres store through psycopg 3: any Postgres, including a Supabase project's connection string.

All logic lives in the SQL functions of ``supabase/migrations`` (the Supabase backend calls
the same ones over REST): ``parley_record_calls``, ``parley_usage``, ``parley_get_preferences``,
``parley_set_preference``, ``parley_clear_preference``, ``parley_record_vote``,
``parley_status``. ``upgrade()`` applies those files in filename order, each once, in its own
transaction, recorded in ``parley_schema_migrations``.

Reads and writes with ``as_user`` run under that user's identity for the transaction, as
PostgREST does it: ``SET LOCAL ROLE authenticated`` and ``request.jwt.claims`` =
``{"sub": user, "role": "authenticated"}``, so row-level security applies. Other calls run
as the connecting role (the tables' owner on Supabase, which bypasses RLS, like the service
role). psycopg is imported on first connection, so importing this module is cheap.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import queue
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence
from urllib.parse import unquote, urlsplit

from core.errors import BadRequestError, StoreUnavailableError, redact
from core.results import CallRecord
from core.store.alerts import SqlFunctionAlerts
from core.store.keys import SqlFunctionKeys
from core.store.ledgers import SqlLedgers
from core.store.rollups import (PERFORMANCE_GRAINS, USAGE_GRAINS, RollupQuery, performance_row,
                                 pick_grain, usage_rollup_row)
from core.store.clients import client_row
from core.store.call_pages import DETAIL_COLUMNS, CallQuery, call_detail, page_from_rows, page_sql
from core.store.token_classes import class_totals
from core.store.base import (call_row, check_limit, check_usage_query, comparison_row,
                              leaderboard_rows, usage_row, vote_row)

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresStore", "MIGRATIONS_DIR", "migration_files", "safe_location",
           "preferences_from_rows"]

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "supabase" / "migrations"
_MIGRATION_LOCK = 0x7061726C  # pg_advisory_xact_lock key ("parl"): one upgrade at a time
_MIGRATIONS_TABLE = """
    create table if not exists public.parley_schema_migrations (
      name text primary key, applied_at timestamptz not null default now());
    alter table public.parley_schema_migrations enable row level security"""


def migration_files() -> list[Path]:
    """The ``supabase/migrations/*.sql`` files in the order they apply."""
    return sorted(MIGRATIONS_DIR.glob("*.sql"))


def safe_location(url: str) -> str:
    """``host:port/database`` of a connection URL, without user or password."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path or ''}"


def preferences_from_rows(rows: list[dict[str, Any]]) -> dict[str | None, str]:
    """``parley_get_preferences`` rows -> {service type (None = default): model}."""
    return {row["service_type"]: row["model"] for row in rows}


class PostgresStore(SqlFunctionKeys, SqlFunctionAlerts, SqlLedgers):
    """A ``Store`` in Postgres. Thread-safe: each call borrows a connection from a small pool."""

    backend = "postgres"

    def __init__(self, url: str, *, max_idle: int = 4, connect_timeout_s: int = 5):
        self.location = safe_location(url)
        self._url = url
        self._secrets = tuple(s for s in (urlsplit(url).password,) if s)
        self._secrets += tuple(unquote(s) for s in self._secrets)
        self._idle: queue.LifoQueue = queue.LifoQueue(maxsize=max_idle)
        self._connect_timeout_s = connect_timeout_s

    # -- plumbing -------------------------------------------------------------------

    def _unavailable(self, problem: str) -> StoreUnavailableError:
        return StoreUnavailableError(redact(f"The postgres store at {self.location} {problem}",
                                            self._secrets))

    def _connect(self) -> "psycopg.Connection":
        import psycopg

        try:
            # prepare_threshold=None: no server-side prepared statements, which transaction
            # poolers (Supabase's on port 6543, pgbouncer) cannot keep across transactions
            return psycopg.connect(self._url, autocommit=True, application_name="parley",
                                   connect_timeout=self._connect_timeout_s, prepare_threshold=None)
        except psycopg.Error as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise self._unavailable(f"cannot be reached ({first_line}); check "
                                    "PARLEY_DATABASE_URL and that the server is running.") from None

    @contextlib.contextmanager
    def _transaction(self, as_user: str | None = None) -> Iterator["psycopg.Cursor"]:
        """A cursor in one transaction; with ``as_user``, under that user's identity."""
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            with self._translated(as_user), conn.transaction(), conn.cursor() as cur:
                if as_user is not None:
                    cur.execute("set local role authenticated")
                    cur.execute("select set_config('request.jwt.claims', %s, true)",
                                (json.dumps({"sub": as_user, "role": "authenticated"}),))
                yield cur
        finally:
            self._release(conn)

    def _release(self, conn: "psycopg.Connection") -> None:
        """Keep a healthy connection for the next call, unless enough are idle already."""
        from psycopg import pq

        if not conn.closed and not conn.broken and \
                conn.info.transaction_status == pq.TransactionStatus.IDLE:
            with contextlib.suppress(queue.Full):
                self._idle.put_nowait(conn)
                return
        conn.close()

    @contextlib.contextmanager
    def _translated(self, as_user: str | None) -> Iterator[None]:
        """psycopg errors -> Parley's: unreachable or unmigrated -> StoreUnavailableError,
        refused by row-level security -> BadRequestError."""
        import psycopg
        from psycopg import errors as pg

        try:
            yield
        except (pg.UndefinedTable, pg.UndefinedFunction):
            raise self._unavailable("has no Parley schema yet; run `python -m core db upgrade`.") from None
        except pg.InsufficientPrivilege as exc:
            if as_user is None:
                raise self._unavailable(f"refused the connecting role ({str(exc).splitlines()[0]}); "
                                        "connect as the owner of the Parley tables.") from None
            raise BadRequestError(f"Not allowed for user {as_user!r}: "
                                  f"{str(exc).splitlines()[0]}.") from None
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            raise BadRequestError(f"The postgres store refused the request: "
                                  f"{str(exc).splitlines()[0]}.") from None
        except psycopg.OperationalError as exc:
            raise self._unavailable(f"failed ({str(exc).strip().splitlines()[0]}); check "
                                    "that the server is running.") from None

    def _call(self, sql: str, params: Sequence[Any] = (), *, as_user: str | None = None) -> Any:
        """Run one statement returning one value (a SQL function's result)."""
        with self._transaction(as_user) as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        return row[0] if row else None

    def _ledger_rows(self, sql: str, params: Sequence[Any] = (), *,
                     as_user: str | None = None) -> list[dict[str, Any]]:
        with self._transaction(as_user) as cur:
            cur.execute(sql, list(params))
            names = [d.name for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def _ledger_write(self, sql: str, rows) -> list[int]:
        ids = []
        with self._transaction() as cur:
            for row in rows:
                cur.execute(sql, list(row))
                ids.append(cur.fetchone()[0])
        return ids

    def _key_fn(self, name: str, args: dict[str, Any], as_user: str | None) -> Any:
        """``public.<name>(arg => value, ...)``; dicts and lists are passed as jsonb."""
        params = [json.dumps(v) if isinstance(v, (dict, list)) else v for v in args.values()]
        casts = ["::jsonb" if isinstance(v, (dict, list)) else "" for v in args.values()]
        named = ", ".join(f"{k} => %s{c}" for k, c in zip(args, casts))
        return self._call(f"select public.{name}({named})", params, as_user=as_user)

    def _applied(self, cur: "psycopg.Cursor") -> set[str]:
        cur.execute("select to_regclass('public.parley_schema_migrations') is not null")
        if not cur.fetchone()[0]:
            return set()
        cur.execute("select name from public.parley_schema_migrations")
        return {row[0] for row in cur.fetchall()}

    # -- Store ----------------------------------------------------------------------

    def upgrade(self) -> list[str]:
        """Apply pending ``supabase/migrations`` files in order; return the names applied."""
        done = []
        for path in migration_files():
            with self._transaction() as cur:
                cur.execute("select pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                cur.execute(_MIGRATIONS_TABLE)
                if path.name in self._applied(cur):
                    continue
                cur.execute(path.read_text(encoding="utf-8"))
                cur.execute("insert into public.parley_schema_migrations (name) values (%s)",
                            (path.name,))
            done.append(path.name)
        return done

    def record_calls(self, records: Sequence[CallRecord]) -> int:
        """One call to ``parley_record_calls``: idempotent by call id, rollups in the same
        transaction. Returns how many were new."""
        if not records:
            return 0
        return self._record_rows(json.dumps([call_row(record) for record in records], default=str))

    def record_call_json(self, payload: bytes) -> int:
        """``record_calls`` for records already encoded as a JSON array of call rows (the
        recorder's spool lines: ``CallRecord`` fields, privacy and redaction applied), passed
        through without decoding. Postgres checks every row, and a malformed one fails the
        whole call as a data error, so the caller can fall back to ``record_calls``."""
        return self._record_rows(payload.decode())

    def _record_rows(self, rows_json: str) -> int:
        return int(self._call("select public.parley_record_calls(%s::jsonb)", (rows_json,)))

    def usage(self, by: str, *, user_id: str | None = None, since: dt.date | None = None,
              until: dt.date | None = None, as_user: str | None = None) -> list[dict[str, Any]]:
        """``parley_usage``: spend grouped by ``by``, cost desc (``day``: day asc)."""
        since_iso, until_iso = check_usage_query(by, since, until)
        rows = self._call("select public.parley_usage(%s, %s, %s::date, %s::date)",
                          (by, user_id, since_iso, until_iso), as_user=as_user)
        return [usage_row(row) for row in rows]

    def spend_by_client(self, *, user_id: str | None = None, since: dt.date | None = None,
                        until: dt.date | None = None,
                        as_user: str | None = None) -> list[dict[str, Any]]:
        """``parley_spend_by_client``: spend per client and user (RLS under ``as_user``)."""
        rows = self._call("select public.parley_spend_by_client(%s, %s::date, %s::date)",
                          (user_id, since.isoformat() if since else None,
                           until.isoformat() if until else None), as_user=as_user)
        return [client_row(row) for row in rows or []]

    def usage_rollup(self, query: RollupQuery, *, as_user: str | None = None) -> list[dict[str, Any]]:
        """``parley_console_usage``: ``usage_daily`` sliced by ``query`` (RLS under ``as_user``)."""
        grain = pick_grain(USAGE_GRAINS, query, as_user=as_user)
        rows = self._call("select public.parley_console_usage(%s::jsonb)",
                          (json.dumps(query.to_json(grain)),), as_user=as_user)
        return [usage_rollup_row(row) for row in rows]

    def performance_rollup(self, query: RollupQuery, *,
                           as_user: str | None = None) -> list[dict[str, Any]]:
        """``parley_console_performance``: ``performance_daily`` sliced by ``query``."""
        grain = pick_grain(PERFORMANCE_GRAINS, query, as_user=as_user)
        rows = self._call("select public.parley_console_performance(%s::jsonb)",
                          (json.dumps(query.to_json(grain)),), as_user=as_user)
        return [performance_row(row) for row in rows]

    def token_classes(self, query: RollupQuery, *, as_user: str | None = None) -> dict[str, Any]:
        """``parley_token_classes``: ``usage_classes_daily`` summed over ``query`` (RLS under
        ``as_user``)."""
        return class_totals(self._call("select public.parley_token_classes(%s::jsonb)",
                                       (json.dumps(query.to_json()),), as_user=as_user))

    def get_preferences(self, user_id: str, *, as_user: str | None = None) -> dict[str | None, str]:
        rows = self._call("select public.parley_get_preferences(%s)", (user_id,), as_user=as_user)
        return preferences_from_rows(rows)

    def set_preference(self, user_id: str, model: str, service_type: str | None = None, *,
                       as_user: str | None = None) -> None:
        """``parley_set_preference``; under ``as_user`` RLS allows only the user's own."""
        self._call("select public.parley_set_preference(%s, %s, %s)",
                   (user_id, model, service_type), as_user=as_user)

    def clear_preference(self, user_id: str, service_type: str | None = None, *,
                         as_user: str | None = None) -> bool:
        """``parley_clear_preference``; under ``as_user`` only the user's own (42501 otherwise)."""
        return bool(self._call("select public.parley_clear_preference(%s, %s)",
                               (user_id, service_type), as_user=as_user))

    def record_vote(self, vote: dict[str, Any]) -> None:
        self._call("select public.parley_record_vote(%s::jsonb)",
                   (json.dumps(vote_row(vote), default=str),))

    def leaderboard(self, *, user_id: str | None = None,
                    as_user: str | None = None) -> list[dict[str, Any]]:
        """``parley_leaderboard``: blind-vote results per model (RLS applies under ``as_user``)."""
        rows = self._call("select public.parley_leaderboard(%s)", (user_id,), as_user=as_user)
        return leaderboard_rows(rows)

    def save_comparison(self, comparison: dict[str, Any]) -> None:
        self._call("select public.parley_save_comparison(%s::jsonb)",
                   (json.dumps(comparison_row(comparison), default=str),))

    def comparisons(self, user_id: str, *, limit: int = 20,
                    as_user: str | None = None) -> list[dict[str, Any]]:
        """``parley_comparisons``: the user's saved comparisons, newest first."""
        return self._call("select public.parley_comparisons(%s, %s)", (user_id, check_limit(limit)),
                          as_user=as_user)

    def calls(self, query: "CallQuery", *, as_user: str | None = None) -> dict[str, Any]:
        """One page of the call log (``core/store/call_pages.py``). The row rule is applied here,
        as SQLite does: a user who is not an admin (``parley_is_admin()`` under their
        identity) gets only their own calls. The page itself is read as the connecting role,
        because under row-level security Postgres moves only leakproof comparisons into an
        index scan, and numeric's and a row value's are not: a deep page would scan."""
        query = query.checked()
        if as_user is not None and not self._call("select public.parley_is_admin()", as_user=as_user):
            query = query.only_user(as_user)
        with self._transaction() as cur:
            cur.execute(*page_sql(query, "postgres"))
            rows = cur.fetchall()
        return page_from_rows(query, rows)

    def call(self, call_id: str, *, as_user: str | None = None) -> dict[str, Any] | None:
        """One call and the failed attempts its fallback replaced (see ``SqliteStore.call``)."""
        with self._transaction(as_user) as cur:
            cur.execute(f"select {', '.join(DETAIL_COLUMNS)} from public.request_logs "
                        "where litellm_call_id = %s or starts_with(litellm_call_id, %s) order by id",
                        (call_id, call_id + "."))
            rows = cur.fetchall()
        found = [call_detail(dict(zip(DETAIL_COLUMNS, row))) for row in rows]
        main = next((c for c in found if c["litellm_call_id"] == call_id), None)
        return None if main is None else {**main, "attempts": [c for c in found if c is not main]}

    def evals(self):
        """The evaluation tables (``core/store/evals.py``), as the connecting role."""
        from core.store.evals import EvalStore

        return EvalStore(self._transaction, self._transaction, "postgres")

    def sync_admins(self, admins: Sequence[str]) -> int:
        """``parley_sync_admins``: the table holds exactly ``admins``, lower-cased."""
        return int(self._call("select public.parley_sync_admins(%s::jsonb)",
                              (json.dumps(list(admins)),)))

    def status(self) -> dict[str, Any]:
        """Backend, host/database, migrations applied and pending, and row counts."""
        with self._transaction() as cur:
            applied = self._applied(cur)
            cur.execute("select to_regprocedure('public.parley_status()') is not null")
            counts = {}
            if cur.fetchone()[0]:
                cur.execute("select public.parley_status()")
                counts = cur.fetchone()[0]
        names = [path.name for path in migration_files()]
        return {"backend": self.backend, "location": self.location,
                "applied_migrations": [name for name in names if name in applied],
                "pending_migrations": [name for name in names if name not in applied],
                "counts": counts}

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
