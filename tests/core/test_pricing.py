"""Golden costs: each token class priced at its own rate from LiteLLM's bundled cost map, the
arithmetic written out by hand, the call recorded with its classes. Nothing counted twice, no
class priced at $0 when the map has a price, and an unpriced model recorded as unknown."""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import pytest

from tests.emulated import Collected, make_service
from tests.fakes import Reply

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import litellm  # noqa: E402

EXTRA = {"o4": ("openai/o4-mini", {}), "old-claude": ("anthropic/claude-3-5-sonnet-20241022", {})}


@pytest.fixture
def recorded(emulator):
    recorder = Collected()
    svc = make_service(emulator, recorder=recorder, **EXTRA)
    yield svc, recorder
    svc.close()


@functools.cache
def bundled_map() -> dict:
    """LiteLLM's bundled cost map, read as published (not the dict LiteLLM enriches at runtime)."""
    path = Path(litellm.__file__).parent / "model_prices_and_context_window_backup.json"
    return json.loads(path.read_text(encoding="utf-8"))


def price(model: str) -> dict:
    """The published per-token prices of ``model``."""
    return bundled_map()[model]


async def answer(svc, stream: bool, model: str):
    if not stream:
        return await svc.generate("Why is the sea salty?", model=model)
    items = [item async for item in svc.stream("Why is the sea salty?", model=model)]
    return items[-1]


@pytest.mark.parametrize("stream", (False, True))
async def test_claude_cache_write_cache_read_and_thinking(recorded, emulator, stream):
    svc, recorder = recorded
    emulator.enqueue("claude-sonnet-4-5-20250929", Reply(
        "Rivers carry dissolved salts to the sea.", input_tokens=10_000, cached_tokens=6_000,
        cache_creation_tokens=3_000, output_tokens=500, reasoning="Rocks weather; rivers carry ions."))
    result = await answer(svc, stream, "claude")
    p = price("claude-sonnet-4-5-20250929")
    assert (p["input_cost_per_token"], p["cache_read_input_token_cost"],
            p["cache_creation_input_token_cost"], p["output_cost_per_token"]) == (3e-06, 3e-07, 3.75e-06, 1.5e-05)
    # On the wire Anthropic reports 1,000 uncached input tokens beside 6,000 read and 3,000
    # written; thinking is billed inside the 500 output tokens at the output rate.
    expected = (1_000 * p["input_cost_per_token"]              # $0.003
                + 6_000 * p["cache_read_input_token_cost"]     # $0.0018
                + 3_000 * p["cache_creation_input_token_cost"]  # $0.01125
                + 500 * p["output_cost_per_token"])            # $0.0075
    assert expected == pytest.approx(0.02355, abs=1e-12)
    assert result.cost == pytest.approx(expected, rel=1e-9)
    assert result.reasoning == "Rocks weather; rivers carry ions."
    assert (result.input_tokens, result.cache_read_tokens, result.cache_write_tokens) == (10_000, 6_000, 3_000)
    assert 0 < result.reasoning_tokens <= 500
    # Without the cache: 9,000 more tokens at the input rate instead of the read and write rates.
    saved = 6_000 * (3e-06 - 3e-07) - 3_000 * (3.75e-06 - 3e-06)  # $0.0162 - $0.00225
    assert result.saved_cost == pytest.approx(saved, rel=1e-9)
    [record] = recorder.records
    assert record.total_cost == pytest.approx(expected, rel=1e-9)
    assert (record.kind, record.input_tokens, record.output_tokens) == ("chat", 10_000, 500)
    assert (record.cache_read_tokens, record.cache_write_tokens) == (6_000, 3_000)
    assert record.reasoning_tokens == result.reasoning_tokens
    assert record.saved_cost == pytest.approx(0.01395, rel=1e-9)


@pytest.mark.parametrize("stream", (False, True))
async def test_gemini_thinking_and_cached_content(recorded, emulator, stream):
    svc, recorder = recorded
    emulator.enqueue("gemini-2.5-flash", Reply("Salt comes from rocks.", input_tokens=10_000,
                                               cached_tokens=8_000, output_tokens=1_200, reasoning_tokens=1_000))
    result = await answer(svc, stream, "gemini")
    p = price("gemini/gemini-2.5-flash")
    assert (p["input_cost_per_token"], p["cache_read_input_token_cost"], p["output_cost_per_token"],
            p["output_cost_per_reasoning_token"]) == (3e-07, 3e-08, 2.5e-06, 2.5e-06)
    # promptTokenCount 10,000 includes cachedContentTokenCount 8,000; thoughtsTokenCount 1,000 is
    # billed beside candidatesTokenCount 200.
    expected = (2_000 * p["input_cost_per_token"]                 # $0.0006
                + 8_000 * p["cache_read_input_token_cost"]        # $0.00024
                + 200 * p["output_cost_per_token"]                # $0.0005
                + 1_000 * p["output_cost_per_reasoning_token"])   # $0.0025: thinking is not free
    assert expected == pytest.approx(0.00384, abs=1e-12)
    assert result.cost == pytest.approx(expected, rel=1e-9)
    assert (result.reasoning_tokens, result.cache_read_tokens, result.cache_write_tokens) == (1_000, 8_000, None)
    assert result.saved_cost == pytest.approx(8_000 * (3e-07 - 3e-08), rel=1e-9)
    [record] = recorder.records
    assert record.total_cost == pytest.approx(expected, rel=1e-9)
    assert (record.reasoning_tokens, record.cache_read_tokens, record.cache_write_tokens) == (1_000, 8_000, 0)
    assert (record.input_tokens, record.output_tokens) == (10_000, 1_200)


@pytest.mark.parametrize("stream", (False, True))
async def test_openai_reasoning_with_cached_prompt_tokens(recorded, emulator, stream):
    svc, recorder = recorded
    emulator.enqueue("o4-mini", Reply("42", input_tokens=10_000, cached_tokens=4_096, output_tokens=900,
                                      reasoning_tokens=850))
    result = await answer(svc, stream, "o4")
    p = price("o4-mini")
    assert (p["input_cost_per_token"], p["cache_read_input_token_cost"], p["output_cost_per_token"]) == (
        1.1e-06, 2.75e-07, 4.4e-06)
    # OpenAI prices reasoning tokens as output tokens (o4-mini has no reasoning rate of its own).
    assert "output_cost_per_reasoning_token" not in p
    expected = (5_904 * p["input_cost_per_token"]            # $0.0064944 (10,000 - 4,096 cached)
                + 4_096 * p["cache_read_input_token_cost"]   # $0.0011264
                + 900 * p["output_cost_per_token"])          # $0.00396 (850 of them reasoning)
    assert expected == pytest.approx(0.0115808, abs=1e-12)
    assert result.cost == pytest.approx(expected, rel=1e-9)
    assert (result.reasoning_tokens, result.cache_read_tokens) == (850, 4_096)
    assert result.reasoning is None  # OpenAI's chat API returns no reasoning text
    [record] = recorder.records
    assert record.total_cost == pytest.approx(expected, rel=1e-9)
    assert (record.reasoning_tokens, record.cache_read_tokens, record.output_tokens) == (850, 4_096, 900)


async def test_a_model_without_a_price_records_unknown_never_zero(recorded, emulator):
    svc, recorder = recorded
    assert "claude-3-5-sonnet-20241022" not in bundled_map()
    emulator.enqueue("claude-3-5-sonnet-20241022", Reply("Old but answers.", input_tokens=120, cached_tokens=100))
    result = await svc.generate("Hello?", model="old-claude")
    assert result.content == "Old but answers."
    assert (result.cost, result.price_known, result.saved_cost) == (None, False, None)
    [record] = recorder.records
    assert record.status == "success" and record.total_cost is None and record.saved_cost is None
    assert record.cache_read_tokens == 100


async def test_a_call_without_caching_claims_no_saving(recorded, emulator):
    svc, recorder = recorded
    emulator.enqueue("claude-sonnet-4-5-20250929", Reply("Plain.", input_tokens=50))
    result = await svc.generate("Hi", model="claude")
    assert result.saved_cost is None and result.cost > 0
    assert recorder.records[0].saved_cost is None
