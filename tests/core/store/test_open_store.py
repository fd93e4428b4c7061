"""``open_store``: which backend a ``PARLEY_DATABASE_URL`` names, with no secret in any error."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.store import open_store
from core.store.postgres import PostgresStore
from core.store.sqlite import SqliteStore
from core.store.supabase import SupabaseStore
from tests.paths import REPO


def test_the_default_is_a_sqlite_file_in_the_data_dir(tmp_path):
    for url in ("", "sqlite://", "sqlite:///"):
        store = open_store(url, data_dir=tmp_path / "data")
        assert isinstance(store, SqliteStore)
        assert Path(store.path) == tmp_path / "data" / "parley.db"
        store.close()


def test_sqlite_urls_name_relative_and_absolute_files(tmp_path):
    relative = open_store("sqlite:///rel/calls.db", data_dir=tmp_path)
    absolute = open_store(f"sqlite:///{tmp_path}/abs.db", data_dir=tmp_path / "unused")
    assert (relative.path, absolute.path) == ("rel/calls.db", f"{tmp_path}/abs.db")
    assert (tmp_path / "rel").is_dir()  # the isolated test runs in tmp_path


def test_postgres_urls_open_without_connecting(tmp_path):
    for url in ("postgresql://u:pw@db.example.com:5432/parley", "postgres://u:pw@db.example.com/parley"):
        store = open_store(url, data_dir=tmp_path)
        assert isinstance(store, PostgresStore)
        assert "pw" not in store.location and store.location.startswith("db.example.com")


def test_supabase_reads_its_settings_from_the_environment(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY"):
        open_store("supabase", data_dir=tmp_path)
    monkeypatch.setenv("SUPABASE_URL", "https://abc.supabase.co")
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "service-key-value")
    store = open_store("supabase", data_dir=tmp_path)
    assert isinstance(store, SupabaseStore) and store.location == "abc.supabase.co"
    assert store._jwt_secret is None
    store = open_store("supabase", data_dir=tmp_path, env={
        "SUPABASE_URL": "https://abc.supabase.co", "SUPABASE_SERVICE_ROLE_KEY": "k",
        "SUPABASE_JWT_SECRET": "jwt-secret"})
    assert store._jwt_secret == "jwt-secret"


def test_an_unknown_url_is_a_config_error_without_its_password(tmp_path):
    with pytest.raises(ConfigError) as bad:
        open_store("mysql://root:hunter2@db/parley", data_dir=tmp_path)
    assert "PARLEY_DATABASE_URL" in str(bad.value) and "hunter2" not in str(bad.value)


def test_importing_the_store_package_loads_no_database_driver():
    code = ("import sys, core.store, core.store.postgres, core.store.sqlite; "
            "print(sorted(m for m in ('psycopg', 'supabase', 'postgrest') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO)
    assert out.stdout.strip() == "[]"
