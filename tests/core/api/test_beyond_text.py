"""The official openai SDK through Parley's API beyond text: an image part reaches the model (and
a model that cannot see is refused), tools come back as tool calls (also streamed) and a tool
result continues the turn, a JSON schema answer is judged, and images are generated, priced
and recorded as kind=image for the key."""
from __future__ import annotations

import base64
import json

import openai
import pytest

from tests.core.api.conftest import ENV_KEYS, serve_in_process
from tests.emulated import write_config
from tests.fakes.parts import png

PICTURE = "data:image/png;base64," + base64.b64encode(png("fox")).decode()
WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                          "required": ["city"]}}}]


@pytest.fixture
def api(emulator, tmp_path, monkeypatch):
    extra = [{"model_name": "imagen", "litellm_params": {
                  "model": "gemini/imagen-3.0-generate-001", "api_key": "os.environ/GEMINI_API_KEY",
                  "api_base": emulator.gemini_base}},
             {"model_name": "blind", "litellm_params": {
                  "model": "openai/o3-mini", "api_key": "os.environ/OPENAI_API_KEY",
                  "api_base": emulator.openai_base}}]
    config = write_config(emulator, tmp_path / "parley.yaml", extra=extra,
                          parley={"default_model": "gemini", "privacy": "store"})
    env = {**ENV_KEYS, "PARLEY_CONFIG": str(config), "PARLEY_DATA_DIR": str(tmp_path / ".parley")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield from serve_in_process(env)


@pytest.mark.parametrize("model", ["claude", "gemini", "gpt"])
def test_an_image_part_reaches_the_model(api, model):
    client = api.openai(api.make_key("alice"))
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": PICTURE}}]}])
    assert reply.choices[0].message.content == "Echo: What is this? [seen: image/png]"
    [row] = api.records()
    assert "base64" not in row["messages"] and "image/png" in row["messages"]


def test_a_model_that_cannot_see_is_refused_in_a_sentence(api):
    client = api.openai(api.make_key("alice"))
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="blind", messages=[{"role": "user", "content": [
            {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": PICTURE}}]}])
    assert "blind cannot read images" in caught.value.message


@pytest.mark.parametrize("stream", (False, True))
@pytest.mark.parametrize("model", ["claude", "gemini", "gpt"])
def test_a_tool_is_called_and_its_result_continues_the_turn(api, model, stream):
    client = api.openai(api.make_key("alice"))
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    if stream:
        chunks = list(client.chat.completions.create(model=model, messages=messages, tools=WEATHER, stream=True))
        [delta] = [c.choices[0].delta for c in chunks if c.choices and c.choices[0].delta.tool_calls]
        call = delta.tool_calls[0]
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    else:
        reply = client.chat.completions.create(model=model, messages=messages, tools=WEATHER)
        assert reply.choices[0].finish_reason == "tool_calls" and reply.choices[0].message.content is None
        call = reply.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Weather in Paris?"})
    messages += [{"role": "assistant", "content": None, "tool_calls": [
                     {"id": call.id, "type": "function",
                      "function": {"name": "get_weather", "arguments": call.function.arguments}}]},
                 {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"}]
    final = client.chat.completions.create(model=model, messages=messages, tools=WEATHER)
    assert final.choices[0].message.content == "Echo: get_weather returned sunny, 21 C"
    rows = api.records(expected=2)
    assert [r["tool_calls"] for r in rows] == [1, 0]


def test_a_schema_answer_is_judged(api):
    client = api.openai(api.make_key("alice"))
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    raw = client.chat.completions.with_raw_response.create(
        model="gpt", messages=[{"role": "user", "content": "A city"}],
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}})
    assert json.loads(raw.parse().choices[0].message.content) == {"city": "Echo: A city"}
    assert raw.http_response.json()["parley"]["json_valid"] is True


def test_images_are_generated_priced_and_recorded_for_the_key(api):
    client = api.openai(api.make_key("bob"))
    raw = client.images.with_raw_response.generate(model="imagen", prompt="a lighthouse", n=2)
    images = raw.parse()
    assert len(images.data) == 2 and base64.b64decode(images.data[0].b64_json).startswith(b"\x89PNG")
    assert float(raw.headers["x-parley-cost"]) == pytest.approx(0.08)
    [row] = api.records()
    assert (row["user_id"], row["kind"], row["model"], row["key_id"] is not None) == ("bob", "image", "imagen", True)
    assert row["total_cost"] == pytest.approx(0.08)
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="gpt", prompt="a lighthouse")
    assert "gpt does not make images" in caught.value.message


def test_an_image_and_a_tool_behave_the_same_in_process_served_and_in_streamlit(gateway):
    client = gateway.openai(gateway.make_key("alice"))
    seen = client.chat.completions.create(model="claude", messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": PICTURE}}]}])
    assert seen.choices[0].message.content == "Echo: What is this? [seen: image/png]"
    called = client.chat.completions.create(model="gemini", tools=WEATHER,
                                            messages=[{"role": "user", "content": "Weather in Oslo?"}])
    assert called.choices[0].message.tool_calls[0].function.name == "get_weather"
