"""The key policy (``parley.key_policy``): a user who is not an admin makes keys for
themselves only within the limits the admins set (a default, and per user), so a limit an
admin puts on them cannot be undone by making a new key. Admins are unrestricted.

A default install (no ``parley.key_policy``): a non-admin's key needs a monthly budget of at
most $10, a rate limit of at most 60 calls a minute and an expiry within 90 days; any model;
at most 5 active keys. Checked on every backend (SQLite in ``KeyRing``; Postgres and Supabase
also in the SQL function)."""
from __future__ import annotations

import datetime as dt

import pytest

from core.errors import BadRequestError
from core.keys import KeyRing
from core.store.key_policy import policy_rows
from tests.core.store.conftest import (backend, fake_postgrest, pg_conn, pg_store,  # noqa: F401
                                       supabase_store)
from tests.security.conftest import ALICE, BOB, ROOT

NOW = dt.datetime.now(dt.timezone.utc)
WITHIN = {"budget": 5, "rate_limit": 30, "expires": "30d"}


def ring(store) -> KeyRing:
    return KeyRing(lambda: store, ttl_s=0)


@pytest.mark.parametrize("asked, problem", [
    ({}, "needs a monthly budget of at most $10.00"),
    ({**WITHIN, "budget": 500}, "needs a monthly budget of at most $10.00"),
    ({**WITHIN, "rate_limit": None}, "needs a rate limit of at most 60 calls a minute"),
    ({**WITHIN, "rate_limit": 1000}, "needs a rate limit of at most 60 calls a minute"),
    ({**WITHIN, "expires": None}, "must expire within 90 days"),
    ({**WITHIN, "expires": "400d"}, "must expire within 90 days"),
])
def test_a_users_own_key_stays_within_the_default_policy(backend, asked, problem):
    with pytest.raises(BadRequestError, match=problem.replace("$", r"\$")):
        ring(backend.store).create(BOB, created_by=BOB, as_user=BOB, **asked)
    assert backend.store.list_keys() == []


def test_a_key_within_the_policy_is_made(backend):
    _, key = ring(backend.store).create(BOB, created_by=BOB, as_user=BOB, **WITHIN)
    assert (key.monthly_budget, key.rate_limit_per_minute) == (5, 30)
    assert [k["prefix"] for k in backend.store.list_keys()] == [key.prefix]


def test_a_user_has_at_most_five_active_keys(backend):
    keys = ring(backend.store)
    made = [keys.create(BOB, created_by=BOB, as_user=BOB, **WITHIN)[1] for _ in range(5)]
    with pytest.raises(BadRequestError, match="at most 5 active keys"):
        keys.create(BOB, created_by=BOB, as_user=BOB, **WITHIN)
    keys.revoke(made[0].prefix, as_user=BOB)
    keys.create(BOB, created_by=BOB, as_user=BOB, **WITHIN)


def test_an_admin_is_unrestricted(backend):
    backend.store.upgrade()  # SQLite: the admins table exists once the schema does
    backend.make_admin(ROOT)
    keys = ring(backend.store)
    _, mine = keys.create(ROOT, created_by=ROOT, as_user=ROOT)
    _, bobs = keys.create(BOB, created_by=ROOT, as_user=ROOT, budget=1000)
    assert mine.monthly_budget is None and bobs.monthly_budget == 1000


def test_the_configured_policy_and_a_users_own_limits_apply(backend):
    backend.store.sync_key_policy(policy_rows({
        "monthly_budget": 20, "models": ["gemini"], "expiry_days": None,
        "users": {BOB: {"monthly_budget": 100, "models": ["gemini", "claude"]}}}))
    keys = ring(backend.store)
    keys.create(BOB, created_by=BOB, as_user=BOB, budget=100, rate_limit=10,
                models=["claude"])  # bob's own limits; no expiry needed any more
    with pytest.raises(BadRequestError, match=r"may use only gemini"):
        keys.create(ALICE, created_by=ALICE, as_user=ALICE, budget=20, rate_limit=10)
    with pytest.raises(BadRequestError, match=r"at most \$20.00"):
        keys.create(ALICE, created_by=ALICE, as_user=ALICE, budget=50, rate_limit=10,
                    models=["gemini"])
    keys.create(ALICE, created_by=ALICE, as_user=ALICE, budget=20, rate_limit=10,
                models=["gemini"])


def test_parley_key_policy_in_the_config_reaches_the_store(emulator, tmp_path):
    from core.keys import sync_key_policy
    from tests.security.conftest import make_bench

    bench = make_bench(emulator, tmp_path, key_policy={
        "monthly_budget": 3, "max_keys": None, "users": {"Bob@Example.com": {"expiry_days": 7}}})
    store = bench.service.store
    assert sync_key_policy(bench.service.settings, store) == 2
    assert store.key_limits(BOB) == {"monthly_budget": 3, "models": None,
                                     "rate_limit_per_minute": 60, "expiry_days": 7,
                                     "max_keys": None, "active_keys": 0}
    assert store.key_limits(ALICE)["expiry_days"] == 90 and store.key_limits(ROOT) is None
    bench.service.close()


def test_a_wrong_key_policy_names_the_key(tmp_path):
    from core.config import load_settings
    from core.errors import ConfigError

    path = tmp_path / "parley.yaml"
    path.write_text("model_list: [{model_name: m, litellm_params: {model: openai/gpt-4o}}]\n"
                    "parley: {key_policy: {monthly_budget: -1}}\n")
    with pytest.raises(ConfigError, match="parley.key_policy.monthly_budget"):
        load_settings(path)
