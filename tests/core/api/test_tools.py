"""Tool calling and structured output through /v1/chat/completions with the openai SDK: the
model's tool call comes back in OpenAI's shape, the tool result continues the conversation,
and a response schema is passed on and judged."""
from __future__ import annotations

import json

import pytest

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}


@pytest.fixture
def api(in_process):
    return in_process


@pytest.mark.parametrize("model", ["claude", "gemini", "gpt"])
def test_a_tool_call_and_its_result_round_trip(api, emulator, model):
    client = api.openai(api.make_key("quin"))
    messages = [{"role": "user", "content": "What is the weather in Oslo?"}]
    first = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER])

    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.function.name == "get_weather"
    assert "city" in json.loads(call.function.arguments)
    assert first.model_extra["parley"]["tool_calls_valid"] == [True]

    messages += [{"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
                 {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 degrees"}]
    second = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER])
    assert second.choices[0].finish_reason == "stop"
    assert "Sunny" in second.choices[0].message.content
    rows = api.records(2)
    assert {(r["user_id"], r["status"]) for r in rows} == {("quin", "success")}
    assert [r["tool_calls"] for r in rows] == [1, 0]


def test_a_streamed_tool_call_arrives_as_a_tool_calls_delta(api, emulator):
    client = api.openai(api.make_key("quin"))
    chunks = list(client.chat.completions.create(
        model="gpt", stream=True, tools=[WEATHER],
        messages=[{"role": "user", "content": "Weather in Rome?"}]))
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert [tc.function.name for tc in calls] == ["get_weather"]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


def test_a_response_schema_is_passed_on_and_judged(api, emulator):
    schema = {"type": "json_schema", "json_schema": {"name": "city", "schema": {
        "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}}
    reply = api.openai(api.make_key("quin")).chat.completions.create(
        model="gpt", response_format=schema, messages=[{"role": "user", "content": "A city?"}])
    assert "name" in json.loads(reply.choices[0].message.content)
    assert reply.model_extra["parley"]["json_valid"] is True


def test_a_bad_tool_definition_is_400(api, emulator):
    response = api.http.post("/v1/chat/completions", headers=api.headers(api.make_key()),
                             json={"model": "gpt", "tools": [{"type": "function"}],
                                   "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
    assert emulator.requests == []
