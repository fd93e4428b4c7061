"""The dated price book: a price change leaves recorded costs alone and prices new calls at
the new rate; model_info prices cache and reasoning tokens; the CLI shows and sets prices."""
from __future__ import annotations

import json
import sqlite3

import pytest

from core.cli import main
from core.config import build_settings
from core.service import AIService
from tests.emulated import three_models, write_config, KEYS


@pytest.fixture
def recorded_service(emulator, tmp_path):
    settings = build_settings(tuple(three_models(emulator)), {"num_retries": 0, "timeout": 5},
                              {"default_model": "gpt"}, "test", {})
    svc = AIService.from_settings(settings, record=True)
    yield svc
    svc.close()


def _row(svc, call_id):
    store = svc.shared_store().unwrapped
    return store._ledger_rows("SELECT total_cost, price_id, input_tokens, output_tokens "
                              "FROM request_logs WHERE litellm_call_id = ?", [call_id])[0]


def test_a_price_change_leaves_old_costs_and_prices_new_calls_at_the_new_rate(recorded_service):
    svc = recorded_service
    first = svc.generate_sync("hello there", user_id="u1", model="gpt")
    svc.recorder.flush()
    before = _row(svc, first.call_id)
    seeded = svc.prices.current("gpt")
    assert before["price_id"] == seeded["id"] and seeded["source"] == "litellm"
    assert before["total_cost"] == pytest.approx(first.cost) and first.cost > 0

    svc.prices.set_price("gpt", {"input": 100.0, "output": 200.0}, actor="admin@example.com")
    second = svc.generate_sync("hello again", user_id="u1", model="gpt")
    svc.recorder.flush()
    after = _row(svc, second.call_id)
    expected = after["input_tokens"] * 100e-6 + after["output_tokens"] * 200e-6
    assert after["total_cost"] == pytest.approx(expected) == pytest.approx(second.cost)
    assert after["price_id"] != before["price_id"]
    assert _row(svc, first.call_id) == before  # the old call's cost is untouched

    store = svc.shared_store().unwrapped
    with pytest.raises(sqlite3.IntegrityError, match="never changes"):
        store._ledger_write("UPDATE request_logs SET total_cost = 0 WHERE litellm_call_id = ? "
                            "RETURNING id", [[first.call_id]])
    audit = store.audit_entries(action="prices.set")
    assert audit[0]["actor"] == "admin@example.com" and audit[0]["after"]["input"] == 100.0
    assert audit[0]["before"]["source"] == "litellm"


def test_a_model_info_override_prices_cache_and_reasoning_tokens(emulator):
    from core.catalog import Catalog
    from core.pricing import TokenUsage, call_cost

    info = {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
            "cache_read_input_token_cost": 1e-7, "cache_creation_input_token_cost": 5e-6,
            "output_cost_per_reasoning_token": 4e-6}
    settings = build_settings(tuple(three_models(emulator, cheap=("openai/gpt-4.1-mini", info))),
                              {}, {"default_model": "cheap"}, "test", {})
    entry = Catalog(settings).get("cheap")
    usage = TokenUsage(1000, 500, cache_read_tokens=600, cache_write_tokens=100, reasoning_tokens=200)
    # 300 plain input, 600 read, 100 written; 300 plain output, 200 reasoning
    expected = 300 * 1e-6 + 600 * 1e-7 + 100 * 5e-6 + 300 * 2e-6 + 200 * 4e-6
    assert call_cost(entry, 1000, 500, lambda: 99.0, usage) == pytest.approx(expected)


def test_prices_cli_seeds_lists_sets_and_shows_history(emulator, tmp_path, monkeypatch, capsys):
    for name, env in (("claude", "ANTHROPIC_API_KEY"), ("gemini", "GEMINI_API_KEY"),
                      ("gpt", "OPENAI_API_KEY")):
        monkeypatch.setenv(env, KEYS[name])
    config = str(write_config(emulator, tmp_path / "parley.yaml"))
    assert main(["--config", config, "db", "upgrade", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["prices_added"] == 3
    assert main(["--config", config, "db", "upgrade", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["prices_added"] == 0  # nothing changed
    assert main(["--config", config, "prices", "set", "claude", "--input", "2", "--output", "10",
                 "--cache-read", "0.2", "--from", "2030-01-01", "--json"]) == 0
    capsys.readouterr()
    assert main(["--config", config, "prices", "list", "--json"]) == 0
    listed = {row["model"]: row for row in json.loads(capsys.readouterr().out)}
    assert listed["claude"]["source"] == "litellm"  # the manual price starts in 2030
    assert main(["--config", config, "prices", "history", "claude", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [h["source"] for h in history] == ["litellm", "manual"]
    assert history[1]["cache_read"] == 0.2 and history[1]["valid_from"].startswith("2030-01-01")


def test_openrouters_usage_cost_is_read_as_the_providers_figure():
    from core.llm import runtime
    from core.llm.usage import reported_cost

    litellm = runtime.load()
    usage = litellm.Usage(prompt_tokens=194, completion_tokens=2, total_tokens=196, cost=0.95)
    assert reported_cost(usage) == 0.95  # OpenRouter's "usage accounting" shape
    assert reported_cost(litellm.Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2)) is None
    assert reported_cost(None) is None
