"""The audit log: each admin action is appended with who, what, before and after; nobody can
change or remove an entry (SQLite and Postgres); on Postgres only admins read it (RLS)."""
from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import psycopg
import pytest

from core.identity import sync_admins
from core.keys import KeyRing, sync_key_policy
from core.price_book import PriceBook
from core.store.sqlite import SqliteStore
from tests.core.store.test_rls import acting


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_store(request, tmp_path):
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "audit.db")
        yield store
        store.close()
    else:
        yield request.getfixturevalue("pg_store")


class OneModel:
    """A catalog of one model, enough for ``PriceBook.set_price``."""

    def get(self, name):
        return SimpleNamespace(name=name, provider_model="openai/gpt-4.1-mini")

    def __iter__(self):
        return iter(())


def test_each_admin_action_is_recorded(ledger_store):
    store = ledger_store
    settings = SimpleNamespace(admins=("Root@Example.com",), key_policy={"max_keys": 3})
    before = {e["id"] for e in store.audit_entries(limit=100_000)}  # Postgres is shared by tests
    sync_admins(settings, store)
    sync_admins(settings, store)  # unchanged: no second entry
    sync_key_policy(settings, store)
    ring = KeyRing(lambda: store)
    _, key = ring.create("ann@example.com", created_by="root@example.com", budget=5.0)
    ring.revoke(key.prefix, as_user=None)
    PriceBook(lambda: store, OneModel()).set_price("gpt", {"input": 1, "output": 2},
                                                   actor="root@example.com")
    entries = [e for e in store.audit_entries(limit=100_000) if e["id"] not in before
               and e["target"] in ("parley.admins", "parley.key_policy", key.prefix, "gpt")]
    actions = [e["action"] for e in reversed(entries)]
    assert actions[-4:] == ["keys.limits", "keys.create", "keys.revoke", "prices.set"]
    assert actions.count("admins.sync") <= 1
    created = next(e for e in entries if e["action"] == "keys.create")
    assert created["actor"] == "root@example.com" and created["after"]["monthly_budget"] == 5.0
    assert "sha256" not in created["after"] and "pk-" in created["target"]
    assert store.audit_entries(action="keys.", limit=1000)[0]["action"] == "keys.revoke"


def test_the_audit_log_refuses_updates_and_deletes(ledger_store):
    store = ledger_store
    store.append_audit("root@example.com", "budgets.set", "parley.budgets", None, {"default": 5})
    for sql in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        if store.backend == "sqlite":
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                store._ledger_write(sql + " RETURNING id", [[]])
        else:
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                store._ledger_write(sql + " RETURNING id", [[]])
    assert store.audit_entries(action="budgets.set")[0]["after"] == {"default": 5}


def test_on_postgres_only_admins_read_the_audit_log_and_nobody_else_writes_it(pg_store, pg_conn):
    pg_store.sync_admins(["root@example.com"])
    pg_store.append_audit("root@example.com", "budgets.set", "parley.budgets", None, {"default": 1})
    with acting(pg_conn, "authenticated", sub="ann@example.com") as cur:
        cur.execute("select count(*) from audit_log")
        assert cur.fetchone()[0] == 0
    with acting(pg_conn, "authenticated", sub="root@example.com") as cur:
        cur.execute("select count(*) from audit_log")
        assert cur.fetchone()[0] >= 1
    for role, sub in (("authenticated", "root@example.com"), ("service_role", None)):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with acting(pg_conn, role, sub=sub) as cur:
                cur.execute("update audit_log set actor = 'x'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with acting(pg_conn, "authenticated", sub="root@example.com") as cur:
            cur.execute("insert into audit_log (actor, action) values ('root@example.com', 'x')")
