"""API keys in every backend: a key is found by its hash (with its month's spend), listed
without it, revoked once; a user sees and revokes only their own keys, an admin anyone's."""
from __future__ import annotations

import datetime as dt

import pytest

from core.keys import KeyRing, KeyRefused, hash_secret
from core.errors import BadRequestError
from tests.core.store.records import make_record

MONTH = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)


def ring(store) -> KeyRing:
    return KeyRing(lambda: store, ttl_s=0, now=lambda: NOW)


def test_a_key_is_found_by_its_hash_with_its_month_spend(store):
    secret, key = ring(store).create("alice@example.com", created_by="test", models=["claude"],
                                     budget=5, rate_limit=10, service_type="xray")
    store.record_calls([
        make_record(key_id=key.id, total_cost=0.25, created_at=NOW),
        make_record(key_id=key.id, total_cost=0.5, created_at=MONTH - dt.timedelta(days=2)),
        make_record(total_cost=7.0, created_at=NOW)])  # not through the key

    found = store.authenticate_key(hash_secret(secret), MONTH)

    assert found["id"] == key.id and found["user_id"] == "alice@example.com"
    assert found["models"] == ["claude"] and found["monthly_budget"] == 5
    assert found["month_spend"] == pytest.approx(0.25)
    assert store.authenticate_key(hash_secret(secret + "x"), MONTH) is None
    listed = store.list_keys("alice@example.com")
    assert [k["prefix"] for k in listed] == [secret[:11]]
    assert "sha256" not in listed[0] and secret not in str(listed)


def test_a_revoked_key_is_refused_and_revoking_twice_keeps_the_first_time(store):
    keys = ring(store)
    secret, key = keys.create("alice@example.com", created_by="test")
    first = keys.revoke(key.prefix)["revoked_at"]
    assert keys.revoke(key.prefix)["revoked_at"] == first
    with pytest.raises(KeyRefused, match="revoked") as refused:
        keys.authenticate(f"Bearer {secret}")
    assert refused.value.status == 401
    assert keys.list()[0].status(NOW) == "revoked"


def test_users_see_and_revoke_only_their_own_keys(backend):
    store = backend.store
    keys = ring(store)
    _, alice_key = keys.create("alice@example.com", created_by="test")
    _, bob_key = keys.create("bob@example.com", created_by="test")

    assert [k.user_id for k in keys.list(as_user="alice@example.com")] == ["alice@example.com"]
    assert keys.list("bob@example.com", as_user="alice@example.com") == []
    with pytest.raises(BadRequestError, match="no key"):
        keys.revoke(bob_key.prefix, as_user="alice@example.com")
    assert keys.list("bob@example.com")[0].revoked_at is None

    backend.make_admin("root@example.com")
    assert {k.user_id for k in keys.list(as_user="root@example.com")} == \
        {"alice@example.com", "bob@example.com"}
    keys.revoke(bob_key.prefix, as_user="root@example.com")
    assert keys.list("bob@example.com")[0].revoked_at is not None


def test_a_user_cannot_make_a_key_for_someone_else(store):
    with pytest.raises(BadRequestError):
        ring(store).create("bob@example.com", created_by="alice", as_user="alice@example.com")
    assert store.list_keys() == []


@pytest.mark.parametrize("kwargs, problem", [
    ({"budget": -1}, "budget"), ({"rate_limit": 0}, "rate limit"),
    ({"expires": "yesterday"}, "Expiry"), ({"expires": "2020-01-01"}, "past"),
    ({"models": [" "]}, "at least one model")])
def test_bad_key_settings_are_refused_and_nothing_is_stored(store, kwargs, problem):
    with pytest.raises(BadRequestError, match=problem):
        ring(store).create("alice@example.com", created_by="test", **kwargs)
    assert store.list_keys() == []


def test_an_expired_or_over_budget_key_is_refused(store):
    keys = ring(store)
    expired, _ = keys.create("alice@example.com", created_by="test", expires="1d")
    spent, key = keys.create("alice@example.com", created_by="test", budget=1.0)
    store.record_calls([make_record(key_id=key.id, total_cost=1.5, created_at=NOW)])
    later = KeyRing(lambda: store, ttl_s=0, now=lambda: NOW + dt.timedelta(days=2))

    with pytest.raises(KeyRefused, match="expired"):
        later.authenticate(f"Bearer {expired}")
    with pytest.raises(KeyRefused, match="monthly budget") as over:
        keys.authenticate(f"Bearer {spent}")
    assert over.value.status == 429 and over.value.retry_after > 0


def test_on_postgres_users_never_read_hashes_and_cannot_authenticate_by_hash(pg_store, pg_conn):
    from psycopg import errors

    from tests.core.store.test_rls import acting

    secret, _ = ring(pg_store).create("alice@example.com", created_by="test")
    ring(pg_store).create("bob@example.com", created_by="test")
    with acting(pg_conn, "authenticated", sub="alice@example.com") as cur:
        cur.execute("select user_id from api_keys")
        assert [row[0] for row in cur.fetchall()] == ["alice@example.com"]
    with acting(pg_conn, "authenticated", sub="alice@example.com") as cur:
        with pytest.raises(errors.InsufficientPrivilege):
            cur.execute("select sha256 from api_keys")
    with acting(pg_conn, "authenticated", sub="alice@example.com") as cur:
        with pytest.raises(errors.InsufficientPrivilege):
            cur.execute("select public.parley_authenticate_key(%s, now())", (hash_secret(secret),))


@pytest.mark.parametrize("header, says", [
    (None, "This route needs an API key; send `Authorization: Bearer pk-...`."),
    ("Basic dXNlcjpwYXNz", "The Authorization header uses the 'Basic' scheme; send "
                           "`Authorization: Bearer pk-...` (or the key alone in `x-api-key`)."),
    ("pk-" + "a" * 30, "The Authorization header uses no scheme; send `Authorization: Bearer "
                       "pk-...` (or the key alone in `x-api-key`)."),
    ("Bearer ", "The Authorization header has no key after `Bearer`; send "
                "`Authorization: Bearer pk-...`."),
    ("Bearer sk-proj-abcdefghijklmnopqrstuvwxyz", "The key sent is not a Parley API key (those "
     "start with pk-); a provider's key does not work here: make one on /keys or with "
     "`python -m core keys create`."),
    ("Bearer pk-short", "This API key is not valid: a Parley key is pk- and 20 to 100 letters, "
                        "digits, '-' or '_'; check it was copied whole."),
])
def test_a_refused_header_says_what_is_wrong_with_it_and_never_echoes_the_key(header, says):
    with pytest.raises(KeyRefused) as refused:
        KeyRing(lambda: None).authenticate(header)
    assert str(refused.value) == says
    assert "aaaaaaaa" not in str(refused.value) and "abcdefgh" not in str(refused.value)
