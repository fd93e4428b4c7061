"""Tenancy on Postgres as Supabase runs it: statements run as ``authenticated`` with forged
JWT claims (``request.jwt.claims``), the way PostgREST runs a signed-in user's request.

A user reads only their own templates, datasets, runs, results, votes and shares (admins:
all); writes they may make carry ``with check``. ``api_keys`` changes only through the SQL
functions, which check admin or ownership and the key policy."""
from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest
from psycopg import errors

from core.store.postgres import PostgresStore
from tests.core.store.test_rls import acting
from tests.security.conftest import ALICE, BOB, ROOT

SOON = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat()
EVAL_TABLES = {"prompt_templates": "created_by", "datasets": "created_by",
               "eval_runs": "created_by", "eval_results": None, "eval_votes": "user_id"}


@pytest.fixture(scope="module")
def seeded_url(create_database):  # noqa: F811
    """A database holding alice's and bob's evaluation work and one admin (root)."""
    url = create_database()
    store = PostgresStore(url)
    store.upgrade()
    store.sync_admins([ROOT])
    evals = store.evals()
    for user in (ALICE, BOB):
        name = user.split("@")[0]
        template = evals.save_template({"name": f"{name}_qa", "template": "{{ q }}",
                                        "variables": ["q"], "created_by": user})
        data = evals.save_dataset(f"{name}_data", ["q"], [{"q": f"{name}'s secret question"}],
                                  created_by=user)
        evals.create_run({"id": f"run-{name}", "created_by": user, "template_id": template["id"],
                          "dataset_id": data["id"], "service_type": "eval",
                          "models": [{"label": "a"}, {"label": "b"}], "checks": [],
                          "concurrency": 1, "status": "done"})
        evals.save_results([{"run_id": f"run-{name}", "row_index": 0, "model": "a",
                             "status": "success", "answer": f"{name}'s answer"}])
        evals.record_row_vote(f"run-{name}", 0, user, ["a", "b"], "a")
    store.close()
    return url


@pytest.fixture
def conn(seeded_url):
    with psycopg.connect(seeded_url, autocommit=True) as connection:
        yield connection


def rows_of(cur, table: str) -> list[tuple]:
    cur.execute(f"select * from {table}")
    return cur.fetchall()


def test_a_user_reads_only_their_own_evaluation_rows(conn):
    with acting(conn, "authenticated", sub=BOB) as cur:
        for table in EVAL_TABLES:
            text = json.dumps(rows_of(cur, table), default=str)
            assert "alice" not in text and "bob" in text, table


def test_an_admin_reads_everyones_evaluation_rows(conn):
    with acting(conn, "authenticated", sub=ROOT) as cur:
        for table in EVAL_TABLES:
            text = json.dumps(rows_of(cur, table), default=str)
            assert "alice" in text and "bob" in text, table


def test_a_user_cannot_vote_on_or_write_into_another_users_run(conn):
    with pytest.raises(errors.InsufficientPrivilege), acting(conn, "authenticated", sub=BOB) as cur:
        cur.execute("insert into eval_votes (run_id, row_index, user_id, models, winner) "
                    "values ('run-alice', 0, %s, '[\"a\", \"b\"]', 'b')", (BOB,))
    with pytest.raises(errors.InsufficientPrivilege), acting(conn, "authenticated", sub=BOB) as cur:
        cur.execute("insert into eval_votes (run_id, row_index, user_id, models, winner) "
                    "values ('run-bob', 1, %s, '[\"a\", \"b\"]', 'b')", (ALICE,))
    for statement in ("update eval_results set answer = 'x'", "delete from eval_runs",
                      "insert into eval_shares (token_sha256, run_id, created_by) "
                      "values ('x', 'run-alice', 'bob@example.com')",
                      "update prompt_templates set template = 'x'"):
        with pytest.raises(errors.InsufficientPrivilege), \
                acting(conn, "authenticated", sub=BOB) as cur:
            cur.execute(statement)
    with acting(conn, "authenticated", sub=BOB) as cur:  # their own vote on their own run
        cur.execute("update eval_votes set winner = 'b' where run_id = 'run-bob'")
        assert cur.rowcount == 1
        cur.execute("update eval_votes set winner = 'b' where run_id = 'run-alice'")
        assert cur.rowcount == 0


def _keys(conn) -> dict[str, dict]:
    rows = conn.execute("select prefix, user_id, created_by, monthly_budget, revoked_at, "
                        "models, rate_limit_per_minute, expires_at from api_keys").fetchall()
    names = ("prefix", "user_id", "created_by", "monthly_budget", "revoked_at", "models",
             "rate_limit_per_minute", "expires_at")
    return {row[0]: dict(zip(names, row)) for row in rows}


def _new_key(prefix: str, user: str, **fields) -> str:
    return json.dumps({"id": prefix, "user_id": user, "prefix": prefix, "sha256": prefix * 2,
                       "created_by": user, **fields})


def test_a_user_cannot_unrevoke_their_key_or_insert_a_key_row(conn):
    conn.execute("select parley_create_key(%s::jsonb)",
                 (_new_key("pk-revoked1", BOB, monthly_budget=1),))
    conn.execute("select parley_revoke_key('pk-revoked1')")
    with pytest.raises(errors.InsufficientPrivilege), acting(conn, "authenticated", sub=BOB) as cur:
        cur.execute("update api_keys set revoked_at = null where prefix = 'pk-revoked1'")
    with pytest.raises(errors.InsufficientPrivilege), acting(conn, "authenticated", sub=BOB) as cur:
        cur.execute("insert into api_keys (id, user_id, prefix, sha256, created_by) "
                    "values ('k', %s, 'pk-forged01', 'h', %s)", (BOB, ROOT))
    assert _keys(conn)["pk-revoked1"]["revoked_at"] is not None
    conn.execute("delete from api_keys")


def test_the_key_functions_check_ownership_and_force_the_creator(conn):
    with acting(conn, "authenticated", sub=BOB) as cur:
        cur.execute("select parley_create_key(%s::jsonb)",
                    (_new_key("pk-bobsown1", BOB, created_by=ROOT, monthly_budget=5,
                              rate_limit_per_minute=10, expires_at=SOON),))
        cur.execute("select prefix, created_by from api_keys")
        assert cur.fetchall() == [("pk-bobsown1", BOB)]  # created_by is who called, not forged
    with pytest.raises(errors.InsufficientPrivilege, match="only for themselves"), \
            acting(conn, "authenticated", sub=BOB) as cur:
        cur.execute("select parley_create_key(%s::jsonb)", (_new_key("pk-foralice", ALICE),))
    conn.execute("select parley_create_key(%s::jsonb)", (_new_key("pk-alices01", ALICE),))
    with acting(conn, "authenticated", sub=BOB) as cur:
        cur.execute("select parley_revoke_key('pk-alices01')")
        assert cur.fetchone()[0] is None
    assert _keys(conn)["pk-alices01"]["revoked_at"] is None
    conn.execute("delete from api_keys")


@pytest.mark.parametrize("fields, problem", [
    ({}, "monthly budget"),                                        # no budget at all
    ({"monthly_budget": 500}, "monthly budget"),                   # over the $10 default
    ({"monthly_budget": 5}, "rate limit"),
    ({"monthly_budget": 5, "rate_limit_per_minute": 10}, "expire"),
    ({"monthly_budget": 5, "rate_limit_per_minute": 10, "expires_at": "2999-01-01T00:00:00Z"},
     "expire"),
])
def test_a_users_own_key_cannot_exceed_the_key_policy(conn, fields, problem):
    with pytest.raises(errors.InsufficientPrivilege, match=problem), \
            acting(conn, "authenticated", sub=BOB) as cur:
        cur.execute("select parley_create_key(%s::jsonb)", (_new_key("pk-unlimit1", BOB, **fields),))
    assert _keys(conn) == {}


def test_an_admin_makes_any_key_for_anyone(conn):
    with acting(conn, "authenticated", sub=ROOT) as cur:
        cur.execute("select parley_create_key(%s::jsonb)", (_new_key("pk-forbob01", BOB),))
        cur.execute("select user_id, created_by, monthly_budget from api_keys")
        assert cur.fetchall() == [(BOB, ROOT, None)]
