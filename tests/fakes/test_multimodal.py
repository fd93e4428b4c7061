"""The provider emulator beyond text, exercised through real LiteLLM calls in all three wire
protocols: attachments, tools and tool results, JSON mode, reasoning, cache usage, images out."""
from __future__ import annotations

import base64
import json
import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import jsonschema  # noqa: E402
import litellm  # noqa: E402
import pytest  # noqa: E402

from tests.fakes import ProviderEmulator, Reply, ToolCall  # noqa: E402
from tests.fakes.parts import png  # noqa: E402
from tests.fakes.script import IMAGE_TOKENS  # noqa: E402

PROTOCOLS = {
    "openai": ("openai/gpt-4.1-mini", "gpt-4.1-mini", "openai_base"),
    "anthropic": ("anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929", "anthropic_base"),
    "gemini": ("gemini/gemini-2.5-flash", "gemini-2.5-flash", "gemini_base"),
}
PNG = base64.b64encode(png("fox")).decode()
TWO_PAGE_PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj<</Type /Pages>>endobj\n2 0 obj<</Type /Page>>endobj\n"
                                b"3 0 obj<</Type /Page>>endobj\n%%EOF").decode()
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
           "required": ["city", "days"], "additionalProperties": False}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Forecast for a city",
                                           "parameters": WEATHER}},
         {"type": "function", "function": {"name": "get_time", "description": "Local time",
                                           "parameters": {"type": "object", "properties": {}}}}]
CITY = {"type": "object", "properties": {"name": {"type": "string"}, "population": {"type": "integer"},
                                         "coastal": {"type": "boolean"}},
        "required": ["name", "population", "coastal"], "additionalProperties": False}


@pytest.fixture(scope="module")
def emu():
    with ProviderEmulator() as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def fresh_script(emu):
    emu.reset()


def complete(emu, protocol: str, messages: list[dict], stream: bool = False, **kwargs):
    """One LiteLLM call; a stream is rebuilt into a response by LiteLLM's own chunk builder."""
    litellm_model, _model_id, base = PROTOCOLS[protocol]
    params = dict(model=litellm_model, messages=messages, api_base=getattr(emu, base), api_key="test-key",
                  num_retries=0, max_retries=0, drop_params=True, **kwargs)
    if not stream:
        return litellm.completion(**params)
    chunks = list(litellm.completion(**params, stream=True, stream_options={"include_usage": True}))
    return litellm.stream_chunk_builder(chunks, messages=messages)


def attachment_message() -> list[dict]:
    return [{"role": "user", "content": [
        {"type": "text", "text": "What is in these?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{TWO_PAGE_PDF}",
                                  "filename": "report.pdf"}}]}]


@pytest.mark.parametrize("stream", (False, True))
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_images_and_pdfs_are_seen_and_billed_as_image_tokens(emu, protocol, stream):
    response = complete(emu, protocol, attachment_message(), stream=stream)
    assert response.choices[0].message.content == "Echo: What is in these? [seen: image/png, application/pdf]"
    received = emu.requests[-1]
    assert received.usage.image_tokens == 3 * IMAGE_TOKENS  # one image, two PDF pages
    assert response.usage.prompt_tokens == received.usage.input_tokens == 4 + 4 + 3 * IMAGE_TOKENS
    if protocol == "gemini":  # the one protocol that splits the prompt by modality
        assert response.usage.prompt_tokens_details.image_tokens == 3 * IMAGE_TOKENS


@pytest.mark.parametrize("stream", (False, True))
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_offered_tools_are_called_with_arguments_valid_against_the_schema(emu, protocol, stream):
    messages = [{"role": "user", "content": "Weather in Paris this week?"}]
    response = complete(emu, protocol, messages, stream=stream, tools=TOOLS, tool_choice="auto")
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.function.name == "get_weather" and call.id
    arguments = json.loads(call.function.arguments)
    jsonschema.validate(arguments, WEATHER)
    assert arguments == {"city": "Weather in Paris this week?", "days": 1}
    assert emu.requests[-1].usage.output_tokens == response.usage.completion_tokens == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_scripted_tool_calls_and_a_forced_or_refused_tool(emu, protocol):
    model_id = PROTOCOLS[protocol][1]
    messages = [{"role": "user", "content": "Plan my day"}]
    emu.enqueue(model_id, Reply("Checking both.", tool_calls=(ToolCall("get_time", {}),
                                                              ToolCall("get_weather", {"city": "Oslo", "days": 2}))))
    response = complete(emu, protocol, messages, tools=TOOLS)
    assert response.choices[0].message.content == "Checking both."
    assert [(c.function.name, json.loads(c.function.arguments)) for c in response.choices[0].message.tool_calls] == [
        ("get_time", {}), ("get_weather", {"city": "Oslo", "days": 2})]
    forced = complete(emu, protocol, messages, tools=TOOLS,
                      tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert [c.function.name for c in forced.choices[0].message.tool_calls] == ["get_time"]
    refused = complete(emu, protocol, messages, tools=TOOLS, tool_choice="none")
    assert not refused.choices[0].message.tool_calls
    assert refused.choices[0].message.content == "Echo: Plan my day"


@pytest.mark.parametrize("stream", (False, True))
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_tool_result_reaches_the_model_in_the_follow_up_turn(emu, protocol, stream):
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    first = complete(emu, protocol, messages, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    messages += [{"role": "assistant", "content": None, "tool_calls": [
                     {"id": call.id, "type": "function",
                      "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
                 {"role": "tool", "tool_call_id": call.id, "content": "sunny and 21 C"}]
    final = complete(emu, protocol, messages, stream=stream, tools=TOOLS)
    assert final.choices[0].message.content == "Echo: get_weather returned sunny and 21 C"
    assert not final.choices[0].message.tool_calls
    assert emu.requests[-1].usage.output_tokens == 7


@pytest.mark.parametrize("stream", (False, True))
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_json_schema_mode_answers_a_valid_instance(emu, protocol, stream):
    messages = [{"role": "user", "content": "A city by the sea"}]
    response_format = {"type": "json_schema", "json_schema": {"name": "city", "schema": CITY, "strict": True}}
    response = complete(emu, protocol, messages, stream=stream, response_format=response_format)
    answer = json.loads(response.choices[0].message.content)
    jsonschema.validate(answer, CITY)
    assert answer["name"] == "Echo: A city by the sea"


@pytest.mark.parametrize("protocol", ("openai", "gemini"))
def test_json_object_mode_answers_json(emu, protocol):
    response = complete(emu, protocol, [{"role": "user", "content": "Anything"}],
                        response_format={"type": "json_object"})
    assert json.loads(response.choices[0].message.content) == {"echo": "Echo: Anything"}


@pytest.mark.parametrize("stream", (False, True))
@pytest.mark.parametrize("protocol", ("anthropic", "gemini"))
def test_thinking_text_and_tokens_come_back_when_asked(emu, protocol, stream):
    messages = [{"role": "user", "content": "Why is the sea salty?"}]
    emu.enqueue(PROTOCOLS[protocol][1], Reply("Rivers carry salts.", reasoning="Rocks weather; rivers carry ions."))
    response = complete(emu, protocol, messages, stream=stream, reasoning_effort="low")
    message = response.choices[0].message
    assert message.content == "Rivers carry salts."
    assert message.reasoning_content == "Rocks weather; rivers carry ions."
    billed = emu.requests[-1].usage
    assert (billed.reasoning_tokens, billed.output_tokens) == (5, 8)
    assert response.usage.completion_tokens == 8
    details = response.usage.completion_tokens_details
    if protocol == "gemini":  # thoughtsTokenCount is exact; Anthropic's is LiteLLM's estimate
        assert details.reasoning_tokens == 5
    else:
        assert 0 < details.reasoning_tokens <= 8  # capped at the output it is part of


@pytest.mark.parametrize("protocol", ("anthropic", "gemini"))
def test_default_thinking_text_echoes_the_question(emu, protocol):
    response = complete(emu, protocol, [{"role": "user", "content": "Why?"}], reasoning_effort="low")
    assert response.choices[0].message.reasoning_content == "Thinking about: Why?"
    plain = complete(emu, protocol, [{"role": "user", "content": "Why?"}])
    assert not plain.choices[0].message.get("reasoning_content")


def test_openai_reasoning_model_reports_reasoning_tokens_without_text(emu):
    emu.enqueue("o4-mini", Reply("42", input_tokens=30, cached_tokens=20, reasoning_tokens=64))
    response = litellm.completion(model="openai/o4-mini", messages=[{"role": "user", "content": "Answer?"}],
                                  api_base=emu.openai_base, api_key="k", reasoning_effort="high")
    assert emu.requests[-1].body["reasoning_effort"] == "high"
    usage = response.usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (30, 65)
    assert usage.completion_tokens_details.reasoning_tokens == 64
    assert usage.prompt_tokens_details.cached_tokens == 20
    assert not response.choices[0].message.get("reasoning_content")


@pytest.mark.parametrize("stream", (False, True))
def test_anthropic_cache_reads_and_writes_reach_litellm_apart(emu, stream):
    emu.enqueue(PROTOCOLS["anthropic"][1], Reply("ok", input_tokens=5000, cached_tokens=3000,
                                                 cache_creation_tokens=1500))
    messages = [{"role": "user", "content": [{"type": "text", "text": "long document",
                                              "cache_control": {"type": "ephemeral"}}]}]
    usage = complete(emu, "anthropic", messages, stream=stream).usage
    assert emu.requests[-1].body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert usage.prompt_tokens == 5000
    assert usage.prompt_tokens_details.cached_tokens == 3000
    assert usage.cache_creation_input_tokens == 1500
    assert usage.cache_read_input_tokens == 3000


@pytest.mark.parametrize("stream", (False, True))
def test_gemini_cached_content_and_thoughts_reach_litellm(emu, stream):
    emu.enqueue("gemini-2.5-flash", Reply("ok then", input_tokens=4000, cached_tokens=2500, reasoning_tokens=300))
    usage = complete(emu, "gemini", [{"role": "user", "content": "hi"}], stream=stream).usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (4000, 302)
    assert usage.prompt_tokens_details.cached_tokens == 2500
    assert usage.completion_tokens_details.reasoning_tokens == 300


def test_openai_image_generation_answers_pngs_with_token_usage(emu):
    emu.enqueue("gpt-image-1", Reply("a red fox, studio light"))
    response = litellm.image_generation(prompt="a red fox", model="openai/gpt-image-1", api_base=emu.openai_base,
                                        api_key="k", n=2, size="1024x1024", quality="low")
    assert emu.requests[-1].body == {"prompt": "a red fox", "model": "gpt-image-1", "n": 2, "quality": "low",
                                     "size": "1024x1024"}
    assert len(response.data) == 2 and response.data[0].revised_prompt == "a red fox, studio light"
    images = [base64.b64decode(item.b64_json) for item in response.data]
    assert all(image.startswith(b"\x89PNG\r\n\x1a\n") for image in images) and images[0] != images[1]
    assert (response.usage.input_tokens, response.usage.output_tokens) == (3 + 4, 2 * 272)


def test_imagen_predict_answers_one_png_per_sample(emu):
    response = litellm.image_generation(prompt="a lighthouse", model="gemini/imagen-3.0-generate-001",
                                        api_base=emu.gemini_base, api_key="k", n=3)
    received = emu.requests[-1]
    assert received.path.endswith("/models/imagen-3.0-generate-001:predict")
    assert received.body["parameters"]["sampleCount"] == 3
    assert len(response.data) == 3
    assert base64.b64decode(response.data[2].b64_json).startswith(b"\x89PNG")


def test_gemini_image_model_answers_inline_pictures_billed_as_image_tokens(emu):
    response = litellm.image_generation(prompt="a red fox", model="gemini/gemini-2.5-flash-image",
                                        api_base=emu.gemini_base, api_key="k")
    received = emu.requests[-1]
    assert received.path.endswith("/models/gemini-2.5-flash-image:generateContent")
    assert received.body["generationConfig"]["response_modalities"] == ["IMAGE", "TEXT"]
    assert len(response.data) == 1 and base64.b64decode(response.data[0].b64_json).startswith(b"\x89PNG")
    assert response.usage.output_tokens == 1290 and response.usage.output_tokens_details["image_tokens"] == 1290
