"""Upgrading a database that holds evaluation work from before tenancy: each template name
goes to the user who saved its first version, datasets keep their ids (so runs still find
them) and become their creators' own, and the key policy starts at its default."""
from __future__ import annotations

import sqlite3

import psycopg

from core.store.postgres import PostgresStore, migration_files
from core.store.sqlite import SqliteStore, migrations as sqlite_migrations
from tests.security.conftest import ALICE, BOB

_BEFORE = [
    "INSERT INTO prompt_templates (name, version, template, created_by, created_at) "
    "VALUES ('qa', 1, 'a', 'alice@example.com', '2025-11-30'), "
    "('qa', 2, 'hijacked', 'bob@example.com', '2025-12-01')",
    "INSERT INTO datasets (name, version, columns, rows, row_count, digest, created_by, created_at) "
    "VALUES ('qs', 1, '[\"q\"]', '[{\"q\": \"a\"}]', 1, 'd1', 'alice@example.com', '2025-11-30'), "
    "('qs', 2, '[\"q\"]', '[{\"q\": \"b\"}]', 1, 'd2', 'bob@example.com', '2025-12-01')",
]


def test_an_old_sqlite_file_is_upgraded(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    sqlite_migrations.applied_migrations(conn)
    names = [name for name, _ in sqlite_migrations.MIGRATIONS]
    for name, apply in sqlite_migrations.MIGRATIONS[:names.index("m012_tenancy")]:
        apply(conn)
        conn.execute("INSERT INTO _migrations VALUES (?, 'then')", (name,))
    for statement in _BEFORE:
        conn.execute(statement)
    conn.close()
    store = SqliteStore(path)
    assert store.upgrade()[0] == "m012_tenancy"
    evals = store.evals()
    assert evals.template_owner("qa") == ALICE
    assert [d["id"] for d in evals.datasets(as_user=BOB)] == [2]
    assert evals.save_dataset("qs", ["q"], [{"q": "c"}], created_by=BOB)["version"] == 3
    assert store.key_limits(BOB)["monthly_budget"] == 10
    store.close()


def test_an_old_postgres_database_is_upgraded(create_database):
    url = create_database()
    with psycopg.connect(url, autocommit=True) as conn:
        files = migration_files()
        for path in files[:[p.name for p in files].index("20251203000100_parley_tenancy.sql")]:
            conn.execute(path.read_text(encoding="utf-8"))
        for statement in _BEFORE:
            conn.execute(statement.replace("'2025", "timestamptz '2025").replace(
                "'[", "jsonb '[").replace(", 'd", ", 'd"))
    store = PostgresStore(url)
    store.upgrade()
    evals = store.evals()
    assert evals.template_owner("qa") == ALICE
    assert [d["id"] for d in evals.datasets(as_user=BOB)] == [2]
    assert store.key_limits(BOB)["monthly_budget"] == 10
    store.close()
