"""The Supabase backend as its HTTP requests show it: rpc endpoints, headers, the user's JWT,
errors without keys. A fake PostgREST answers with the real SQL functions on the test Postgres.
The live test runs against a real project when SUPABASE_TEST_URL and
SUPABASE_TEST_SERVICE_ROLE_KEY are set."""
from __future__ import annotations

import json
import os
import time
import uuid

import httpx
import jwt
import pytest
import respx
from postgrest import APIError

from core.errors import BadRequestError, StoreUnavailableError
from core.store.supabase import SupabaseStore
from tests.core.store.conftest import ANON_KEY, JWT_SECRET, SERVICE_ROLE_KEY, SUPABASE_URL
from tests.core.store.postgrest_fake import FakePostgrest
from tests.core.store.records import make_record


def bearer(request: httpx.Request) -> str:
    scheme, _, token = request.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    return token


def test_writes_post_to_the_rpc_endpoint_with_the_service_key(supabase_store, fake_postgrest):
    record = make_record(total_cost=None)
    assert supabase_store.record_calls([record]) == 1
    [request] = fake_postgrest.requests
    assert request.method == "POST"
    assert str(request.url) == f"{SUPABASE_URL}/rest/v1/rpc/parley_record_calls"
    assert request.headers["apikey"] == SERVICE_ROLE_KEY
    assert bearer(request) == SERVICE_ROLE_KEY
    [row] = json.loads(request.content)["p_rows"]
    assert (row["call_id"], row["total_cost"], row["created_at"]) == \
        (record.call_id, None, "2025-03-30T12:00:00+00:00")


def test_user_scoped_reads_carry_a_short_lived_jwt_for_that_user(supabase_store, fake_postgrest):
    supabase_store.record_calls([make_record(user_id="bob@example.com"), make_record(user_id="carol")])
    rows = supabase_store.usage("user", as_user="bob@example.com")
    assert [row["key"] for row in rows] == ["bob@example.com"]
    request = fake_postgrest.requests[-1]
    assert request.url.path == "/rest/v1/rpc/parley_usage"
    assert request.headers["apikey"] == SERVICE_ROLE_KEY
    claims = jwt.decode(bearer(request), JWT_SECRET, algorithms=["HS256"], audience="authenticated")
    assert (claims["sub"], claims["role"]) == ("bob@example.com", "authenticated")
    assert 0 < claims["exp"] - time.time() <= 300


def test_without_the_jwt_secret_the_backend_keeps_users_to_their_own_rows(fake_postgrest):
    store = SupabaseStore(SUPABASE_URL, SERVICE_ROLE_KEY)
    store.record_calls([make_record(user_id="bob@example.com"), make_record(user_id="carol")])
    assert [row["key"] for row in store.usage("user", as_user="carol")] == ["carol"]
    assert store.usage("user", user_id="bob@example.com", as_user="carol") == []
    with pytest.raises(BadRequestError):
        store.set_preference("bob@example.com", "claude", as_user="carol")
    store.set_preference("bob@example.com", "claude")
    with pytest.raises(BadRequestError):
        store.clear_preference("bob@example.com", as_user="carol")
    assert store.clear_preference("bob@example.com", as_user="bob@example.com") is True
    assert all(bearer(request) == SERVICE_ROLE_KEY for request in fake_postgrest.requests)


def test_a_user_token_cannot_write_call_logs(supabase_store, fake_postgrest):
    user_api = supabase_store._client.postgrest.schema("public").auth(
        supabase_store._user_token("mallory"))
    with pytest.raises(APIError) as refused:
        user_api.rpc("parley_record_calls", {"p_rows": []}).execute()
    assert refused.value.code == "42501"
    with pytest.raises(BadRequestError):
        supabase_store.set_preference("bob@example.com", "claude", as_user="mallory")


def test_the_anon_key_reads_nothing(fake_postgrest):
    store = SupabaseStore(SUPABASE_URL, ANON_KEY)
    with pytest.raises(StoreUnavailableError) as refused:
        store.usage("user")
    assert "42501" in str(refused.value) and ANON_KEY not in str(refused.value)


def test_an_unreachable_project_names_the_backend_and_no_key():
    store = SupabaseStore(SUPABASE_URL, SERVICE_ROLE_KEY, jwt_secret=JWT_SECRET)
    with respx.mock(base_url=SUPABASE_URL) as mock:
        mock.post(path__startswith="/rest/v1/rpc/").mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(StoreUnavailableError) as down:
            store.record_calls([make_record()])
    message = str(down.value)
    assert "supabase" in message and "parley-test.supabase.co" in message
    assert SERVICE_ROLE_KEY not in message and JWT_SECRET not in message
    assert SERVICE_ROLE_KEY not in repr(store)


def test_a_refused_key_is_reported_without_the_key(fake_postgrest):
    forged = jwt.encode({"role": "service_role"}, "not-the-project-secret-but-long-enough!", algorithm="HS256")
    with pytest.raises(StoreUnavailableError, match="SUPABASE_SERVICE_ROLE_KEY") as refused:
        SupabaseStore(SUPABASE_URL, forged).status()
    assert forged not in str(refused.value)


def test_a_project_without_the_schema_says_how_to_apply_it(create_database):
    with FakePostgrest(SUPABASE_URL, create_database(), JWT_SECRET):
        store = SupabaseStore(SUPABASE_URL, SERVICE_ROLE_KEY)
        with pytest.raises(StoreUnavailableError, match="supabase db push"):
            store.upgrade()


def test_upgrade_checks_the_schema_and_applies_nothing(supabase_store):
    assert supabase_store.upgrade() == []


@pytest.mark.skipif(not (os.environ.get("SUPABASE_TEST_URL") and os.environ.get("SUPABASE_TEST_SERVICE_ROLE_KEY")),
                    reason="set SUPABASE_TEST_URL and SUPABASE_TEST_SERVICE_ROLE_KEY to run against a real project")
def test_live_project_round_trip():
    store = SupabaseStore(os.environ["SUPABASE_TEST_URL"], os.environ["SUPABASE_TEST_SERVICE_ROLE_KEY"],
                          jwt_secret=os.environ.get("SUPABASE_TEST_JWT_SECRET") or None)
    user = f"parley-live-{uuid.uuid4().hex[:8]}"
    records = [make_record(user_id=user, is_demo=True, total_cost=0.25),
               make_record(user_id=user, is_demo=True, total_cost=None, model="gemini")]
    assert store.record_calls(records) == 2
    assert store.record_calls(records) == 0
    rows = {row["key"]: row for row in store.usage("model", user_id=user)}
    assert (rows["claude"]["calls"], rows["gemini"]["unpriced_calls"]) == (1, 1)
    assert rows["claude"]["cost"] == pytest.approx(0.25)
    store.set_preference(user, "gemini", as_user=user)
    assert store.get_preferences(user, as_user=user) == {None: "gemini"}
    assert store.usage("user", user_id=user, as_user=user)[0]["calls"] == 2
    assert store.status()["counts"]["request_logs"] >= 2
