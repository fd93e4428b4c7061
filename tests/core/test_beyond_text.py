"""AIService beyond text, through LiteLLM and the provider emulator: attachments, tools and tool
results, structured output, reasoning; bad input refused before anything is sent or recorded."""
from __future__ import annotations

import base64
import json

import pytest

from core.attachments import MAX_IMAGE_BYTES
from core.errors import BadRequestError
from tests.emulated import Collected, make_service
from tests.fakes import Reply, ToolCall
from tests.fakes.parts import png

EXTRA = {"o3": ("openai/o3-mini", {}), "o3-seeing": ("openai/o3-mini", {"supports_vision": True})}
PNG = png("fox")
PDF = b"%PDF-1.4\n1 0 obj<</Type /Page>>endobj\n%%EOF"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Forecast for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                   "required": ["city", "days"]}}}
CITY = {"type": "json_schema", "json_schema": {"name": "city", "schema": {
    "type": "object", "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["name", "population"]}}}


def image_part(data: bytes = PNG, media_type: str = "image/png") -> dict:
    return {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{base64.b64encode(data).decode()}"}}


def pdf_part(data: bytes = PDF) -> dict:
    return {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{base64.b64encode(data).decode()}",
                                     "filename": "report.pdf"}}


@pytest.fixture
def svc(emulator):
    recorder = Collected()
    service = make_service(emulator, recorder=recorder, **EXTRA)
    service.recorded = recorder.records
    yield service
    service.close()


@pytest.mark.parametrize("model", ["claude", "gemini", "gpt"])
async def test_an_image_and_a_pdf_reach_the_model(svc, emulator, model):
    result = await svc.generate("What is in these?", model=model, attachments=[image_part(), pdf_part()])
    assert result.content == "Echo: What is in these? [seen: image/png, application/pdf]"
    assert result.input_tokens == emulator.requests[-1].usage.input_tokens == 4 + 4 + 2 * 258
    [record] = svc.recorded
    parts = record.messages[-1]["content"]
    assert parts[0] == {"type": "text", "text": "What is in these?"}
    assert parts[1]["attachment"].startswith("image/png, ") and "base64" not in json.dumps(record.messages)


async def test_a_model_that_cannot_see_is_refused_before_anything_is_sent(svc, emulator):
    with pytest.raises(BadRequestError, match="o3 cannot read images; pick a model that can"):
        await svc.generate("What is this?", model="o3", attachments=[image_part()])
    assert emulator.requests == [] and svc.recorded == []
    seeing = await svc.generate("What is this?", model="o3-seeing", attachments=[image_part()])
    assert seeing.content.endswith("[seen: image/png]")  # model_info overrides the cost map


async def test_compare_says_which_column_cannot_see(svc, emulator):
    results = await svc.compare("Describe it", ["claude", "gemini", "o3"], attachments=[image_part()])
    assert [r.content for r in results[:2]] == ["Echo: Describe it [seen: image/png]"] * 2
    assert results[2].error.startswith("o3 cannot read images")
    assert len(emulator.requests) == 2


@pytest.mark.parametrize("attachments, message", [
    ([image_part()] * 5, "Attach at most 4 images, not 5."),
    ([pdf_part(), pdf_part()], "Attach at most one PDF."),
    ([image_part(b"PK\x03\x04 not an image")], "image 1 is not a PNG, JPEG, WebP, GIF or PDF file."),
    ([image_part(PNG + b"\0" * MAX_IMAGE_BYTES)], "image 1 is 5.0 MB; an image may be at most 5 MB."),
    ([{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}],
     "Attachment 1 must carry its data as a base64 data: URL; Parley does not fetch remote files."),
    ([{"type": "input_audio"}], "Attachment 1 must be an OpenAI content part of type image_url or file."),
])
async def test_bad_attachments_get_one_sentence_and_change_nothing(svc, emulator, attachments, message):
    with pytest.raises(BadRequestError) as caught:
        await svc.generate("Look", model="claude", attachments=attachments)
    assert str(caught.value) == message
    assert emulator.requests == [] and svc.recorded == []


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
