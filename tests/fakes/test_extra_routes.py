"""The emulator's routes beyond chat, through the real SDKs and LiteLLM: the Responses API
(plain, streamed, function calls), embeddings, legacy completions and Anthropic count_tokens."""
from __future__ import annotations

import json

import pytest

from tests.fakes import Reply

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

TOOL = {"type": "function", "name": "lookup", "parameters": {
    "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}


def _openai(emulator):
    return openai.OpenAI(base_url=emulator.openai_base, api_key="sk-test", max_retries=0)


def test_responses_plain_streamed_and_with_a_function_call(emulator):
    api = _openai(emulator)
    plain = api.responses.create(model="gpt-4.1-mini", instructions="Be brief.", input="hello there")
    assert plain.output_text.startswith("Echo") and plain.usage.input_tokens > 0
    events = list(api.responses.create(model="gpt-4.1-mini", input="hello there", stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == plain.output_text
    called = api.responses.create(model="gpt-4.1-mini", input="find cats", tools=[TOOL])
    [call] = [i for i in called.output if i.type == "function_call"]
    assert call.name == "lookup" and "q" in json.loads(call.arguments)
    after = api.responses.create(model="gpt-4.1-mini", tools=[TOOL], input=[
        {"role": "user", "content": "find cats"},
        {"type": "function_call", "call_id": call.call_id, "name": "lookup", "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "three cats"}])
    assert "lookup returned three cats" in after.output_text


def test_litellm_responses_reaches_the_emulator(emulator):
    import litellm

    response = litellm.responses(model="openai/gpt-4.1-mini", input="hello there",
                                 api_base=emulator.openai_base, api_key="sk-test")
    assert response.output[0].content[0].text.startswith("Echo")


def test_embeddings_are_deterministic_and_counted(emulator):
    api = _openai(emulator)
    first = api.embeddings.create(model="text-embedding-3-small", input=["a cat", "a dog"])
    again = api.embeddings.create(model="text-embedding-3-small", input="a cat", dimensions=8)
    assert len(first.data) == 2 and len(first.data[0].embedding) == 8
    assert first.data[0].embedding == again.data[0].embedding != first.data[1].embedding
    assert first.usage.prompt_tokens > 0


def test_legacy_completions_plain_and_streamed(emulator):
    api = _openai(emulator)
    plain = api.completions.create(model="gpt-3.5-turbo-instruct", prompt="say hi")
    assert plain.choices[0].text and plain.usage.completion_tokens > 0
    pieces = [c.choices[0].text for c in api.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="say hi", stream=True) if c.choices]
    assert "".join(pieces) == plain.choices[0].text


def test_anthropic_count_tokens(emulator):
    api = anthropic.Anthropic(base_url=emulator.anthropic_base, api_key="sk-ant-test", max_retries=0)
    counted = api.messages.count_tokens(model="claude-sonnet-4-5", messages=[
        {"role": "user", "content": "one two three four"}])
    assert counted.input_tokens >= 4
    emulator.enqueue("claude-sonnet-4-5", Reply(input_tokens=77))
    assert api.messages.count_tokens(model="claude-sonnet-4-5", messages=[
        {"role": "user", "content": "x"}]).input_tokens == 77
