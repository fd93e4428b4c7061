"""The official openai SDK, pointed at Parley with a key, completes and streams on emulated
Anthropic, Gemini and OpenAI models; each call is recorded with the key's user, the service
type, tokens and cost. Run against the routes in-process, under ``serve`` and in Streamlit."""
from __future__ import annotations

import pytest

from tests.fakes import Reply

MODELS = {"claude": "claude-sonnet-4-5-20250929", "gemini": "gemini-2.5-flash",
          "gpt": "gpt-4.1-mini"}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_completion_is_answered_and_recorded_for_the_key(gateway, emulator, model):
    emulator.enqueue(MODELS[model], Reply("Paris is the capital.", input_tokens=12, output_tokens=5))
    secret = gateway.make_key("alice", service_type="xray")
    client = gateway.openai(secret)

    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "system", "content": "Be brief."},
                               {"role": "user", "content": "Capital of France?"}])
    reply = raw.parse()

    assert reply.choices[0].message.content == "Paris is the capital."
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (12, 5)
    assert reply.model == model
    call_id = raw.headers["x-parley-call-id"]
    assert raw.headers["x-parley-served-by"] == model
    assert float(raw.headers["x-parley-cost"]) > 0
    [row] = [r for r in gateway.records() if r["litellm_call_id"] == call_id]
    assert (row["user_id"], row["service_type"], row["model"], row["status"]) == \
        ("alice", "xray", model, "success")
    assert (row["input_tokens"], row["output_tokens"]) == (12, 5)
    assert row["total_cost"] == pytest.approx(float(raw.headers["x-parley-cost"]))
    assert row["key_id"]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_stream_arrives_in_openai_chunks_with_usage(gateway, emulator, model):
    emulator.enqueue(MODELS[model], Reply("one two three four", input_tokens=9, output_tokens=4))
    secret = gateway.make_key("bob")
    client = gateway.openai(secret)

    chunks = list(client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Count"}], stream=True,
        stream_options={"include_usage": True}, extra_headers={"x-parley-service": "answer_builder"}))

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (9, 4)
    rows = gateway.records()
    assert [(r["user_id"], r["service_type"], r["model"], r["output_tokens"]) for r in rows] == \
        [("bob", "answer_builder", model, 4)]
    assert rows[0]["total_cost"] > 0


def test_a_stream_answered_by_a_fallback_names_it_from_the_first_byte(gateway, emulator):
    """claude fails before its first token; gemini (its fallback) answers. The headers,
    sent with the first chunk, already name gemini, and so does every chunk."""
    from tests.fakes import Fault

    emulator.set_default(MODELS["claude"], Fault("503"))
    emulator.enqueue(MODELS["gemini"], Reply("from the fallback"))
    secret = gateway.make_key("dora")
    client = gateway.openai(secret)

    raw = client.chat.completions.with_raw_response.create(
        model="claude", messages=[{"role": "user", "content": "hi"}], stream=True)
    chunks = list(raw.parse())

    assert raw.headers["x-parley-served-by"] == "gemini"
    assert {c.model for c in chunks} == {"gemini"}
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "from the fallback"


def test_no_model_means_the_key_owners_preference(gateway, emulator):
    secret = gateway.make_key("carol")
    http = gateway.http
    set_pref = http.post(f"{gateway.base_url}/api/ai/preference", headers=gateway.headers(secret),
                         json={"model": "claude"})
    assert set_pref.status_code == 200, set_pref.text
    assert set_pref.json()["model"] == "claude"

    reply = http.post(f"{gateway.base_url}/v1/chat/completions", headers=gateway.headers(secret),
                      json={"messages": [{"role": "user", "content": "hi"}]})

    assert reply.status_code == 200, reply.text
    assert reply.headers["x-parley-served-by"] == "claude"
    assert emulator.requests[-1].model == MODELS["claude"]
