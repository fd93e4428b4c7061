"""A call is decided once, and an API key's model list binds every model that may answer it:
no fallback of any kind (``fallbacks``, ``default_fallbacks``, ``context_window_fallbacks``)
and no preference reached through a template's service type serves a model the key may not use.

Each of these was seen serving another model before the plan applied the key to the whole
chain (issue 22: "the allow-list leaks three ways"); the API tests below failed then.
"""
from __future__ import annotations

import asyncio

import pytest

from core.errors import ContextTooLongError, NotAllowedError, ProviderError
from core.keys import ApiKey
from core.preparation import Call
from tests.core.api.conftest import ENV_KEYS, serve_in_process
from tests.emulated import PROVIDER_MODELS, make_service, write_config
from tests.fakes import Fault, Reply

TINY = "tiny-ctx-model"
LONG_PROMPT = "word " * 400


def key_for(*models: str, **limits) -> ApiKey:
    return ApiKey(id="key-1", user_id="alice", prefix="pk-abcdefgh", models=models or None,
                  **limits)


@pytest.fixture
def services(emulator):
    made = []

    def make(router: dict, **extra):
        svc = make_service(emulator, router=router, **extra)
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.close()


def test_the_plan_lists_every_model_that_may_answer(services):
    svc = services({"fallbacks": [{"claude": ["gemini", "gpt"]}]})
    plan = asyncio.run(svc.prepare(Call("hi", model="claude")))
    assert plan.candidates == ("claude", "gemini", "gpt")
    limited = asyncio.run(svc.prepare(Call("hi", model="claude", key=key_for("claude", "gpt"))))
    assert limited.candidates == ("claude", "gpt")
    assert limited.request.chains.router_kwargs("claude")["fallbacks"] == [{"claude": ["gpt"]}]


def test_a_default_fallback_the_key_may_not_use_never_answers(services, emulator):
    svc = services({"fallbacks": [], "default_fallbacks": ["claude"], "num_retries": 0})
    emulator.set_default(PROVIDER_MODELS["gemini"], Fault("unavailable"))
    emulator.set_default(PROVIDER_MODELS["claude"], Reply("from claude"))
    with pytest.raises(ProviderError):
        svc.generate_sync("hi", model="gemini", key=key_for("gemini"))
    assert PROVIDER_MODELS["claude"] not in {r.model for r in emulator.requests}

    unlimited = svc.generate_sync("hi", model="gemini")  # without the key, the default answers
    assert unlimited.served_by == "claude" and unlimited.content == "from claude"


def test_a_default_fallback_the_key_may_not_use_never_streams(services, emulator):
    svc = services({"fallbacks": [], "default_fallbacks": ["claude"], "num_retries": 0})
    emulator.set_default(PROVIDER_MODELS["gemini"], Fault("unavailable"))
    with pytest.raises(ProviderError):
        list(svc.stream_sync("hi", model="gemini", key=key_for("gemini")))
    assert PROVIDER_MODELS["claude"] not in {r.model for r in emulator.requests}


def test_a_context_window_fallback_the_key_may_not_use_never_answers(services, emulator):
    svc = services({"context_window_fallbacks": [{"tiny": ["gpt"]}]},
                   tiny=("openai/" + TINY, {"max_input_tokens": 50}))
    with pytest.raises(ContextTooLongError):
        svc.generate_sync(LONG_PROMPT, model="tiny", key=key_for("tiny"))
    assert emulator.requests == []
    allowed = svc.generate_sync(LONG_PROMPT, model="tiny", key=key_for("tiny", "gpt"))
    assert allowed.model == "gpt"


def test_a_model_the_key_may_not_use_is_refused_before_anything_is_sent(services, emulator):
    svc = services({})
    with pytest.raises(NotAllowedError) as refused:
        svc.generate_sync("hi", model="claude", key=key_for("gemini"))
    assert refused.value.code == "model_not_allowed"
    assert "may use only gemini, not claude" in str(refused.value)
    assert emulator.requests == []


def test_a_key_fixed_to_a_service_type_names_no_other(services):
    svc = services({})
    with pytest.raises(NotAllowedError) as refused:
        svc.generate_sync("hi", service_type="xray", key=key_for(service_type="chat"))
    assert refused.value.code == "service_not_allowed"


@pytest.fixture
def gateway(emulator, tmp_path, monkeypatch):
    """The API in process on claude/gemini/gpt; gemini's default_fallbacks is claude and the
    tiny model (50-token window) falls back to gpt when a prompt does not fit it."""
    tiny = {"model_name": "tiny", "model_info": {"max_input_tokens": 50},
            "litellm_params": {"model": f"openai/{TINY}", "api_key": "os.environ/OPENAI_API_KEY",
                               "api_base": emulator.openai_base}}
    config = write_config(emulator, tmp_path / "parley.yaml", extra=[tiny],
                          router={"num_retries": 0, "default_fallbacks": ["claude"],
                                  "context_window_fallbacks": [{"tiny": ["gpt"]}]},
                          parley={"default_model": "gemini", "privacy": "store"})
    env = {**ENV_KEYS, "PARLEY_CONFIG": str(config), "PARLEY_DATA_DIR": str(tmp_path / ".parley")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield from serve_in_process(env)


def chat(gateway, secret: str, **body):
    return gateway.http.post("/v1/chat/completions", headers=gateway.headers(secret),
                             json={"messages": [{"role": "user", "content": "hi"}], **body})


def test_over_the_api_a_default_fallback_never_serves_a_limited_key(gateway, emulator):
    emulator.set_default(PROVIDER_MODELS["gemini"], Fault("unavailable"))
    emulator.set_default(PROVIDER_MODELS["claude"], Reply("from claude"))
    response = chat(gateway, gateway.make_key("alice", models=["gemini"]), model="gemini")
    assert response.status_code in (502, 503), response.json()  # gemini failed; no fallback
    assert PROVIDER_MODELS["claude"] not in {r.model for r in emulator.requests}


def test_over_the_api_a_context_window_fallback_never_serves_a_limited_key(gateway, emulator):
    response = chat(gateway, gateway.make_key("alice", models=["tiny"]), model="tiny",
                    messages=[{"role": "user", "content": LONG_PROMPT}])
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "context_length_exceeded"
    assert emulator.requests == []


def test_a_templates_service_type_cannot_route_a_key_to_another_model(gateway, emulator):
    """The template names service type xray, for which an admin set claude for everyone; a
    key limited to gemini must be refused, not answered by claude."""
    from core.prompts import variables_of
    from core.routing.preferences import EVERYONE
    from core.store.sqlite import SqliteStore

    store = SqliteStore(gateway.db_path)
    store.upgrade()
    store.evals().save_template({
        "name": "qa", "template": "Answer {{ q }}", "system": None, "service_type": "xray",
        "variables": variables_of(None, "Answer {{ q }}"), "settings": {}, "created_by": "alice"})
    store.set_preference(EVERYONE, "claude", "xray")
    store.close()
    emulator.set_default(PROVIDER_MODELS["claude"], Reply("from claude"))
    secret = gateway.make_key("alice", models=["gemini"])
    response = gateway.http.post("/api/v1/ai/chat", headers=gateway.headers(secret),
                                 json={"template": "qa", "variables": {"q": "why?"}})
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["code"] == "model_not_allowed"
    assert "not claude" in response.json()["error"]["message"]
    assert emulator.requests == []
