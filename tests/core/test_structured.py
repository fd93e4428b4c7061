"""Tools, tool results, structured output and reasoning through AIService, LiteLLM and the provider
emulator: tool calls validated against their schemas, answers marked valid or not, thinking text
returned; bad options refused before anything is sent."""
from __future__ import annotations

import base64
import json

import pytest

from core.errors import BadRequestError
from tests.emulated import Collected, make_service
from tests.fakes import Reply, ToolCall
from tests.fakes.parts import png

PNG = png("fox")
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Forecast for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                   "required": ["city", "days"]}}}
CITY = {"type": "json_schema", "json_schema": {"name": "city", "schema": {
    "type": "object", "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["name", "population"]}}}


def image_part(data: bytes = PNG, media_type: str = "image/png") -> dict:
    return {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{base64.b64encode(data).decode()}"}}


@pytest.fixture
def svc(emulator):
    recorder = Collected()
    service = make_service(emulator, recorder=recorder)
    service.recorded = recorder.records
    yield service
    service.close()


@pytest.mark.parametrize("stream", (False, True))
@pytest.mark.parametrize("model", ["claude", "gemini", "gpt"])
async def test_tool_calls_come_back_validated_and_a_result_continues_the_turn(svc, emulator, model, stream):
    result = await answer(svc, "Weather in Paris?", stream, model=model, tools=[WEATHER])
    [call] = result.tool_calls
    assert (call["name"], call["arguments"], call["valid"], call["errors"]) == (
        "get_weather", {"city": "Weather in Paris?", "days": 1}, True, [])
    assert svc.recorded[-1].tool_calls == 1
    history = [{"role": "user", "content": "Weather in Paris?"},
               {"role": "assistant", "content": None, "tool_calls": [
                   {"id": call["id"], "type": "function",
                    "function": {"name": "get_weather", "arguments": json.dumps(call["arguments"])}}]},
               {"role": "tool", "tool_call_id": call["id"], "content": "sunny, 21 C"}]
    final = await answer(svc, None, stream, model=model, tools=[WEATHER], history=history)
    assert final.content == "Echo: get_weather returned sunny, 21 C"
    assert final.tool_calls == [] and svc.recorded[-1].tool_calls == 0


async def test_arguments_that_break_the_schema_are_marked_invalid(svc, emulator):
    emulator.enqueue("gpt-4.1-mini", Reply(tool_calls=(ToolCall("get_weather", {"city": 7}),
                                                       ToolCall("launch_rockets", {}))))
    result = await svc.generate("Weather?", model="gpt", tools=[WEATHER])
    weather, rockets = result.tool_calls
    assert not weather["valid"] and weather["errors"] == ["(answer): 'days' is a required property",
                                                          "city: 7 is not of type 'string'"]
    assert not rockets["valid"] and rockets["errors"] == ["The model called 'launch_rockets', a tool it was "
                                                          "not offered."]


@pytest.mark.parametrize("model", ["claude", "gemini", "gpt"])
async def test_structured_answers_are_marked_valid_or_not(svc, emulator, model):
    good = await svc.generate("A city", model=model, response_format=CITY)
    assert json.loads(good.content) == {"name": "Echo: A city", "population": 1}
    assert (good.json_valid, good.json_errors) == (True, [])
    emulator.enqueue(emulator.requests[-1].model, Reply('{"name": "Oslo"}'))
    bad = await svc.generate("A city", model=model, response_format=CITY)
    assert (bad.json_valid, bad.json_errors) == (False, ["(answer): 'population' is a required property"])
    emulator.enqueue(emulator.requests[-1].model, Reply("Oslo, I think"))
    prose = await svc.generate("A city", model=model, response_format=CITY)
    assert (prose.json_valid, prose.json_errors) == (False, ["The answer is not JSON."])
    plain = await svc.generate("A city", model=model)
    assert plain.json_valid is None


@pytest.mark.parametrize("model", ["claude", "gemini"])
async def test_reasoning_effort_brings_back_the_thinking_text(svc, emulator, model):
    result = await svc.generate("Why is the sea salty?", model=model, reasoning_effort="low")
    assert result.reasoning == "Thinking about: Why is the sea salty?"
    assert result.reasoning_tokens and svc.recorded[-1].reasoning_tokens == result.reasoning_tokens
    assert result.to_json()["reasoning"] == result.reasoning


@pytest.mark.parametrize("options, message", [
    ({"tools": [{"type": "function", "function": {"name": "bad name!"}}]}, "must be 1-64 letters"),
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "an offered tool"),
    ({"tool_choice": "auto"}, "tool_choice needs tools"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "banana"}}}},
     "not a valid JSON schema"),
    ({"reasoning_effort": "extreme"}, "reasoning_effort must be one of"),
])
async def test_bad_structured_options_are_refused(svc, emulator, options, message):
    with pytest.raises(BadRequestError, match=message):
        await svc.generate("Hi", model="gpt", **options)
    assert emulator.requests == []


async def test_unknown_keyword_arguments_are_still_rejected(svc):
    with pytest.raises(TypeError):
        await svc.generate("Hi", model="gpt", attachment=[image_part()])
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        async for _ in svc.stream("Hi", model="gpt", tool=[WEATHER]):
            pass


async def answer(svc, prompt, stream: bool, **kwargs):
    if not stream:
        return await svc.generate(prompt, **kwargs)
    items = [item async for item in svc.stream(prompt, **kwargs)]
    return items[-1]
