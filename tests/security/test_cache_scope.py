"""The response cache is partitioned (``parley.cache.scope``): by default a user is answered
from the cache only with what they were answered before, never with another user's answer;
``key`` partitions by API key; ``global`` (opt-in) shares one cache across everyone. The
partition is a hash in the cache key: nothing of it reaches the provider."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.core.api.test_cache import ask, cached_api
from tests.core.api.test_workers import redis_url  # noqa: F401 - the fixture
from tests.emulated import write_config
from tests.fakes import Reply


def answered(emulator, tmp_path, monkeypatch, cache: dict, asks: list[tuple[str, str]],
             stream: bool = False, keys: dict | None = None) -> list[bool]:
    """Ask one prompt as each ``(user, key name)`` in turn; whether each was a cache hit."""
    emulator.set_default("gpt-4.1-mini", Reply("alice's private answer", input_tokens=100,
                                               output_tokens=30))
    api, service = cached_api(emulator, tmp_path, monkeypatch, cache)
    secrets = keys if keys is not None else {}
    prompt, hits = f"what is in my file? {uuid.uuid4()}", []
    for user, name in asks:
        secret = secrets.setdefault(name, api.make_key(user))
        _, parley = ask(api.openai(secret), prompt, stream)
        hits.append(parley["cache_hit"])
        time.sleep(0.3)  # LiteLLM writes the cache entry in a task after answering
    service.close()
    return hits


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_by_default_bob_is_not_answered_with_alices_cached_answer(emulator, tmp_path, monkeypatch,
                                                                  stream):
    hits = answered(emulator, tmp_path, monkeypatch, {"type": "local", "ttl": 60},
                    [("alice", "a1"), ("bob", "b1"), ("alice", "a1"), ("bob", "b1")], stream)
    assert hits == [False, False, True, True]
    assert len(emulator.requests) == 2


def test_a_users_two_keys_share_the_user_scope(emulator, tmp_path, monkeypatch):
    hits = answered(emulator, tmp_path, monkeypatch, {"type": "local", "ttl": 60, "scope": "user"},
                    [("alice", "a1"), ("alice", "a2")])
    assert hits == [False, True]


def test_the_key_scope_keeps_each_keys_answers_to_it(emulator, tmp_path, monkeypatch):
    hits = answered(emulator, tmp_path, monkeypatch, {"type": "local", "ttl": 60, "scope": "key"},
                    [("alice", "a1"), ("alice", "a2"), ("alice", "a1")])
    assert hits == [False, False, True]


def test_the_global_scope_shares_answers_across_users_when_asked_for(emulator, tmp_path,
                                                                    monkeypatch):
    hits = answered(emulator, tmp_path, monkeypatch, {"type": "local", "ttl": 60,
                                                      "scope": "global"},
                    [("alice", "a1"), ("bob", "b1")])
    assert hits == [False, True]


def test_with_redis_two_workers_keep_users_apart(emulator, tmp_path, monkeypatch,
                                                redis_url):  # noqa: F811
    monkeypatch.setenv("PARLEY_REDIS_URL", redis_url)
    cache = {"type": "redis", "ttl": 60}
    emulator.set_default("gpt-4.1-mini", Reply("an answer", input_tokens=10, output_tokens=3))
    one, first = cached_api(emulator, tmp_path / "one", monkeypatch, cache)
    two, second = cached_api(emulator, tmp_path / "two", monkeypatch, cache)
    prompt = f"shared question {uuid.uuid4()}"

    _, alice = ask(one.openai(one.make_key("alice")), prompt, False)
    time.sleep(0.3)
    _, bob = ask(two.openai(two.make_key("bob")), prompt, False)
    _, alice_again = ask(two.openai(two.make_key("alice")), prompt, False)

    assert (alice["cache_hit"], bob["cache_hit"], alice_again["cache_hit"]) == (False, False, True)
    first.close()
    second.close()


def gateway_for(emulator, tmp_path, cache: dict):
    from core.catalog import Catalog
    from core.config import load_settings
    from core.llm.gateway import Gateway
    from tests.core.api.conftest import ENV_KEYS

    settings = load_settings(write_config(emulator, tmp_path / "parley.yaml", parley={"cache": cache}),
                             dict(ENV_KEYS))
    return Gateway(settings, Catalog(settings))


async def test_the_partition_never_reaches_the_provider_and_none_means_no_cache(emulator, tmp_path):
    from core.llm.gateway import CallRequest

    emulator.set_default("gpt-4.1-mini", Reply("words", input_tokens=10, output_tokens=3))
    gateway = gateway_for(emulator, tmp_path, {"type": "local", "ttl": 60})
    messages = [{"role": "user", "content": f"q {uuid.uuid4()}"}]

    def request(scope):
        return CallRequest(model="gpt", messages=messages, call_id=str(uuid.uuid4()),
                           cache_scope=scope)

    first = await gateway.complete(request("user:alice@example.com"))
    unscoped = await gateway.complete(request(None))  # a user-scoped cache needs a partition
    time.sleep(0.3)
    again = await gateway.complete(request("user:alice@example.com"))

    assert (first.result.cache_hit, unscoped.result.cache_hit, again.result.cache_hit) == \
        (False, False, True)
    sent = json.dumps([r.body if hasattr(r, "body") else str(r) for r in emulator.requests])
    assert "alice" not in sent and "namespace" not in sent
    gateway.close()


@pytest.mark.parametrize("scope", ["everyone", 3])
def test_a_wrong_scope_names_the_setting(emulator, tmp_path, scope):
    from core.config import load_settings
    from core.errors import ConfigError

    config = write_config(emulator, tmp_path / "parley.yaml",
                          parley={"cache": {"type": "local", "scope": scope}})
    with pytest.raises(ConfigError, match="parley.cache.scope"):
        load_settings(config, {})
