"""One source of admins: parley.admins, copied into parley_admins (at the app's start and by
``db upgrade``). An admin is an admin everywhere (the app, SQLite, Postgres RLS, Supabase);
an admin removed from the configuration is no longer one anywhere."""
from __future__ import annotations

import dataclasses

from core import identity as access
from core.config import ModelConfig, build_settings
from tests.core.store.records import make_record


def settings_with(admins: list[str]):
    models = (ModelConfig("claude", {"model": "anthropic/claude-sonnet-4-5-20250929"}, {}),)
    return build_settings(models, {}, {"admins": admins}, "test", {})


def everywhere(store, settings, user: str) -> dict[str, bool]:
    """Whether ``user`` is treated as an admin by the app and by the database."""
    seen = {row["key"] for row in store.usage("user", as_user=user)}
    return {"app": access.is_admin(settings, user),
            "database": seen == {"alice@example.com", "bob@example.com"}}


def test_an_admin_is_an_admin_everywhere_and_a_removed_one_is_not(backend):
    store = backend.store
    store.record_calls([make_record(user_id="alice@example.com"),
                        make_record(user_id="bob@example.com")])
    configured = settings_with(["Root@Example.com", "ops@example.com"])
    assert access.sync_admins(configured, store) == 2
    assert everywhere(store, configured, "root@example.com") == {"app": True, "database": True}
    assert everywhere(store, configured, "bob@example.com") == {"app": False, "database": False}

    removed = settings_with(["ops@example.com"])
    assert access.sync_admins(removed, store) == 1
    assert everywhere(store, removed, "root@example.com") == {"app": False, "database": False}
    assert everywhere(store, removed, "ops@example.com") == {"app": True, "database": True}


def test_an_admin_row_nobody_configured_is_removed(backend):
    backend.store.record_calls([make_record(user_id="alice@example.com")])
    backend.make_admin("intruder@example.com")  # written by hand, not in parley.admins
    assert access.sync_admins(settings_with([]), backend.store) == 0
    assert {r["key"] for r in backend.store.usage("user", as_user="intruder@example.com")} == set()


def test_row_level_security_reads_the_synced_list(pg_store, pg_conn):
    from tests.core.store.test_rls import acting, users_in

    pg_store.record_calls([make_record(user_id="alice@example.com"),
                           make_record(user_id="bob@example.com")])
    access.sync_admins(settings_with(["Bob@Example.com"]), pg_store)
    with acting(pg_conn, "authenticated", sub="bob@example.com") as cur:
        assert users_in(cur, "request_logs") == {"alice@example.com", "bob@example.com"}
    access.sync_admins(settings_with([]), pg_store)
    with acting(pg_conn, "authenticated", sub="bob@example.com") as cur:
        assert users_in(cur, "request_logs") == {"bob@example.com"}


def test_db_upgrade_syncs_the_admins(pg_url, pg_conn, tmp_path, monkeypatch, capsys):
    from core.cli import main

    config = tmp_path / "parley.yaml"
    config.write_text("model_list: [{model_name: a, litellm_params: {model: openai/x}}]\n"
                      "parley: {admins: [Lead@Example.com]}\n")
    monkeypatch.setenv("PARLEY_DATABASE_URL", pg_url)
    status = main(["--config", str(config), "db", "upgrade"])
    assert status == 0 and "admins: 1 from parley.admins" in capsys.readouterr().out
    rows = pg_conn.execute("select user_id from parley_admins").fetchall()
    assert rows == [("lead@example.com",)]
