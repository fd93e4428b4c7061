"""Several workers, one truth: with ``PARLEY_REDIS_URL`` set, three ``serve`` workers admit a
key's N calls per minute in all (not 3N), and a key's budget spent on one worker is refused
by the others at once. (Without Redis each worker counts alone; the README says so.)"""
from __future__ import annotations

import concurrent.futures
import os
import sys

import httpx
import pytest

from tests.core.api.conftest import free_port, server_env, start_server, stop_server, _keyring
from tests.fakes import Reply

REDIS_URL = os.environ.get("PARLEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
HELLO = {"model": "gemini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc} (CI requires it)")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def three_workers(api_env, tmp_path, redis_url):
    port = free_port()
    env = server_env(api_env, PARLEY_REDIS_URL=redis_url)
    proc = start_server([sys.executable, "-m", "core", "serve", "--port", str(port), "--workers", "3"],
                        env, f"http://127.0.0.1:{port}/api/openapi.json", tmp_path / "serve.log",
                        timeout=90)
    keyring = _keyring(api_env)
    yield f"http://127.0.0.1:{port}", keyring
    stop_server(proc)
    keyring.close()


def fire(base_url: str, secret: str, n: int) -> list[int]:
    """``n`` calls at once, each on its own connection (so the kernel spreads them)."""
    def one(_):
        with httpx.Client(timeout=30) as client:
            return client.post(f"{base_url}/v1/chat/completions", json=HELLO,
                               headers={"Authorization": f"Bearer {secret}", "Connection": "close"})

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return [r.status_code for r in pool.map(one, range(n))]


def test_a_rate_limit_of_n_per_minute_admits_n_across_three_workers(three_workers, emulator):
    base_url, keyring = three_workers
    secret, _ = keyring.create("hana", created_by="test", rate_limit=5)
    statuses = fire(base_url, secret, 15) + fire(base_url, secret, 6)
    assert statuses.count(200) == 5
    assert statuses.count(429) == 16
    assert len(emulator.requests) == 5


def test_a_budget_spent_on_one_worker_is_refused_by_every_worker(three_workers, emulator):
    emulator.set_default("gemini-2.5-flash", Reply("big", input_tokens=200_000, output_tokens=50_000))
    base_url, keyring = three_workers
    secret, _ = keyring.create("ivan", created_by="test", budget=0.01)
    assert fire(base_url, secret, 1) == [200]  # one call spends past the budget
    assert fire(base_url, secret, 9) == [429] * 9
    assert len(emulator.requests) == 1
