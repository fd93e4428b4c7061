"""Random tokens cannot grow the API key cache without bound: unknown keys are remembered
for a short while and only so many; known keys are kept apart, so a flood of random tokens
neither fills memory nor pushes real keys out (each would cost a store read)."""
from __future__ import annotations

import concurrent.futures
import threading
import time
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


class _SlowStore:
    """The store, with each key read held until ``release`` is set, and counted."""

    def __init__(self, store):
        self._store, self.reads, self.release = store, 0, threading.Event()

    def authenticate_key(self, *args):
        self.reads += 1
        assert self.release.wait(10)
        return self._store.authenticate_key(*args)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_a_stale_key_is_read_once_while_the_requests_in_flight_use_its_copy(store):
    """When a busy key's copy went stale, every request in flight read it from the store,
    one after another on its connection."""
    clock = [1000.0]
    slow = _SlowStore(store)
    ring = KeyRing(lambda: slow, ttl_s=5, clock=lambda: clock[0])
    secret, key = ring.create("alice", created_by="test")
    bearer = f"Bearer {secret}"
    slow.release.set()
    ring.authenticate(bearer)
    assert slow.reads == 1
    slow.release.clear()
    clock[0] += 6  # the copy is stale: the next request reads the key again

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        first = pool.submit(ring.authenticate, bearer)
        while slow.reads < 2:  # the first request is reading the key
            time.sleep(0.01)
        assert ring.cached(bearer)  # the API answers the others on its loop, from the copy
        others = [pool.submit(ring.authenticate, bearer) for _ in range(19)]
        assert [f.result(timeout=10).id for f in others] == [key.id] * 19  # while the read waits
        slow.release.set()
        assert first.result(timeout=10).id == key.id
    assert slow.reads == 2


def test_a_key_never_seen_is_read_by_each_request_until_one_read_is_done(store):
    """Only a key seen before has a copy to serve: an unknown one is not let through."""
    slow = _SlowStore(store)
    ring = KeyRing(lambda: slow, ttl_s=5)
    secret, _ = ring.create("alice", created_by="test")
    assert not ring.cached(f"Bearer {secret}")
    slow.release.set()
    assert ring.authenticate(f"Bearer {secret}").user_id == "alice"
    assert ring.cached(f"Bearer {secret}")


def test_a_key_is_read_while_the_recorder_holds_a_write_transaction(store):
    """A key read (a request waits for it) is not queued behind the store's writes: it reads
    the last commit on a connection of its own while a write transaction is open."""
    ring = KeyRing(lambda: store, clock=lambda: 1000.0)
    secret, key = ring.create("alice", created_by="test")
    writing, release = threading.Event(), threading.Event()

    def hold_the_write_lock():
        with store._writing():
            writing.set()
            release.wait(30)

    writer = threading.Thread(target=hold_the_write_lock)
    writer.start()
    try:
        assert writing.wait(10)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            read = pool.submit(ring.authenticate, f"Bearer {secret}")
            # before the change it waited for the writer, here for ever
            assert read.result(timeout=10).id == key.id
    finally:
        release.set()
        writer.join()
