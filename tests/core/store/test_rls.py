"""Row-level security on Postgres, as Supabase runs it: each statement here runs under a role
(anon / authenticated / service_role) with ``request.jwt.claims`` set, the way PostgREST and
the Postgres backend's ``as_user`` do it."""
from __future__ import annotations

import contextlib
import json

import pytest
from psycopg import errors

from tests.core.store.records import make_record, random_records

TABLES = ("request_logs", "usage_daily", "tokens_usage", "user_preferences", "votes")


@contextlib.contextmanager
def acting(conn, role: str, **claims):
    """One transaction under ``role`` with these JWT claims; rolled back at the end."""
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        cur.execute(f"set local role {role}")
        cur.execute("select set_config('request.jwt.claims', %s, true)",
                    (json.dumps({"role": role, **claims}),))
        yield cur


@pytest.fixture
def seeded(pg_store, pg_conn):
    """Logs, rollups, preferences and votes for alice and bob."""
    pg_store.record_calls([make_record(user_id="alice@example.com"), make_record(user_id="bob@example.com"),
                           make_record(user_id="bob@example.com", model="gemini")])
    for user in ("alice@example.com", "bob@example.com"):
        pg_store.set_preference(user, "claude")
        pg_store.record_vote({"user_id": user, "models": ["claude", "gemini"], "winner": "claude"})
    return pg_conn


def users_in(cur, table: str) -> set[str]:
    cur.execute(f"select distinct user_id from {table}")
    return {row[0] for row in cur.fetchall()}


def test_a_user_sees_only_their_own_rows(seeded):
    with acting(seeded, "authenticated", sub="bob@example.com") as cur:
        for table in TABLES:
            assert users_in(cur, table) == {"bob@example.com"}, table
        cur.execute("select parley_usage('user')")
        assert [row["key"] for row in cur.fetchone()[0]] == ["bob@example.com"]


def test_anon_sees_nothing(seeded):
    for table in TABLES:
        with pytest.raises(errors.InsufficientPrivilege), acting(seeded, "anon") as cur:
            cur.execute(f"select * from {table}")
    with pytest.raises(errors.InsufficientPrivilege), acting(seeded, "anon") as cur:
        cur.execute("select parley_usage('user')")


@pytest.mark.parametrize("statement", [
    "insert into request_logs (litellm_call_id, user_id, service_type, model, provider, status) "
    "values ('forged', 'bob@example.com', 'xray', 'claude', 'anthropic', 'success')",
    "update request_logs set total_cost = 0",
    "delete from request_logs",
    "update usage_daily set cost = 0",
    "insert into votes (user_id, models) values ('bob@example.com', '[]')",
    "select parley_record_calls('[]')",
    "select parley_record_vote('{}')",
    "select parley_status()",
])
def test_a_user_cannot_write_or_change_logs(seeded, statement):
    with pytest.raises(errors.InsufficientPrivilege), acting(seeded, "authenticated", sub="bob@example.com") as cur:
        cur.execute(statement)


def test_a_user_cannot_change_another_users_preferences(seeded):
    with pytest.raises(errors.InsufficientPrivilege), \
            acting(seeded, "authenticated", sub="bob@example.com") as cur:
        cur.execute("select parley_set_preference('alice@example.com', 'gpt')")
    with acting(seeded, "authenticated", sub="bob@example.com") as cur:
        cur.execute("update user_preferences set model = 'gpt' where user_id = 'alice@example.com'")
        assert cur.rowcount == 0  # alice's row is invisible to bob, so nothing matches
        cur.execute("select parley_set_preference('bob@example.com', 'gpt', 'xray')")
        cur.execute("select parley_get_preferences('bob@example.com')")
        assert {row["service_type"]: row["model"] for row in cur.fetchone()[0]} == {None: "claude", "xray": "gpt"}


def test_a_user_cannot_clear_another_users_preferences(seeded):
    with pytest.raises(errors.InsufficientPrivilege), \
            acting(seeded, "authenticated", sub="bob@example.com") as cur:
        cur.execute("select parley_clear_preference('alice@example.com')")
    seeded.execute("insert into parley_admins (user_id) values ('root@example.com')")
    with pytest.raises(errors.InsufficientPrivilege), \
            acting(seeded, "authenticated", sub="root@example.com") as cur:
        cur.execute("select parley_clear_preference('alice@example.com')")
    with acting(seeded, "authenticated", sub="bob@example.com") as cur:
        cur.execute("delete from user_preferences where user_id = 'alice@example.com'")
        assert cur.rowcount == 0  # alice's row is invisible to bob, so nothing matches
        cur.execute("select parley_clear_preference('bob@example.com', 'xray')")
        assert cur.fetchone()[0] is False
        cur.execute("select parley_clear_preference('bob@example.com')")
        assert cur.fetchone()[0] is True
        cur.execute("select parley_get_preferences('bob@example.com')")
        assert cur.fetchone()[0] == []
    assert seeded.execute("select user_id from user_preferences order by user_id").fetchall() == \
        [("alice@example.com",), ("bob@example.com",)]  # every acting block was rolled back


def test_anon_cannot_clear_preferences(seeded):
    with pytest.raises(errors.InsufficientPrivilege), acting(seeded, "anon") as cur:
        cur.execute("select parley_clear_preference('alice@example.com')")


def test_admins_read_everything(seeded):
    seeded.execute("insert into parley_admins (user_id) values ('root@example.com')")
    with acting(seeded, "authenticated", sub="root@example.com") as cur:
        assert users_in(cur, "request_logs") == {"alice@example.com", "bob@example.com"}
    with acting(seeded, "authenticated", sub="ops", app_metadata={"role": "admin"}) as cur:
        assert users_in(cur, "usage_daily") == {"alice@example.com", "bob@example.com"}
    with acting(seeded, "authenticated", sub="bob@example.com", user_metadata={"role": "admin"}) as cur:
        assert users_in(cur, "usage_daily") == {"bob@example.com"}  # users can edit user_metadata


def test_the_service_role_writes_and_reads_all(seeded):
    with acting(seeded, "service_role") as cur:
        cur.execute("select parley_record_calls(%s::jsonb)", (json.dumps([
            {"call_id": "svc-1", "user_id": "carol", "service_type": "xray", "model": "gpt",
             "provider": "openai", "status": "success", "created_at": "2025-03-30T00:00:00Z"}]),))
        assert cur.fetchone()[0] == 1
        assert users_in(cur, "request_logs") == {"alice@example.com", "bob@example.com", "carol"}


def test_the_user_id_is_the_one_supabase_auth_reads(seeded):
    with acting(seeded, "authenticated", sub="alice@example.com") as cur:
        cur.execute("select parley_current_user_id(), auth.jwt() ->> 'sub'")
        assert cur.fetchone() == ("alice@example.com", "alice@example.com")


def test_rollups_equal_the_sums_of_the_logs(pg_store, pg_conn):
    records = random_records(3000, seed=3)
    for i in range(0, 3000, 500):
        pg_store.record_calls(records[i:i + 500])
    pg_store.record_calls(records[:1000])
    mismatches = pg_conn.execute("""
        with logs as (
          select (created_at at time zone 'UTC')::date as day, user_id, provider, model, service_type,
                 is_demo, count(*) as calls, count(*) filter (where status = 'failure') as failures,
                 sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
                 sum(total_tokens) as total_tokens, coalesce(sum(total_cost), 0) as cost,
                 count(*) filter (where total_cost is null) as unpriced_calls
          from request_logs group by 1, 2, 3, 4, 5, 6)
        select count(*) from logs full join usage_daily u
          using (day, user_id, provider, model, service_type, is_demo)
        where (logs.calls, logs.failures, logs.input_tokens, logs.output_tokens, logs.total_tokens,
               logs.cost, logs.unpriced_calls)
              is distinct from (u.calls, u.failures, u.input_tokens, u.output_tokens,
                                u.total_tokens, u.cost, u.unpriced_calls)""").fetchone()[0]
    assert mismatches == 0
    monthly = pg_conn.execute("""
        select count(*) from tokens_usage t
        where t.calls <> (select sum((v ->> 'calls')::bigint) from jsonb_each(t.models) m(k, v))
           or t.cost <> (select sum((v ->> 'cost')::numeric) from jsonb_each(t.providers) p(k, v))
           or (t.calls, t.cost) <> (select sum(calls), sum(cost) from usage_daily u
                                    where u.user_id = t.user_id
                                      and date_trunc('month', u.day)::date = t.month)""").fetchone()[0]
    assert monthly == 0
    assert pg_conn.execute("select sum(calls) from tokens_usage").fetchone()[0] == 3000


# -- preferences through core.routing.preferences (what the page and the CLI use), on every backend --

@pytest.fixture
def prefs_catalog():
    from core.catalog import Catalog
    from core.config import ModelConfig, build_settings

    models = tuple(ModelConfig(name, {"model": f"openai/{name}", "api_key": "sk-x"}, {})
                   for name in ("claude", "gemini", "gpt"))
    return Catalog(build_settings(models, {}, {"default_model": "gemini",
                                               "service_types": ["xray"]}, "test", {}))


def test_users_save_and_read_only_their_own_preferences(backend, prefs_catalog):
    from core.routing import preferences
    from core.errors import BadRequestError

    store = backend.store
    preferences.save(store, prefs_catalog, "alice@example.com", "claude")
    preferences.save(store, prefs_catalog, "bob@example.com", "gpt", "xray")
    assert preferences.stored(store, "alice@example.com") == {None: "claude"}
    assert preferences.stored(store, "bob@example.com") == {"xray": "gpt"}
    assert store.get_preferences("alice@example.com", as_user="bob@example.com") == {}
    with pytest.raises(BadRequestError):
        store.set_preference("alice@example.com", "gpt", as_user="bob@example.com")
    assert store.get_preferences("alice@example.com") == {None: "claude"}
    assert preferences.resolved(store, prefs_catalog.settings, prefs_catalog, "bob@example.com",
                                "xray") == {"user": "bob@example.com", "service": "xray",
                                            "model": "gpt", "source": "service"}
