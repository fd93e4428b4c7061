"""Store fixtures: a private SQLite file per test, and one private Postgres database per test
session (``parley_test_<random>`` on 127.0.0.1:5432, dropped at the end), prepared the way a
Supabase project is (roles ``anon``/``authenticated``/``service_role``, ``auth.uid()`` and
``auth.jwt()``, default grants to those roles) before the migrations run.

Postgres unreachable: the tests that need it fail when ``CI`` is set, and skip otherwise.
``PARLEY_TEST_POSTGRES_URL`` names another server (a database to connect to, not the one used).
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

import jwt
import pytest

from core.store.base import Store
from core.store.postgres import PostgresStore
from core.store.sqlite import SqliteStore
from tests.database import sql
from tests.core.store.postgrest_fake import FakePostgrest

SERVER_URL = os.environ.get("PARLEY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SUPABASE_URL = "https://parley-test.supabase.co"
JWT_SECRET = "test-jwt-secret-that-is-at-least-32-bytes-long"
SERVICE_ROLE_KEY = jwt.encode({"role": "service_role", "iss": "supabase"}, JWT_SECRET, algorithm="HS256")
ANON_KEY = jwt.encode({"role": "anon", "iss": "supabase"}, JWT_SECRET, algorithm="HS256")
_TABLES = ("request_logs, usage_daily, usage_daily_models, usage_daily_users, usage_monthly, "
           "performance_daily, performance_daily_models, user_preferences, votes, parley_admins, api_keys, alerts, "
           "usage_classes_daily")

_LIKE_SUPABASE = """
create schema if not exists auth;
do $$
begin
  if to_regprocedure('auth.jwt()') is null then
    create function auth.jwt() returns jsonb language sql stable as $f$
      select coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                      nullif(current_setting('request.jwt.claims', true), ''))::jsonb $f$;
  end if;
  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid language sql stable as $f$
      select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid $f$;
  end if;
  if to_regprocedure('auth.role()') is null then
    create function auth.role() returns text language sql stable as $f$
      select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text $f$;
  end if;
end
$$;
grant usage on schema auth, public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
"""


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))


def _server():
    """An autocommit connection to the server, or fail (CI) / skip (locally)."""
    import psycopg

    try:
        return psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        reason = f"Postgres is not reachable at {urlsplit(SERVER_URL).hostname}: " \
                 f"{(str(exc).strip().splitlines() or ['?'])[0]}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI requires it)")
        pytest.skip(reason)


def _ensure_roles(server) -> None:
    from psycopg import errors

    for role in ("anon", "authenticated", "service_role"):
        if server.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
            continue
        try:
            server.execute(f"create role {role} nologin")
        except (errors.DuplicateObject, errors.UniqueViolation):
            pass  # another test session created it a moment ago: exactly what we wanted


@pytest.fixture(scope="session")
def create_database() -> Callable[[], str]:
    """Make fresh, Supabase-like databases; every one is dropped at the end of the session."""
    import psycopg

    server = _server()
    _ensure_roles(server)
    made: list[str] = []

    def create() -> str:
        name = f"parley_test_{secrets.token_hex(4)}"
        server.execute(f'create database "{name}"')
        made.append(name)
        with psycopg.connect(database_url(name), autocommit=True) as conn:
            conn.execute(_LIKE_SUPABASE)
        return database_url(name)

    yield create
    for name in made:
        server.execute(f'drop database if exists "{name}" with (force)')
    server.close()


def _migrated(url: str) -> str:
    store = PostgresStore(url)
    store.upgrade()
    store.close()
    return url


@pytest.fixture(scope="session")
def pg_url(create_database) -> str:
    """The session's migrated database."""
    return _migrated(create_database())


@pytest.fixture
def fresh_pg_url(create_database) -> str:
    """A migrated database of the test's own, for a test that counts every row in it."""
    return _migrated(create_database())


@pytest.fixture
def pg_conn(pg_url):
    """A superuser connection to the session database, emptied before the test."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"truncate {_TABLES} restart identity")
        yield conn


@pytest.fixture
def pg_store(pg_conn, pg_url):
    store = PostgresStore(pg_url)
    yield store
    store.close()


@pytest.fixture
def fake_postgrest(pg_conn, pg_url):
    with FakePostgrest(SUPABASE_URL, pg_url, JWT_SECRET) as fake:
        yield fake


@pytest.fixture
def supabase_store(fake_postgrest):
    from core.store.supabase import SupabaseStore

    store = SupabaseStore(SUPABASE_URL, SERVICE_ROLE_KEY, jwt_secret=JWT_SECRET)
    yield store
    store.close()


@dataclass
class Backend:
    store: Store
    make_admin: Callable[[str], None]


@pytest.fixture(params=["sqlite", "postgres", "supabase"])
def backend(request, tmp_path) -> Backend:
    """Each contract test runs on every backend (supabase: through its HTTP requests)."""
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "parley.db")

        def make_admin(user_id: str) -> None:
            sql(store, "insert into parley_admins values (?, 'now')", (user_id,))

        yield Backend(store, make_admin)
        store.close()
        return
    conn = request.getfixturevalue("pg_conn")
    store = request.getfixturevalue({"postgres": "pg_store", "supabase": "supabase_store"}[request.param])
    yield Backend(store, lambda user_id: conn.execute(
        "insert into parley_admins (user_id) values (%s)", (user_id,)))


@pytest.fixture
def store(backend) -> Store:
    return backend.store
