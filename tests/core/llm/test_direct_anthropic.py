"""The fast path's Anthropic wire (core/llm/direct_anthropic.py) against the emulator's
Anthropic protocol: for every kind of call it sends the body and headers LiteLLM's own path
sends, and reads the same answer, tokens and cost from it; every fault before the first text
goes back to the Router (retries, fallbacks), with the failed direct attempt recorded."""
from __future__ import annotations

import asyncio
import base64
import dataclasses

import pytest

from core import errors
from core.prompt_cache import CacheMarks
from tests.emulated import Collected, PROVIDER_MODELS, make_service, three_models
from tests.fakes import Fault, Reply, ToolCall
from tests.fakes.parts import png

CLAUDE = PROVIDER_MODELS["claude"]
WEATHER = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
PNG = base64.b64encode(png("fox")).decode()
SCHEMA = {"type": "json_schema", "json_schema": {"name": "city", "schema": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
HISTORY = [{"role": "user", "content": "What is the weather in Paris?"},
           {"role": "assistant", "content": None, "tool_calls": [
               {"id": "toolu_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
           {"role": "tool", "tool_call_id": "toolu_1", "content": "Sunny, 21 C"}]

# name: (the call's fields, what the emulator answers)
CASES = {
    "plain": (dict(prompt="Say something short", temperature=0.3, max_tokens=50), None),
    "system and history": (dict(prompt="And now?", system_prompt="Be brief.", history=[
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]), None),
    "a tool call": (dict(prompt="Weather in Paris?", tools=WEATHER, tool_choice="auto"),
                    Reply(text="", tool_calls=(ToolCall("get_weather", {"city": "Paris"}),))),
    "a tool result": (dict(prompt=None, history=HISTORY, tools=WEATHER), None),
    "an image": (dict(prompt="What is this?", attachments=[
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]), None),
    "prompt cache": (dict(prompt="About the long context", system_prompt="Context " * 40,
                          cache_marks=CacheMarks(system={"type": "ephemeral"},
                                                 turns={0: {"type": "ephemeral", "ttl": "1h"}})),
                     Reply(cached_tokens=20, cache_creation_tokens=12)),
    "thinking": (dict(prompt="Think it through", reasoning_effort="low", max_tokens=4096),
                 Reply(text="Done thinking", reasoning="First this then that")),
    "a json schema": (dict(prompt="Name a city", response_format=SCHEMA),
                      Reply(text='{"city": "Paris"}')),
    "stop sequences": (dict(prompt="Count to ten", stop=["five", "six"]), None),
    "usage only at the end": (dict(prompt="Say it"), Reply(usage_at_end=True)),
}
HEADERS = ("x-api-key", "anthropic-version", "anthropic-beta", "content-type")
SAME = ("content", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
        "reasoning_tokens", "reasoning", "cost", "price_known", "finish_reason", "tokens_estimated",
        "saved_cost")


def direct(sent) -> bool:
    """Was this request sent by the fast path (aiohttp), not LiteLLM's httpx client?"""
    return "aiohttp" in sent.headers.get("user-agent", "")


async def ask(service, stream: bool, fields: dict):
    fields = dict(fields)
    prompt = fields.pop("prompt")
    if not stream:
        return await service.generate(prompt, model="claude", **fields)
    items = [item async for item in service.stream(prompt, model="claude", **fields)]
    assert "".join(items[:-1]) == items[-1].content
    return items[-1]


def tools_of(result) -> list:
    return [{k: v for k, v in call.items() if k != "id"} for call in result.tool_calls or []]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("case", list(CASES))
async def test_what_is_sent_and_read_is_what_litellm_sends_and_reads(emulator, monkeypatch, case, stream):
    fields, reply = CASES[case]
    seen = {}
    for path in ("off", "on"):
        monkeypatch.setenv("PARLEY_FAST_PATH", path)
        emulator.reset()
        if reply:
            emulator.enqueue(CLAUDE, reply)
        service = make_service(emulator)
        try:
            result = await ask(service, stream, fields)
        finally:
            service.close()
        [sent] = emulator.requests
        assert direct(sent) is (path == "on")
        seen[path] = (sent, result)
    (litellm_sent, litellm_result), (sent, result) = seen["off"], seen["on"]
    assert sent.body == litellm_sent.body
    assert {h: sent.headers.get(h) for h in HEADERS} == {h: litellm_sent.headers.get(h) for h in HEADERS}
    assert {f: getattr(result, f) for f in SAME} == {f: getattr(litellm_result, f) for f in SAME}
    assert tools_of(result) == tools_of(litellm_result)
    assert result.ok and result.served_by == "claude" and not result.fallback_used
    if reply and reply.cached_tokens:  # each token class read, and priced at its own rate
        assert (result.cache_read_tokens, result.cache_write_tokens) == (20, 12)
    if reply and reply.usage_at_end:
        assert result.input_tokens > 0 and not result.tokens_estimated


@pytest.fixture
def recorded(emulator):
    """claude (its own timeout 2 s, so a hang is found quickly) falls back to gemini (the
    Router's 10 s, so a busy machine does not fail the fallback too)."""
    from core.config import build_settings
    from core.service import AIService

    models = [dataclasses.replace(m, litellm_params={**m.litellm_params, "timeout": 2})
              if m.name == "claude" else m for m in three_models(emulator)]
    settings = build_settings(tuple(models), {"num_retries": 1, "timeout": 10,
                                              "fallbacks": [{"claude": ["gemini"]}]},
                              {"default_model": "gemini"}, "test", {})
    recorder = Collected()
    service = AIService(settings, recorder=recorder)
    yield service, recorder
    service.close()


@pytest.mark.parametrize("kind", ["500", "529", "429", "401", "hang", "malformed", "cut"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_a_fault_before_the_first_text_falls_back(recorded, emulator, kind, stream):
    service, recorder = recorded
    emulator.set_default(CLAUDE, Fault(kind, retry_after=1, max_hang=30, after_pieces=0))
    result = await ask(service, stream, {"prompt": "Stream it"})
    assert result.ok and result.fallback_used and result.served_by == "gemini"
    assert result.content == "Echo: Stream it"
    claude_sent = [r for r in emulator.requests if r.protocol == "anthropic"]
    assert direct(claude_sent[0]) and all(r.outcome == Fault(kind).kind for r in claude_sent)
    if kind in ("hang", "401"):  # never retried (a timeout, a refused key): not sent again
        assert len(claude_sent) == 1
    records = [r for r in recorder.records if r.call_id.startswith(result.call_id)]
    failed = [r for r in records if r.status == "failure"]
    assert {r.model for r in failed} == {"claude"} and len(failed) >= 1
    assert [r.model for r in records if r.status == "success"] == ["gemini"]


async def test_a_prompt_over_the_context_window_is_not_sent_again(recorded, emulator):
    service, _ = recorded
    emulator.set_default(CLAUDE, Fault("context_length"))
    with pytest.raises(errors.ContextTooLongError):
        await service.generate("A very long prompt", model="claude")
    claude_sent = [r for r in emulator.requests if r.protocol == "anthropic"]
    assert len(claude_sent) == 1 and direct(claude_sent[0])


async def test_a_stream_cut_mid_answer_is_an_error_recorded_with_what_was_sent(recorded, emulator):
    service, recorder = recorded
    emulator.set_default(CLAUDE, Fault("cut", after_pieces=3, tokens_per_second=200))
    pieces = []
    with pytest.raises(errors.ProviderDownError, match="cut off"):
        async for item in service.stream("one two three four five six seven", model="claude"):
            pieces.append(item)
    assert pieces and all(isinstance(p, str) for p in pieces)  # text came, then the error
    assert len(emulator.requests) == 1 and direct(emulator.requests[0])  # no second try after text
    [record] = recorder.records
    assert record.status == "failure" and record.model == "claude" and record.response == "".join(pieces)


async def test_a_reader_that_hangs_up_is_recorded_as_abandoned_and_the_connection_dropped(recorded, emulator):
    service, recorder = recorded
    emulator.set_default(CLAUDE, Reply(" ".join(f"word{i}" for i in range(200)), tokens_per_second=100))
    stream = service.stream("A long one please", model="claude")
    first = await stream.__anext__()
    await stream.aclose()
    assert first
    [record] = recorder.records
    assert record.error_class == "abandoned" and record.output_tokens > 0
    assert record.response == first
    sent = emulator.requests[-1]
    assert direct(sent)
    for _ in range(100):  # the provider sees the connection close, and stops sending
        if sent.hung_up:
            break
        await asyncio.sleep(0.05)
    assert sent.hung_up


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_an_unknown_price_is_none_with_the_providers_tokens(emulator, stream):
    service = make_service(emulator, private=("anthropic/claude-acme-private", {}))
    try:
        if stream:
            result = [item async for item in service.stream("hi", model="private")][-1]
        else:
            result = await service.generate("hi", model="private")
    finally:
        service.close()
    sent = emulator.requests[-1]
    assert direct(sent) and sent.body["model"] == "claude-acme-private"
    assert result.cost is None and not result.price_known
    assert result.input_tokens == sent.usage.input_tokens and not result.tokens_estimated



async def test_building_a_request_leaves_the_calls_messages_as_they_were(emulator):
    """LiteLLM's transformations edit the messages they are given (an o-series system message
    becomes a user one, cache marks are dropped for OpenAI): the fast path gives them a copy,
    so a fallback and the record get the call's own messages."""
    import copy

    from core.llm.direct import DirectPath
    from core.llm.gateway import CallRequest

    messages = [{"role": "system", "content": [{"type": "text", "text": "Be brief.",
                                                "cache_control": {"type": "ephemeral"}}]},
                {"role": "user", "content": "hi"}]
    before = copy.deepcopy(messages)
    for model, base in (("openai/o3-mini", emulator.openai_base), ("openai/gpt-4.1-mini", emulator.openai_base),
                        (f"anthropic/{CLAUDE}", emulator.anthropic_base)):
        deployment = {"litellm_params": {"model": model, "api_key": "sk-test-0000", "api_base": base}}
        for stream in (False, True):
            await DirectPath.sending(deployment, CallRequest(model="m", messages=messages, call_id="c"),
                                     stream=stream)
            assert messages == before, model


async def test_a_request_litellm_cannot_build_fails_as_it_does_on_the_routers_path(emulator, monkeypatch):
    """An assistant turn whose tool call arguments are not JSON: LiteLLM's Anthropic
    transformation refuses it; the call fails with the same typed error either way."""
    history = [{"role": "user", "content": "Weather?"},
               {"role": "assistant", "content": None, "tool_calls": [
                   {"id": "toolu_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{not json"}}]},
               {"role": "tool", "tool_call_id": "toolu_1", "content": "Sunny"}]
    raised = {}
    for path in ("off", "on"):
        monkeypatch.setenv("PARLEY_FAST_PATH", path)
        recorder = Collected()
        service = make_service(emulator, recorder=recorder, router={"fallbacks": []})
        try:
            with pytest.raises(errors.ParleyError) as info:
                await service.generate(None, model="claude", history=history, tools=WEATHER)
        finally:
            service.close()
        raised[path] = type(info.value)
        assert [r.status for r in recorder.records] == ["failure"]
    assert raised["on"] is raised["off"]
