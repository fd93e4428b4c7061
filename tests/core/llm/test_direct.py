"""The same-protocol fast path (core/llm/direct.py) against the emulator's OpenAI protocol:
what it sends is what LiteLLM would, what it reads is what the provider said, and every
fault before the first text goes back to the Router (retries, fallbacks), with the failed
direct attempt recorded."""
from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from core import errors
from tests.emulated import Collected, PROVIDER_MODELS, make_service, three_models
from tests.fakes import Fault, Reply, ToolCall

GPT = PROVIDER_MODELS["gpt"]
WEATHER = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def direct(sent) -> bool:
    """Was this request sent by the fast path? (The openai SDK, LiteLLM's way, names itself
    in x-stainless-* headers.)"""
    return not any(name.startswith("x-stainless") for name in sent.headers)


@pytest.fixture
def recorded(emulator):
    """gpt (its own timeout 2 s, so a hang is found quickly) falls back to gemini (the Router's
    10 s, so a busy machine does not fail the fallback too)."""
    from core.config import build_settings
    from core.service import AIService

    models = [dataclasses.replace(m, litellm_params={**m.litellm_params, "timeout": 2})
              if m.name == "gpt" else m for m in three_models(emulator)]
    settings = build_settings(tuple(models), {"num_retries": 1, "timeout": 10,
                                              "fallbacks": [{"gpt": ["gemini"]}]},
                              {"default_model": "gemini"}, "test", {})
    recorder = Collected()
    service = AIService(settings, recorder=recorder)
    yield service, recorder
    service.close()


@pytest.mark.parametrize("stream", [False, True])
async def test_an_openai_deployment_is_called_directly_and_priced_from_its_usage(recorded, emulator, stream):
    service, recorder = recorded
    if stream:
        items = [item async for item in service.stream("Say something short", model="gpt",
                                                       temperature=0.3, max_tokens=50)]
        result = items[-1]
        assert "".join(items[:-1]) == result.content
    else:
        result = await service.generate("Say something short", model="gpt", temperature=0.3,
                                        max_tokens=50)
    sent = emulator.requests[-1]
    assert direct(sent) and sent.stream is stream
    assert sent.body["temperature"] == 0.3 and sent.body["max_tokens"] == 50
    assert sent.body["model"] == GPT and sent.headers["authorization"].startswith("Bearer sk-test")
    if stream:  # usage asked for, and read from the last chunk only
        assert sent.body["stream_options"] == {"include_usage": True}
    assert result.content == sent.text
    assert (result.input_tokens, result.output_tokens) == (sent.usage.input_tokens,
                                                           sent.usage.output_tokens)
    assert not result.tokens_estimated and result.price_known and result.cost > 0
    import litellm

    prompt, completion = litellm.cost_per_token(model=GPT, prompt_tokens=sent.usage.input_tokens,
                                                completion_tokens=sent.usage.output_tokens)
    assert result.cost == pytest.approx(prompt + completion, rel=1e-12)
    [record] = recorder.records
    assert record.call_id == result.call_id and record.status == "success" and record.total_cost == result.cost


async def test_the_router_path_is_the_baseline_when_the_fast_path_is_off(emulator, monkeypatch):
    monkeypatch.setenv("PARLEY_FAST_PATH", "off")
    service = make_service(emulator)
    try:
        result = await service.generate("hi", model="gpt")
    finally:
        service.close()
    assert result.ok and not direct(emulator.requests[-1])


async def test_cached_and_reasoning_tokens_are_read_from_the_stream(recorded, emulator):
    service, _ = recorded
    emulator.enqueue(GPT, Reply("Thought it through", cached_tokens=3, reasoning_tokens=4))
    items = [item async for item in service.stream("Think", model="gpt", reasoning_effort="low")]
    result = items[-1]
    assert direct(emulator.requests[-1])
    assert result.cache_read_tokens == 3 and result.reasoning_tokens == 4


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_calls_arrive_whole(recorded, emulator, stream):
    service, _ = recorded
    emulator.enqueue(GPT, Reply(text="", tool_calls=(ToolCall("get_weather", {"city": "Paris"}),)))
    kwargs = {"model": "gpt", "tools": WEATHER}
    if stream:
        result = [item async for item in service.stream("Weather in Paris?", **kwargs)][-1]
    else:
        result = await service.generate("Weather in Paris?", **kwargs)
    assert direct(emulator.requests[-1]) and emulator.requests[-1].body["tools"] == WEATHER
    [call] = result.tool_calls
    arguments = call["arguments"]
    assert call["name"] == "get_weather"
    assert (json.loads(arguments) if isinstance(arguments, str) else arguments) == {"city": "Paris"}
    assert call["valid"] is True


@pytest.mark.parametrize("kind", ["500", "503", "429", "401", "hang", "malformed", "cut"])
@pytest.mark.parametrize("stream", [False, True])
async def test_a_fault_before_the_first_text_falls_back(recorded, emulator, kind, stream):
    service, recorder = recorded
    emulator.set_default(GPT, Fault(kind, retry_after=1, max_hang=30, after_pieces=0))
    if stream:
        items = [item async for item in service.stream("Stream it", model="gpt")]
        result = items[-1]
        assert "".join(items[:-1]) == result.content
    else:
        result = await service.generate("Stream it", model="gpt")
    assert result.ok and result.fallback_used and result.served_by == "gemini"
    assert result.content == "Echo: Stream it"
    openai_sent = [r for r in emulator.requests if r.protocol == "openai"]
    assert direct(openai_sent[0]) and all(r.outcome == Fault(kind).kind for r in openai_sent)
    if kind in ("hang", "401"):  # never retried (a timeout, a refused key): not sent again
        assert len(openai_sent) == 1
    records = [r for r in recorder.records if r.call_id.startswith(result.call_id)]
    failed = [r for r in records if r.status == "failure"]
    assert {r.model for r in failed} == {"gpt"} and len(failed) >= 1
    assert [r.model for r in records if r.status == "success"] == ["gemini"]


@pytest.mark.parametrize("allowed_fails", [1, 100])
@pytest.mark.parametrize("kind", ["500", "429"])
@pytest.mark.parametrize("stream", [False, True])
async def test_a_retried_failure_is_sent_as_often_as_on_the_routers_path(emulator, monkeypatch, kind, stream,
                                                                        allowed_fails):
    """The fast path's try counts as the first of the retry policy's, and toward the
    deployment's cooldown: the model gets as many tries in all as when the Router makes every
    one (with ``allowed_fails`` 1 a second server error cools it down; with 100, 1 + 2 retries)."""
    tries = {}
    for path in ("off", "on"):
        monkeypatch.setenv("PARLEY_FAST_PATH", path)
        emulator.reset()
        emulator.set_default(GPT, Fault(kind, retry_after=0))
        service = make_service(emulator, router={"num_retries": 2, "allowed_fails": allowed_fails,
                                                 "fallbacks": [{"gpt": ["gemini"]}]})
        try:
            if stream:
                result = [item async for item in service.stream("Try it", model="gpt")][-1]
            else:
                result = await service.generate("Try it", model="gpt")
        finally:
            service.close()
        assert result.served_by == "gemini"
        sent = [r for r in emulator.requests if r.protocol == "openai"]
        assert direct(sent[0]) is (path == "on")
        tries[path] = len(sent)
    assert tries["on"] == tries["off"] >= 2  # retried at least once, as often on either path
    if allowed_fails > 2:  # no cooldown in the way: the first try and both retries
        assert tries["on"] == 3


async def test_a_stream_cut_mid_answer_is_an_error_recorded_with_what_was_sent(recorded, emulator):
    service, recorder = recorded
    emulator.set_default(GPT, Fault("cut", after_pieces=3, tokens_per_second=200))
    pieces = []
    with pytest.raises(errors.ProviderDownError, match="cut off"):
        async for item in service.stream("one two three four five six seven", model="gpt"):
            pieces.append(item)
    assert pieces and all(isinstance(p, str) for p in pieces)  # text came, then the error
    assert len(emulator.requests) == 1 and direct(emulator.requests[0])  # no second try after text
    [record] = recorder.records
    assert record.status == "failure" and record.model == "gpt" and record.response == "".join(pieces)


async def test_a_reader_that_hangs_up_is_recorded_as_abandoned_and_the_connection_dropped(recorded, emulator):
    service, recorder = recorded
    emulator.set_default(GPT, Reply(" ".join(f"word{i}" for i in range(200)), tokens_per_second=100))
    stream = service.stream("A long one please", model="gpt")
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


@pytest.mark.parametrize("stream", [False, True])
async def test_an_unknown_price_is_none_with_the_providers_tokens(emulator, stream):
    service = make_service(emulator, private=("openai/acme-private-model", {}))
    try:
        if stream:
            result = [item async for item in service.stream("hi", model="private")][-1]
        else:
            result = await service.generate("hi", model="private")
    finally:
        service.close()
    sent = emulator.requests[-1]
    assert direct(sent) and sent.body["model"] == "acme-private-model"
    assert result.cost is None and not result.price_known
    assert result.input_tokens == sent.usage.input_tokens and not result.tokens_estimated


async def test_a_deployment_with_settings_the_fast_path_does_not_know_goes_through_the_router(emulator):
    from core.config import ModelConfig, build_settings
    from core.service import AIService

    custom = ModelConfig("custom", {"model": "openai/gpt-4.1-mini", "api_key": "sk-test-0000",
                                    "api_base": emulator.openai_base,
                                    "extra_headers": {"x-team": "blue"}}, {})
    service = AIService(build_settings((custom,), {}, {"default_model": "custom"}, "test", {}))
    try:
        result = await service.generate("hi", model="custom")
    finally:
        service.close()
    sent = emulator.requests[-1]
    assert result.ok and not direct(sent) and sent.headers.get("x-team") == "blue"


async def test_a_deployments_own_timeout_bounds_its_stream(emulator):
    """``litellm_params.timeout`` of the deployment, not only the Router's, bounds the wait."""
    from core.config import ModelConfig, build_settings
    from core.service import AIService

    models = (ModelConfig("quick", {"model": "openai/gpt-4.1-mini", "api_key": "sk-test-0000",
                                    "api_base": emulator.openai_base, "timeout": 1}, {}),)
    service = AIService(build_settings(models, {"timeout": 60, "num_retries": 0}, {"default_model": "quick"},
                                       "test", {}))
    emulator.set_default(GPT, Fault("hang", max_hang=30))
    try:
        with pytest.raises(errors.ProviderTimeoutError):
            await asyncio.wait_for(service.generate("hi", model="quick"), 20)
    finally:
        service.close()
    assert direct(emulator.requests[0]) and len(emulator.requests) == 1
