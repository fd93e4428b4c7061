"""The catalog: providers, display names and prices, with 'unknown' as a first-class state."""
import os

import pytest

from core.catalog import Catalog
from core.config import ModelConfig, build_settings
from core.errors import UnknownModelError


def catalog_of(*models: ModelConfig) -> Catalog:
    return Catalog(build_settings(tuple(models), {}, {}, "test", {}))


def model(name, litellm_model, **info):
    return ModelConfig(name, {"model": litellm_model, "api_key": "k"}, info)


def test_prices_come_from_litellms_cost_map():
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm

    cat = catalog_of(model("claude", "anthropic/claude-sonnet-4-5-20250929"),
                     model("gemini", "gemini/gemini-2.5-flash"), model("gpt", "openai/gpt-4.1-mini"))
    for entry in cat:
        info = litellm.get_model_info(entry.provider_model)
        assert entry.input_cost_per_token == info["input_cost_per_token"]
        assert entry.output_cost_per_token == info["output_cost_per_token"]
        assert entry.context_window == info["max_input_tokens"]
    assert [e.provider for e in cat] == ["anthropic", "gemini", "openai"]
    assert cat.get("claude").per_million("input") == 3.0
    assert cat.get("claude").price_label() == "$3.00 / $15.00 per 1M tokens"


def test_unpriced_model_is_unknown_not_zero():
    entry = catalog_of(model("old", "anthropic/claude-3-5-sonnet-20241022")).get("old")
    assert not entry.price_known
    assert entry.input_cost_per_token is None
    assert entry.price_label() == "price unknown"
    assert entry.to_json()["input_cost_per_1m"] is None


def test_model_info_overrides_prices():
    entry = catalog_of(model("old", "anthropic/claude-3-5-sonnet-20241022",
                             input_cost_per_token=3e-6, output_cost_per_token=1.5e-5,
                             display_name="Claude 3.5", badge="Legacy")).get("old")
    assert entry.price_known and entry.per_million("output") == 15.0
    assert (entry.display_name, entry.badge) == ("Claude 3.5", "Legacy")


def test_tiered_price_is_carried():
    entry = catalog_of(model("pro", "gemini/gemini-2.5-pro")).get("pro")
    assert entry.tiers["input_cost_per_token_above_200k_tokens"] == 2.5e-06


def test_local_models_are_free_unless_priced():
    cat = catalog_of(model("ollama", "ollama_chat/llama3.2"),
                     model("box", "ollama_chat/qwen", input_cost_per_token=1e-8,
                           output_cost_per_token=2e-8))
    assert cat.get("ollama").price_label() == "local"
    assert cat.get("ollama").price_known
    assert cat.get("box").price_label().startswith("local · $0.01")


def test_unknown_model_lists_choices():
    with pytest.raises(UnknownModelError, match="choose one of: a"):
        catalog_of(model("a", "openai/gpt-4.1-mini")).get("zzz")


def test_models_json_shape():
    entry = catalog_of(model("gpt", "openai/gpt-4.1-mini")).get("gpt")
    assert set(entry.to_json()) == {"name", "provider", "display_name", "input_cost_per_1m",
                                    "output_cost_per_1m", "price_known", "context_window", "available"}


def test_a_picker_label_says_each_thing_once():
    from core.config.environment import bundled_local_model
    from core.catalog import _entry

    local = _entry(bundled_local_model())
    assert local.choice_label(badge=True) == "SmolLM2 135M (bundled) · Local"
    assert local.choice_label() == "SmolLM2 135M (bundled) · local"
