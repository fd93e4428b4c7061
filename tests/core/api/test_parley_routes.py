"""Parley's own routes (the shapes of the services it grew from), each through AIService and
recorded like any call."""
from __future__ import annotations

import json

import pytest

from tests.fakes import Reply


@pytest.fixture
def api(in_process):
    return in_process


def call(api, method, path, secret, **kwargs):
    return api.http.request(method, path, headers={"Authorization": f"Bearer {secret}"}, **kwargs)


def test_status_names_the_providers_and_the_owners_default(api):
    secret = api.make_key("alice", models=["claude", "gemini"])
    body = call(api, "GET", "/api/v1/ai/status", secret).json()
    assert body["default_model"] == "gemini" and body["default_provider"] == "gemini"
    assert {p["provider"]: p["models"] for p in body["providers"]} == \
        {"anthropic": ["claude"], "gemini": ["gemini"]}  # only what the key may use
    assert all(p["available"] for p in body["providers"])


def test_chat_answers_with_usage_cost_and_the_call_id(api, emulator):
    emulator.enqueue("claude-sonnet-4-5-20250929", Reply("Bonjour", input_tokens=20, output_tokens=2))
    secret = api.make_key("alice")
    response = call(api, "POST", "/api/v1/ai/chat", secret,
                    json={"prompt": "Say hello in French", "system_prompt": "Be terse",
                          "provider": "claude", "service_type": "smart_questions"})
    body = response.json()
    assert response.status_code == 200, body
    assert (body["content"], body["model"], body["provider"]) == ("Bonjour", "claude", "anthropic")
    assert body["usage"] == {"input_tokens": 20, "output_tokens": 2, "total_tokens": 22,
                             "estimated": False}
    assert body["cost"] > 0 and response.headers["x-parley-call-id"] == body["call_id"]
    sent = emulator.requests[-1]
    assert sent.model == "claude-sonnet-4-5-20250929"
    [row] = api.records()
    assert (row["litellm_call_id"], row["service_type"], row["user_id"]) == \
        (body["call_id"], "smart_questions", "alice")


def test_completions_take_a_history_and_stream_as_sse(api, emulator):
    emulator.enqueue("gpt-4.1-mini", Reply("three four"))
    secret = api.make_key("alice")
    response = call(api, "POST", "/api/v1/ai/completions", secret, json={
        "stream": True, "model": "gpt", "messages": [{"role": "user", "content": "one"},
                                     {"role": "assistant", "content": "two"},
                                     {"role": "user", "content": "go on"}]})
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    parsed = [json.loads(e) for e in events[:-1]]
    assert "".join(e["content"] for e in parsed if e["type"] == "delta") == "three four"
    done = parsed[-1]
    assert done["type"] == "done" and done["usage"]["output_tokens"] == 2
    assert [m["role"] for m in emulator.requests[-1].body["messages"]][-3:] == ["user", "assistant", "user"]


def test_routed_chat_says_which_route_and_why(api, emulator):
    secret = api.make_key("alice")
    body = call(api, "POST", "/api/v1/ai/chat/routed", secret,
                json={"prompt": "What is 2+2?", "complexity": "simple"}).json()
    assert body["route"] == "simple" and body["route_reason"]
    classified = call(api, "POST", "/api/v1/ai/chat/routed", secret,
                      json={"prompt": "What is 2+2?"}).json()
    assert classified["route_reason"] and classified["model"] in ("claude", "gemini", "gpt")


def test_providers_list_prices_and_a_typical_request(api):
    secret = api.make_key("alice")
    models = {m["name"]: m for m in call(api, "GET", "/api/ai/providers", secret).json()["models"]}
    assert set(models) == {"claude", "gemini", "gpt"}
    claude = models["claude"]
    assert claude["display_name"] == "Claude (Anthropic)" and claude["price_known"]
    typical = claude["typical_request"]
    assert typical["cost"] == pytest.approx(
        (typical["input_tokens"] * claude["input_cost_per_1m"]
         + typical["output_tokens"] * claude["output_cost_per_1m"]) / 1e6)


def test_preference_get_and_set_for_the_keys_owner(api):
    secret = api.make_key("frank")
    assert call(api, "GET", "/api/ai/preference", secret).json() == \
        {"user": "frank", "service": None, "model": "gemini", "source": "default"}
    saved = call(api, "POST", "/api/ai/preference", secret,
                 json={"model": "gpt", "service_type": "xray"})
    assert saved.json() == {"user": "frank", "service": "xray", "model": "gpt", "source": "service"}
    assert call(api, "GET", "/api/ai/preference", secret,
                params={"service_type": "xray"}).json()["model"] == "gpt"
    bad = call(api, "POST", "/api/ai/preference", secret, json={"model": "nope"})
    assert bad.status_code == 404 and bad.json()["error"]["code"] == "model_not_found"
    assert call(api, "GET", "/api/ai/preference", secret, params={"service_type": "nope"}).status_code == 400


def test_models_lists_only_what_the_key_may_use(api):
    secret = api.make_key("alice", models=["gpt"])
    listed = api.openai(secret).models.list()
    assert [m.id for m in listed.data] == ["gpt"]


def test_chat_renders_a_stored_template_and_records_its_version(api, emulator):
    from core.prompts import variables_of
    from core.store.sqlite import SqliteStore

    store = SqliteStore(api.db_path)
    store.upgrade()
    store.evals().save_template({
        "name": "greet", "template": "Say hello to {{ name }} in French", "system": "Be terse",
        "service_type": None, "variables": variables_of("Be terse", "Say hello to {{ name }} in French"),
        "settings": {}, "created_by": "alice"})  # a key finds only its user's templates
    emulator.enqueue("claude-sonnet-4-5-20250929", Reply("Bonjour Ana"))
    secret = api.make_key("alice")
    response = call(api, "POST", "/api/v1/ai/chat", secret,
                    json={"template": "greet", "variables": {"name": "Ana"}, "model": "claude"})
    assert response.status_code == 200, response.json()
    assert response.json()["content"] == "Bonjour Ana"
    sent = json.dumps(emulator.requests[-1].body)
    assert "Say hello to Ana in French" in sent and "Be terse" in sent
    [row] = api.records()
    assert json.loads(row["metadata"])["template"] == "greet@1"

    missing = call(api, "POST", "/api/v1/ai/chat", secret, json={"template": "greet", "variables": {}})
    assert missing.status_code == 400 and "name" in missing.json()["error"]["message"]
    both = call(api, "POST", "/api/v1/ai/chat", secret, json={"prompt": "hi", "template": "greet"})
    assert both.status_code == 400 and "not both" in both.json()["error"]["message"]


@pytest.mark.parametrize("path, body", [
    ("/api/v1/ai/chat", {"prompt": "hi"}),
    ("/api/v1/ai/chat/routed", {"prompt": "hi", "complexity": "simple"}),
    ("/api/v1/ai/completions", {"messages": [{"role": "user", "content": "hi"}]}),
])
def test_parleys_own_routes_record_the_calling_client(api, path, body):
    secret = api.make_key("alice")
    response = api.http.post(path, json=body, headers={"Authorization": f"Bearer {secret}",
                                                       "User-Agent": "curl/8.5.0"})
    assert response.status_code == 200, response.json()
    [row] = api.records()
    assert (row["client"], json.loads(row["metadata"])["client_version"]) == ("curl", "8.5.0")
