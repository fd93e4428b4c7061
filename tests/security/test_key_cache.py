"""Random tokens cannot grow the API key cache without bound: unknown keys are remembered
for a short while and only so many; known keys are kept apart, so a flood of random tokens
neither fills memory nor pushes real keys out (each would cost a store read)."""
from __future__ import annotations

import tracemalloc

import pytest

from core.keys import KeyRefused, KeyRing, new_secret
from core.store.sqlite import SqliteStore


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "parley.db")
    yield s
    s.close()


def refuse_random_tokens(ring: KeyRing, n: int) -> None:
    for _ in range(n):
        with pytest.raises(KeyRefused):
            ring.authenticate(f"Bearer {new_secret()}")


def test_twenty_thousand_random_tokens_keep_the_key_cache_bounded(store):
    ring = KeyRing(lambda: store, clock=lambda: 1000.0)  # time stands still: nothing expires
    secret, _ = ring.create("alice", created_by="test")
    ring.authenticate(f"Bearer {secret}")
    refuse_random_tokens(ring, 2_000)  # the cache is full of unknown keys from here on

    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    refuse_random_tokens(ring, 20_000)
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert after - before < 1_000_000  # was ~12 MB: every token kept forever
    assert ring.cached(f"Bearer {secret}")  # the real key is still answered from the cache


def test_an_unknown_key_is_forgotten_soon_so_a_new_key_works_at_once(store):
    clock = [1000.0]
    ring = KeyRing(lambda: store, ttl_s=60, clock=lambda: clock[0])
    secret = new_secret()
    with pytest.raises(KeyRefused):
        ring.authenticate(f"Bearer {secret}")
    assert ring.cached(f"Bearer {secret}")  # a repeated bad token is not a store read each time

    clock[0] += KeyRing.UNKNOWN_TTL_S
    assert not ring.cached(f"Bearer {secret}")


def test_the_least_recently_used_known_keys_leave_a_full_cache(store):
    ring = KeyRing(lambda: store, max_keys=3)
    secrets = [ring.create(f"user{i}", created_by="test")[0] for i in range(4)]
    for secret in secrets[:3]:
        ring.authenticate(f"Bearer {secret}")
    ring.authenticate(f"Bearer {secrets[0]}")  # used again: the most recent
    ring.authenticate(f"Bearer {secrets[3]}")  # pushes out the least recently used

    assert [ring.cached(f"Bearer {s}") for s in secrets] == [True, False, True, True]
