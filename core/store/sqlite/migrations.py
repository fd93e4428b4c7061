"""The SQLite schema, grown by small ordered migrations, each recorded by name in ``_migrations``.

Append new migrations at the end; never edit one that has shipped. ``migrate(conn)`` applies
the pending ones in order, each in its own ``BEGIN IMMEDIATE`` transaction, so two processes
opening the same file at once apply each migration exactly once. The tables mirror the
Postgres schema in ``supabase/migrations``: timestamps are ISO 8601 text in UTC, booleans
0/1, JSON as text.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Callable

__all__ = ["MIGRATIONS", "migrate", "applied_migrations"]

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """Names recorded in ``_migrations``, in the order they were applied."""
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    return [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations in order; return the names applied. ``conn`` must be in
    autocommit mode (``isolation_level=None``)."""
    done = []
    for name, apply in MIGRATIONS:
        if name in applied_migrations(conn):
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                conn.execute("ROLLBACK")
                continue
            apply(conn)
            conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                         (name, dt.datetime.now(dt.timezone.utc).isoformat()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        done.append(name)
    return done


# Monthly per-user totals with model and provider breakdowns, derived from usage_daily.
# Part of m002 as it shipped: a different view is a new migration, not an edit here.
_TOKENS_USAGE_VIEW = """
        CREATE VIEW tokens_usage AS
        WITH monthly AS (
          SELECT strftime('%Y-%m-01', day) AS month, user_id, provider, model, sum(calls) AS calls,
                 sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
                 sum(cost) AS cost, sum(unpriced_calls) AS unpriced_calls
          FROM usage_daily GROUP BY 1, 2, 3, 4
        ), by_model AS (
          SELECT month, user_id, model AS name, sum(calls) AS calls, sum(input_tokens) AS i,
                 sum(output_tokens) AS o, sum(cost) AS cost FROM monthly GROUP BY 1, 2, 3
        ), by_provider AS (
          SELECT month, user_id, provider AS name, sum(calls) AS calls, sum(input_tokens) AS i,
                 sum(output_tokens) AS o, sum(cost) AS cost FROM monthly GROUP BY 1, 2, 3
        )
        SELECT month, user_id, sum(calls) AS calls, sum(input_tokens) AS input_tokens,
               sum(output_tokens) AS output_tokens, sum(cost) AS cost,
               sum(unpriced_calls) AS unpriced_calls,
               (SELECT json_group_object(name, json_object('calls', calls, 'input_tokens', i,
                       'output_tokens', o, 'cost', cost)) FROM by_model b
                WHERE b.month = t.month AND b.user_id = t.user_id) AS models,
               (SELECT json_group_object(name, json_object('calls', calls, 'input_tokens', i,
                       'output_tokens', o, 'cost', cost)) FROM by_provider b
                WHERE b.month = t.month AND b.user_id = t.user_id) AS providers
        FROM monthly t GROUP BY month, user_id"""


@migration
def m001_request_logs(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE request_logs (
          id INTEGER PRIMARY KEY,
          litellm_call_id TEXT NOT NULL UNIQUE,
          created_at TEXT NOT NULL,
          user_id TEXT NOT NULL,
          service_type TEXT NOT NULL,
          model TEXT NOT NULL,
          provider TEXT NOT NULL,
          provider_model TEXT NOT NULL DEFAULT '',
          status TEXT NOT NULL CHECK (status IN ('success', 'failure')),
          error_class TEXT,
          error TEXT,
          input_tokens INTEGER NOT NULL DEFAULT 0,
          output_tokens INTEGER NOT NULL DEFAULT 0,
          total_tokens INTEGER NOT NULL DEFAULT 0,
          total_cost REAL,
          response_time_ms REAL,
          ttft_ms REAL,
          fallback_of TEXT,
          is_demo INTEGER NOT NULL DEFAULT 0,
          messages TEXT,
          response TEXT,
          metadata TEXT NOT NULL DEFAULT '{}'
        )""")
    conn.execute("CREATE INDEX request_logs_user_created_idx ON request_logs (user_id, created_at)")
    conn.execute("CREATE INDEX request_logs_created_idx ON request_logs (created_at)")
    conn.execute("CREATE INDEX request_logs_failures_idx ON request_logs (created_at) "
                 "WHERE status = 'failure'")


@migration
def m002_usage_rollups(conn: sqlite3.Connection) -> None:
    """``usage_daily`` (kept current on write), backfilled from the logs already there,
    and the monthly ``tokens_usage`` view over it."""
    conn.execute("""
        CREATE TABLE usage_daily (
          day TEXT NOT NULL,
          user_id TEXT NOT NULL,
          provider TEXT NOT NULL,
          model TEXT NOT NULL,
          service_type TEXT NOT NULL,
          is_demo INTEGER NOT NULL DEFAULT 0,
          calls INTEGER NOT NULL DEFAULT 0,
          failures INTEGER NOT NULL DEFAULT 0,
          input_tokens INTEGER NOT NULL DEFAULT 0,
          output_tokens INTEGER NOT NULL DEFAULT 0,
          total_tokens INTEGER NOT NULL DEFAULT 0,
          cost REAL NOT NULL DEFAULT 0,
          unpriced_calls INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY (day, user_id, provider, model, service_type, is_demo)
        ) WITHOUT ROWID""")
    conn.execute("CREATE INDEX usage_daily_user_day_idx ON usage_daily (user_id, day)")
    conn.execute("""
        INSERT INTO usage_daily
        SELECT date(created_at), user_id, provider, model, service_type, is_demo, count(*),
               sum(status = 'failure'), sum(input_tokens), sum(output_tokens), sum(total_tokens),
               coalesce(sum(total_cost), 0), sum(total_cost IS NULL)
        FROM request_logs GROUP BY 1, 2, 3, 4, 5, 6""")
    conn.execute(_TOKENS_USAGE_VIEW)


@migration
def m003_preferences_votes_admins(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE user_preferences (
          user_id TEXT NOT NULL,
          service_type TEXT,
          model TEXT NOT NULL,
          updated_at TEXT NOT NULL
        )""")
    # SQLite treats NULLs as distinct in UNIQUE; the default (NULL service type) is one row.
    conn.execute("CREATE UNIQUE INDEX user_preferences_user_service_key "
                 "ON user_preferences (user_id, coalesce(service_type, ''))")
    conn.execute("""
        CREATE TABLE votes (
          id INTEGER PRIMARY KEY,
          created_at TEXT NOT NULL,
          user_id TEXT NOT NULL,
          prompt_hash TEXT,
          prompt TEXT,
          models TEXT NOT NULL,
          settings TEXT NOT NULL DEFAULT '{}',
          costs TEXT NOT NULL DEFAULT '{}',
          latencies TEXT NOT NULL DEFAULT '{}',
          winner TEXT,
          is_demo INTEGER NOT NULL DEFAULT 0,
          metadata TEXT NOT NULL DEFAULT '{}'
        )""")
    conn.execute("CREATE INDEX votes_user_created_idx ON votes (user_id, created_at)")
    conn.execute("CREATE TABLE parley_admins (user_id TEXT PRIMARY KEY, created_at TEXT NOT NULL)")


@migration
def m004_compare_comparisons(conn: sqlite3.Connection) -> None:
    """Saved comparisons of the playground, per user (``data``: JSON of columns and turns)."""
    conn.execute("""
        CREATE TABLE comparisons (
          id TEXT PRIMARY KEY,
          user_id TEXT NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          title TEXT NOT NULL DEFAULT '',
          data TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX comparisons_user_updated_idx ON comparisons (user_id, updated_at)")


@migration
def m005_console_rollups(conn: sqlite3.Connection) -> None:
    """The cost console's rollups (``core/store/rollups.py``): ``performance_daily``
    (fallbacks, latency histograms) and the coarser grains of both rollups, filled from
    what is already stored. The SQL is frozen as it shipped, in m005_console_rollups.sql."""
    _run_frozen(conn, "m005_console_rollups.sql")


@migration
def m006_token_classes(conn: sqlite3.Connection) -> None:
    """``request_logs`` learns the call's kind (chat | image), its token classes (parts of
    input/output, never added to them), how many tool calls it made and what prompt caching
    saved. A column another migration already added is left as it is."""
    existing = {row[1] for row in conn.execute("PRAGMA table_info(request_logs)")}
    for name, ddl in (
        ("kind", "kind TEXT NOT NULL DEFAULT 'chat' CHECK (kind IN ('chat', 'image'))"),
        ("reasoning_tokens", "reasoning_tokens INTEGER NOT NULL DEFAULT 0"),
        ("cache_read_tokens", "cache_read_tokens INTEGER NOT NULL DEFAULT 0"),
        ("cache_write_tokens", "cache_write_tokens INTEGER NOT NULL DEFAULT 0"),
        ("tool_calls", "tool_calls INTEGER NOT NULL DEFAULT 0"),
        ("saved_cost", "saved_cost REAL"),
    ):
        if name not in existing:
            conn.execute(f"ALTER TABLE request_logs ADD COLUMN {ddl}")


def _run_frozen(conn: sqlite3.Connection, name: str) -> None:
    """Run a shipped migration's SQL file statement by statement, inside the caller's
    transaction (``executescript`` would commit it)."""
    text = (Path(__file__).parent / name).read_text(encoding="utf-8")
    for statement in text.split(";\n"):
        lines = [line for line in statement.splitlines() if not line.startswith("--")]
        if "".join(lines).strip():
            conn.execute("\n".join(lines))


@migration
def m007_evals(conn: sqlite3.Connection) -> None:
    """Evaluations (``core/evals``): versioned prompt templates and datasets, runs, one result
    per row x model, row votes, and the decisions taken from runs. ``request_logs.eval_run_id``
    is generated from the call's metadata, so the recorder's insert is unchanged."""
    conn.execute("""
        CREATE TABLE prompt_templates (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          version INTEGER NOT NULL,
          service_type TEXT,
          system TEXT,
          template TEXT NOT NULL,
          variables TEXT NOT NULL DEFAULT '[]',
          settings TEXT NOT NULL DEFAULT '{}',
          created_by TEXT NOT NULL,
          created_at TEXT NOT NULL,
          UNIQUE (name, version)
        )""")
    conn.execute("""
        CREATE TABLE datasets (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          version INTEGER NOT NULL,
          columns TEXT NOT NULL,
          rows TEXT NOT NULL,
          row_count INTEGER NOT NULL,
          digest TEXT NOT NULL,
          source TEXT NOT NULL DEFAULT 'upload',
          created_by TEXT NOT NULL,
          created_at TEXT NOT NULL,
          UNIQUE (name, version)
        )""")
    conn.execute("""
        CREATE TABLE eval_runs (
          id TEXT PRIMARY KEY,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          created_by TEXT NOT NULL,
          template_id INTEGER NOT NULL REFERENCES prompt_templates (id),
          dataset_id INTEGER NOT NULL REFERENCES datasets (id),
          service_type TEXT NOT NULL,
          models TEXT NOT NULL,
          judge TEXT,
          checks TEXT NOT NULL DEFAULT '[]',
          concurrency INTEGER NOT NULL,
          estimate REAL,
          status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'cancelled', 'stopped',
                                                 'done')),
          note TEXT
        )""")
    conn.execute("CREATE INDEX eval_runs_user_created_idx ON eval_runs (created_by, created_at)")
    conn.execute("""
        CREATE TABLE eval_results (
          run_id TEXT NOT NULL REFERENCES eval_runs (id),
          row_index INTEGER NOT NULL,
          model TEXT NOT NULL,
          created_at TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('success', 'failure')),
          answer TEXT,
          call_id TEXT,
          served_by TEXT,
          cost REAL,
          input_tokens INTEGER NOT NULL DEFAULT 0,
          output_tokens INTEGER NOT NULL DEFAULT 0,
          response_time_ms REAL,
          error TEXT,
          checks TEXT NOT NULL DEFAULT '{}',
          passed INTEGER,
          judge_score REAL,
          judge_reason TEXT,
          judge_call_id TEXT,
          judge_cost REAL,
          PRIMARY KEY (run_id, row_index, model)
        ) WITHOUT ROWID""")
    conn.execute("""
        CREATE TABLE eval_votes (
          run_id TEXT NOT NULL REFERENCES eval_runs (id),
          row_index INTEGER NOT NULL,
          user_id TEXT NOT NULL,
          models TEXT NOT NULL,
          winner TEXT,
          created_at TEXT NOT NULL,
          PRIMARY KEY (run_id, row_index, user_id, models)
        ) WITHOUT ROWID""")
    conn.execute("""
        CREATE TABLE eval_decisions (
          id INTEGER PRIMARY KEY,
          run_id TEXT NOT NULL REFERENCES eval_runs (id),
          user_id TEXT NOT NULL,
          service_type TEXT NOT NULL,
          model TEXT NOT NULL,
          decided_by TEXT NOT NULL,
          created_at TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX eval_decisions_user_service_idx "
                 "ON eval_decisions (user_id, service_type, created_at)")
    conn.execute("ALTER TABLE request_logs ADD COLUMN eval_run_id TEXT GENERATED ALWAYS AS "
                 "(json_extract(metadata, '$.eval_run_id')) VIRTUAL")
    conn.execute("CREATE INDEX request_logs_eval_run_idx ON request_logs (eval_run_id) "
                 "WHERE eval_run_id IS NOT NULL")


@migration
def m008_calls_explorer(conn: sqlite3.Connection) -> None:
    """Indexes for the calls explorer (``core/store/call_pages.py``): a page sorted by time or cost,
    filtered by model, service type, provider, failures or fallbacks, walks one index from
    its cursor. Each index ends in the rowid (``id``), the keyset's tie-breaker."""
    for name, columns in (("model_created", "model, created_at"),
                          ("service_created", "service_type, created_at"),
                          ("provider_created", "provider, created_at"),
                          ("cost", "coalesce(total_cost, -1.0)"),
                          ("user_cost", "user_id, coalesce(total_cost, -1.0)")):
        conn.execute(f"CREATE INDEX request_logs_{name}_idx ON request_logs ({columns})")
    conn.execute("CREATE INDEX request_logs_fallbacks_idx ON request_logs (created_at) "
                 "WHERE fallback_of IS NOT NULL")


@migration
def m009_api_keys(conn: sqlite3.Connection) -> None:
    """The HTTP API's keys (only a SHA-256 of each secret is kept, with its prefix for
    display), and on each call the key it came through and whether the response cache answered it
    (``saved_cost``, added by m006, then holds what the hit saved)."""
    conn.execute("""
        CREATE TABLE api_keys (
          id TEXT PRIMARY KEY,
          user_id TEXT NOT NULL,
          prefix TEXT NOT NULL UNIQUE,
          sha256 TEXT NOT NULL UNIQUE,
          name TEXT NOT NULL DEFAULT '',
          service_type TEXT,
          models TEXT,
          monthly_budget REAL,
          rate_limit_per_minute INTEGER,
          expires_at TEXT,
          revoked_at TEXT,
          created_at TEXT NOT NULL,
          created_by TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX api_keys_user_idx ON api_keys (user_id)")
    conn.execute("ALTER TABLE request_logs ADD COLUMN key_id TEXT")
    conn.execute("ALTER TABLE request_logs ADD COLUMN cache_hit INTEGER NOT NULL DEFAULT 0")
    conn.execute("CREATE INDEX request_logs_key_created_idx ON request_logs (key_id, created_at) "
                 "WHERE key_id IS NOT NULL")
    conn.execute("CREATE INDEX request_logs_cache_hits_idx ON request_logs (created_at) "
                 "WHERE cache_hit = 1")


@migration
def m010_alerts(conn: sqlite3.Connection) -> None:
    """Spend alerts: each (kind, subject, period) once; delivery retried until done."""
    conn.execute("""
        CREATE TABLE alerts (
          id TEXT PRIMARY KEY,
          kind TEXT NOT NULL,
          subject TEXT NOT NULL,
          period TEXT NOT NULL,
          message TEXT NOT NULL,
          details TEXT NOT NULL DEFAULT '{}',
          created_at TEXT NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0,
          next_attempt_at TEXT NOT NULL,
          delivered_at TEXT,
          last_error TEXT,
          UNIQUE (kind, subject, period)
        )""")
    conn.execute("CREATE INDEX alerts_pending_idx ON alerts (next_attempt_at) WHERE delivered_at IS NULL")


@migration
def m011_usage_classes(conn: sqlite3.Connection) -> None:
    """``usage_classes_daily`` (core/store/token_classes.py): image generations, reasoning,
    cache and tool-call sums and the prompt-cache saving (not a response-cache hit's, which
    m009's ``cache_hit`` marks) per day and key, filled from the calls already stored."""
    conn.execute("""
        CREATE TABLE usage_classes_daily (
          day TEXT NOT NULL,
          user_id TEXT NOT NULL,
          provider TEXT NOT NULL,
          model TEXT NOT NULL,
          service_type TEXT NOT NULL,
          is_demo INTEGER NOT NULL DEFAULT 0,
          image_calls INTEGER NOT NULL DEFAULT 0,
          images INTEGER NOT NULL DEFAULT 0,
          reasoning_tokens INTEGER NOT NULL DEFAULT 0,
          cache_read_tokens INTEGER NOT NULL DEFAULT 0,
          cache_write_tokens INTEGER NOT NULL DEFAULT 0,
          tool_calls INTEGER NOT NULL DEFAULT 0,
          saved_cost REAL NOT NULL DEFAULT 0,
          PRIMARY KEY (day, user_id, provider, model, service_type, is_demo)
        ) WITHOUT ROWID""")
    conn.execute("""
        INSERT INTO usage_classes_daily
        SELECT date(created_at), user_id, provider, model, service_type, is_demo,
               sum(kind = 'image' AND status = 'success'),
               sum(CASE WHEN kind = 'image' AND status = 'success'
                        THEN coalesce(json_extract(metadata, '$.images'), 1) ELSE 0 END),
               sum(reasoning_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
               sum(tool_calls), coalesce(sum(CASE WHEN cache_hit = 0 THEN saved_cost END), 0)
        FROM request_logs GROUP BY 1, 2, 3, 4, 5, 6""")


@migration
def m012_tenancy(conn: sqlite3.Connection) -> None:
    """Ownership (``supabase/migrations/20251203000100_parley_tenancy.sql``): a template name
    belongs to the user who saved its first version (``prompt_templates.owner``); dataset
    names are each user's own (versions numbered per owner and name); a run is shown to
    others only through ``eval_shares`` (a link's token as its SHA-256); and
    ``parley_key_policy`` caps the keys non-admins make (``core/store/key_policy.py``)."""
    conn.execute("ALTER TABLE prompt_templates ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
    conn.execute("""
        UPDATE prompt_templates SET owner = (
          SELECT o.created_by FROM prompt_templates o WHERE o.name = prompt_templates.name
          ORDER BY o.version LIMIT 1)""")
    conn.execute("CREATE INDEX prompt_templates_owner_idx ON prompt_templates (owner, name)")
    conn.execute("""
        CREATE TABLE datasets_by_owner (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          version INTEGER NOT NULL,
          columns TEXT NOT NULL,
          rows TEXT NOT NULL,
          row_count INTEGER NOT NULL,
          digest TEXT NOT NULL,
          source TEXT NOT NULL DEFAULT 'upload',
          created_by TEXT NOT NULL,
          created_at TEXT NOT NULL,
          UNIQUE (created_by, name, version)
        )""")
    conn.execute("INSERT INTO datasets_by_owner SELECT id, name, version, columns, rows, "
                 "row_count, digest, source, created_by, created_at FROM datasets")
    conn.execute("DROP TABLE datasets")  # eval_runs' reference names the table, not this copy
    conn.execute("ALTER TABLE datasets_by_owner RENAME TO datasets")
    conn.execute("""
        CREATE TABLE eval_shares (
          token_sha256 TEXT PRIMARY KEY,
          run_id TEXT NOT NULL REFERENCES eval_runs (id),
          created_by TEXT NOT NULL,
          created_at TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX eval_shares_run_idx ON eval_shares (run_id)")
    conn.execute("""
        CREATE TABLE parley_key_policy (
          user_id TEXT PRIMARY KEY,
          monthly_budget REAL,
          models TEXT,
          rate_limit_per_minute INTEGER,
          expiry_days INTEGER,
          max_keys INTEGER,
          updated_at TEXT NOT NULL
        )""")
    conn.execute("INSERT INTO parley_key_policy VALUES ('*', 10, NULL, 60, 90, 5, ?)",
                 (dt.datetime.now(dt.timezone.utc).isoformat(),))


@migration
def m013_price_book(conn: sqlite3.Connection) -> None:
    """The dated price book (``core/price_book.py``): one entry per model and ``valid_from``,
    USD per token for each token class; ``request_logs.price_id`` names the entry a call was
    priced with and ``provider_cost`` what the provider itself reported (OpenRouter's
    ``usage.cost``). A recorded cost never changes: a trigger refuses to update it. Provider
    bills (``core/console/reconcile.py``) are imported lines, one per day x model x class."""
    conn.execute("""
        CREATE TABLE price_book (
          id INTEGER PRIMARY KEY,
          model TEXT NOT NULL,
          provider_model TEXT NOT NULL DEFAULT '',
          valid_from TEXT NOT NULL,
          input REAL,
          output REAL,
          cache_read REAL,
          cache_write REAL,
          reasoning REAL,
          image REAL,
          tiers TEXT NOT NULL DEFAULT '{}',
          source TEXT NOT NULL CHECK (source IN ('litellm', 'model_info', 'manual')),
          created_by TEXT NOT NULL DEFAULT '',
          created_at TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX price_book_model_idx ON price_book (model, valid_from)")
    conn.execute("ALTER TABLE request_logs ADD COLUMN price_id INTEGER REFERENCES price_book (id)")
    conn.execute("ALTER TABLE request_logs ADD COLUMN provider_cost REAL")
    conn.execute("""
        CREATE TRIGGER request_logs_cost_is_final BEFORE UPDATE OF total_cost, price_id
        ON request_logs
        WHEN OLD.total_cost IS NOT NEW.total_cost OR OLD.price_id IS NOT NEW.price_id
        BEGIN SELECT RAISE(ABORT, 'a recorded cost never changes'); END""")
    conn.execute("""
        CREATE TABLE provider_bills (
          id INTEGER PRIMARY KEY,
          provider TEXT NOT NULL,
          day TEXT NOT NULL,
          model TEXT NOT NULL,
          token_class TEXT NOT NULL DEFAULT 'total',
          tokens INTEGER,
          billed REAL NOT NULL,
          source_file TEXT NOT NULL DEFAULT '',
          imported_at TEXT NOT NULL,
          UNIQUE (provider, day, model, token_class)
        )""")


@migration
def m014_audit_log(conn: sqlite3.Connection) -> None:
    """``audit_log`` (``core/audit.py``): who changed what, when, with the value before and
    after. Append-only for everyone: triggers refuse an update or a delete."""
    conn.execute("""
        CREATE TABLE audit_log (
          id INTEGER PRIMARY KEY,
          created_at TEXT NOT NULL,
          actor TEXT NOT NULL,
          action TEXT NOT NULL,
          target TEXT NOT NULL DEFAULT '',
          before TEXT,
          after TEXT
        )""")
    conn.execute("CREATE INDEX audit_log_created_idx ON audit_log (created_at)")
    for verb in ("UPDATE", "DELETE"):
        conn.execute(f"""
            CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""")


@migration
def m015_clients_and_embeddings(conn: sqlite3.Connection) -> None:
    """``request_logs.client``: the client that sent an API call (``claude-code``,
    ``openai-python``, ...; core/api/clients.py), generated from the call's metadata as
    ``eval_run_id`` is, so the recorder's insert is unchanged and spend can be grouped by it;
    and ``kind`` may be ``embedding`` (``supabase/migrations/20251203000500_parley_clients.sql``).

    Widening ``kind``'s CHECK follows SQLite's documented procedure for loosening a constraint
    in place (sqlite.org/lang_altertable.html, "other kinds of table schema changes"): the
    stored rows already satisfy the wider check, so only the schema text changes; the
    integrity check confirms the database is sound after it."""
    conn.execute("ALTER TABLE request_logs ADD COLUMN client TEXT GENERATED ALWAYS AS "
                 "(json_extract(metadata, '$.client')) VIRTUAL")
    conn.execute("CREATE INDEX request_logs_client_created_idx ON request_logs (client, created_at) "
                 "WHERE client IS NOT NULL")
    narrow, wide = "kind IN ('chat', 'image')", "kind IN ('chat', 'image', 'embedding')"
    (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' "
                          "AND name = 'request_logs'").fetchone()
    if narrow not in sql:
        return
    (version,) = conn.execute("PRAGMA schema_version").fetchone()
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'request_logs'",
                     (sql.replace(narrow, wide),))
        conn.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")
    (verdict,) = conn.execute("PRAGMA integrity_check").fetchone()
    if verdict != "ok":
        raise sqlite3.DatabaseError(f"request_logs' kind check could not be widened: {verdict}")
