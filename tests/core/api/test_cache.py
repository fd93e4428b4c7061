"""The response cache (``parley.cache``, LiteLLM's own): a repeated request is answered from
it without calling the provider, and recorded with cost 0, ``cache_hit`` and ``saved_cost``
(what it would have cost). With ``type: redis`` two workers share one cache."""
from __future__ import annotations

import dataclasses
import os
import time
import uuid

import pytest
from starlette.testclient import TestClient

from tests.core.api.conftest import ENV_KEYS, _gateway, _keyring
from tests.core.api.test_workers import redis_url  # noqa: F401 - the fixture
from tests.emulated import write_config
from tests.fakes import Reply


def cached_api(emulator, tmp_path, monkeypatch, cache: dict, name: str = "a"):
    from core.api import create_app
    from core.service import AIService

    tmp_path.mkdir(parents=True, exist_ok=True)
    config = write_config(emulator, tmp_path / "parley.yaml", parley={"cache": cache})
    env = {**ENV_KEYS, "PARLEY_CONFIG": str(config), "PARLEY_DATA_DIR": str(tmp_path / ".parley"),
           "PARLEY_REDIS_URL": os.environ.get("PARLEY_REDIS_URL", "")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    service = AIService.from_env()
    keyring = _keyring(env)
    client = TestClient(create_app(service, keyring))
    client.__enter__()  # one loop for every request; closed (and LiteLLM's clients on it) first
    return (_gateway("http://testserver", client, env, keyring, service.recorder.flush),
            Served(client, service))


@dataclasses.dataclass
class Served:
    """What ``cached_api`` opened, for its caller to ``close()``: the client's loop, then the
    service."""

    client: TestClient
    service: object

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.service.close()


def ask(client, prompt: str, stream: bool):
    messages = [{"role": "user", "content": prompt}]
    if stream:
        chunks = list(client.chat.completions.create(model="gpt", messages=messages, stream=True))
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), \
            chunks[-1].model_extra["parley"]
    reply = client.chat.completions.create(model="gpt", messages=messages)
    return reply.choices[0].message.content, reply.model_extra["parley"]


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_a_repeated_request_is_answered_from_the_cache_and_recorded_as_saved(
        emulator, tmp_path, monkeypatch, stream):
    emulator.set_default("gpt-4.1-mini", Reply("cached words here", input_tokens=1000, output_tokens=300))
    api, service = cached_api(emulator, tmp_path, monkeypatch, {"type": "local", "ttl": 60})
    client = api.openai(api.make_key("jo"))
    prompt = f"same question {uuid.uuid4()}"

    first_text, first = ask(client, prompt, stream)
    time.sleep(0.3)  # LiteLLM writes the cache entry in a task after answering
    second_text, second = ask(client, prompt, stream)

    assert second_text == first_text == "cached words here"
    assert len(emulator.requests) == 1
    assert (first["cache_hit"], second["cache_hit"]) == (False, True)
    assert first["cost"] > 0 and second["cost"] == 0
    rows = {r["litellm_call_id"]: r for r in api.records(2)}
    hit = rows[second["call_id"]]
    assert (hit["cache_hit"], hit["total_cost"]) == (1, 0)
    assert hit["saved_cost"] == pytest.approx(first["cost"])
    assert (hit["input_tokens"], hit["output_tokens"]) == (1000, 300)
    assert rows[first["call_id"]]["cache_hit"] == 0 and rows[first["call_id"]]["saved_cost"] is None
    service.close()


def test_a_redis_cache_is_shared_by_two_workers(emulator, tmp_path, monkeypatch, redis_url):  # noqa: F811
    monkeypatch.setenv("PARLEY_REDIS_URL", redis_url)
    cache = {"type": "redis", "ttl": 60}
    one, first_service = cached_api(emulator, tmp_path / "one", monkeypatch, cache)
    two, second_service = cached_api(emulator, tmp_path / "two", monkeypatch, cache)
    prompt = f"shared question {uuid.uuid4()}"

    _, answered = ask(one.openai(one.make_key("kim")), prompt, False)
    time.sleep(0.3)
    _, from_cache = ask(two.openai(two.make_key("kim")), prompt, False)

    assert len(emulator.requests) == 1
    assert (answered["cache_hit"], from_cache["cache_hit"]) == (False, True)
    first_service.close()
    second_service.close()


@pytest.mark.parametrize("cache, words", [
    ({"type": "memcached"}, "parley.cache.type: must be one of local, redis"),
    ({"type": "local", "ttl": -1}, "ttl"),
    ({"type": "redis"}, "PARLEY_REDIS_URL"), ({"size": 3}, "parley.cache.size")])
def test_a_bad_cache_setting_names_the_key(emulator, tmp_path, cache, words):
    from core.config import load_settings
    from core.errors import ConfigError

    config = write_config(emulator, tmp_path / "parley.yaml", parley={"cache": cache})
    with pytest.raises(ConfigError, match=words) as bad:
        load_settings(config, {})
    assert "parley.cache" in str(bad.value)


def test_with_redis_the_routers_cooldowns_are_shared(emulator, tmp_path, redis_url):  # noqa: F811
    from core.config import load_settings
    from core.llm.gateway import Gateway
    from core.catalog import Catalog

    settings = load_settings(write_config(emulator, tmp_path / "parley.yaml"),
                             {**ENV_KEYS, "PARLEY_REDIS_URL": redis_url})
    router = Gateway(settings, Catalog(settings)).router
    assert router.cache.redis_cache is not None  # LiteLLM keeps cooldowns in this DualCache
