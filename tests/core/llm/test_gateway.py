"""Calls through the real LiteLLM Router against the provider emulator: each protocol, sync,
async and streaming, with tokens equal to the provider's usage and cost equal to LiteLLM's prices."""
from __future__ import annotations

import os

import pytest

from core.errors import BadRequestError, UnknownModelError
from tests.emulated import PROVIDER_MODELS, make_service
from tests.fakes import Reply

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import litellm  # noqa: E402

PROTOCOLS = {"claude": "anthropic", "gemini": "gemini", "gpt": "openai"}


def litellm_price(provider_model: str, usage) -> float:
    prompt, completion = litellm.cost_per_token(model=provider_model, prompt_tokens=usage.input_tokens,
                                                completion_tokens=usage.output_tokens)
    return prompt + completion


def assert_matches_provider(result, emu, name):
    sent = emu.requests[-1]
    assert sent.protocol == PROTOCOLS[name]
    assert result.content == sent.text
    assert (result.input_tokens, result.output_tokens) == (sent.usage.input_tokens, sent.usage.output_tokens)
    assert result.total_tokens == sent.usage.total_tokens
    assert not result.tokens_estimated
    assert result.cost == pytest.approx(litellm_price(PROVIDER_MODELS[name], sent.usage), rel=1e-12)
    assert result.price_known and result.cost > 0
    assert result.served_by == name and not result.fallback_used
    assert result.call_id and result.response_time_ms > 0


@pytest.mark.parametrize("name", ["claude", "gemini", "gpt"])
async def test_generate_async(service, emulator, name):
    emulator.enqueue(PROVIDER_MODELS[name], Reply("The sky scatters blue light most.", input_tokens=31))
    result = await service.generate("Why is the sky blue?", model=name)
    assert result.content == "The sky scatters blue light most."
    assert result.input_tokens == 31
    assert result.provider == PROTOCOLS[name] and result.provider_model.endswith(PROVIDER_MODELS[name])
    assert_matches_provider(result, emulator, name)


@pytest.mark.parametrize("name", ["claude", "gemini", "gpt"])
def test_generate_sync(service, emulator, name):
    result = service.generate_sync("Name three rivers", model=name)
    assert result.content.startswith("Echo: Name three rivers")
    assert_matches_provider(result, emulator, name)


@pytest.mark.parametrize("name", ["claude", "gemini", "gpt"])
async def test_stream_async_yields_deltas_then_result(service, emulator, name):
    emulator.enqueue(PROVIDER_MODELS[name], Reply("one two three four five", ttft=0.05,
                                                  tokens_per_second=100))
    items = [item async for item in service.stream("count", model=name)]
    deltas, result = items[:-1], items[-1]
    assert len(deltas) >= 2 and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == result.content == "one two three four five"
    assert result.ttft_ms is not None and result.ttft_ms <= result.response_time_ms
    assert_matches_provider(result, emulator, name)
    assert emulator.requests[-1].stream


def test_stream_requests_usage_from_openai(service, emulator):
    list(service.stream_sync("hello", model="gpt"))
    assert emulator.requests[-1].body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("name", ["claude", "gemini", "gpt"])
def test_stream_sync(service, emulator, name):
    items = list(service.stream_sync("stream this please", model=name))
    assert "".join(items[:-1]) == items[-1].content
    assert_matches_provider(items[-1], emulator, name)


async def test_reasoning_and_cached_tokens_are_reported(service, emulator):
    emulator.enqueue(PROVIDER_MODELS["gpt"], Reply("ok fine", reasoning_tokens=5, cached_tokens=3,
                                                   input_tokens=20))
    result = await service.generate("think", model="gpt")
    assert result.reasoning_tokens == 5 and result.cached_tokens == 3
    assert result.output_tokens == emulator.requests[-1].usage.output_tokens


async def test_default_model_used_when_none_named(service, emulator):
    result = await service.generate("hi")
    assert result.model == "gemini" and result.source == "default"
    assert emulator.requests[-1].protocol == "gemini"


async def test_provider_is_a_synonym_of_model(service, emulator):
    result = await service.generate("hi", provider="claude")
    assert result.model == "claude" and emulator.requests[-1].protocol == "anthropic"


async def test_unknown_price_is_none_not_zero(emulator):
    svc = make_service(emulator, old=("anthropic/claude-3-5-sonnet-20241022", {}))
    result = await svc.generate("hi", model="old")
    assert result.cost is None and not result.price_known
    assert result.input_tokens > 0 and result.to_json()["cost"] is None


async def test_model_info_price_override(emulator):
    svc = make_service(emulator, old=("anthropic/claude-3-5-sonnet-20241022",
                                      {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}))
    emulator.enqueue("claude-3-5-sonnet-20241022", Reply("a b c", input_tokens=100, output_tokens=10))
    result = await svc.generate("hi", model="old")
    assert result.cost == pytest.approx(100 * 1e-6 + 10 * 2e-6)


async def test_tiered_price_above_200k_tokens(emulator):
    svc = make_service(emulator, pro=("gemini/gemini-2.5-pro", {}))
    emulator.enqueue("gemini-2.5-pro", Reply("long answer", input_tokens=250_000, output_tokens=1000))
    result = await svc.generate("a very long document", model="pro")
    tiered = 250_000 * 2.5e-06 + 1000 * 1.5e-05
    assert result.cost == pytest.approx(tiered, rel=1e-9)
    assert result.cost == pytest.approx(litellm_price("gemini/gemini-2.5-pro", emulator.requests[-1].usage))
    assert result.cost > 250_000 * 1.25e-06 + 1000 * 1e-05  # the base price would be lower


@pytest.mark.parametrize("kwargs, match", [
    ({"prompt": ""}, "prompt is empty"),
    ({"prompt": "   \n"}, "prompt is empty"),
    ({"prompt": "hi", "temperature": 7}, "Temperature must be"),
    ({"prompt": "hi", "temperature": "hot"}, "Temperature must be"),
    ({"prompt": "hi", "max_tokens": 0}, "max_tokens must be"),
    ({"prompt": "hi", "max_tokens": 10**9}, "max_tokens must be"),
    ({"prompt": "hi", "user_id": ""}, "user_id must be"),
    ({"prompt": "hi", "model": "claude", "provider": "gemini"}, "disagree"),
])
async def test_bad_input_is_rejected_before_any_request(service, emulator, kwargs, match):
    with pytest.raises(BadRequestError, match=match):
        await service.generate(**kwargs)
    assert emulator.requests == []


async def test_unknown_model_lists_the_configured_ones(service, emulator):
    with pytest.raises(UnknownModelError, match="claude, gemini, gpt"):
        await service.generate("hi", model="gpt-9")
    assert emulator.requests == []


async def test_compare_runs_each_model_and_keeps_failures_per_column(service, emulator):
    from tests.fakes import Fault
    emulator.set_default(PROVIDER_MODELS["gpt"], Fault("401"))
    results = await service.compare("same prompt", models=["claude", "gemini", "gpt"])
    assert [r.model for r in results] == ["claude", "gemini", "gpt"]
    assert results[0].ok and results[1].ok
    assert not results[2].ok and "rejected the API key" in results[2].error


async def test_a_stream_without_usage_is_priced_from_its_estimated_tokens(emulator):
    """A provider that reports no usage: the counts are estimates, marked as such, and the cost
    is those counts at the model's price, not $0."""
    from tests.fakes import Reply

    svc = make_service(emulator)
    emulator.enqueue(PROVIDER_MODELS["gpt"], Reply("A fairly long answer with several words in it",
                                                   input_tokens=0, output_tokens=0))
    try:
        items = [item async for item in svc.stream("Tell me something", model="gpt")]
    finally:
        svc.close()
    result = items[-1]
    entry = svc.catalog.get("gpt")
    assert result.tokens_estimated
    # the answer's nine words, one token each: the text alone, without a message's framing
    assert result.output_tokens == 9
    assert result.cost == pytest.approx(result.input_tokens * entry.input_cost_per_token
                                        + result.output_tokens * entry.output_cost_per_token)
