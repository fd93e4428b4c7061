"""`python -m core`: models and ask, --json shapes, one-line errors and exit codes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.cli import main
from tests.emulated import KEYS, PROVIDER_MODELS
from tests.fakes import Fault, Reply

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import litellm  # noqa: E402
from tests.paths import REPO

ROOT = REPO
ASK_FIELDS = {"content", "model", "provider", "input_tokens", "output_tokens", "total_tokens", "cost",
              "price_known", "response_time_ms", "ttft_ms", "call_id", "fallback_used", "served_by",
              "error", "route", "route_reason", "kind", "reasoning_tokens", "cache_read_tokens",
              "cache_write_tokens", "image_tokens", "saved_cost", "reasoning", "tool_calls", "json_valid",
              "json_errors", "price"}


@pytest.fixture
def config(tmp_path, emulator, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEYS["claude"])
    monkeypatch.setenv("GEMINI_API_KEY", KEYS["gemini"])
    monkeypatch.setenv("OPENAI_API_KEY", KEYS["gpt"])
    path = tmp_path / "parley.yaml"
    path.write_text(f"""
model_list:
  - model_name: claude
    litellm_params: {{model: anthropic/claude-sonnet-4-5-20250929, api_key: os.environ/ANTHROPIC_API_KEY,
                     api_base: "{emulator.anthropic_base}"}}
    model_info: {{display_name: "Claude (Anthropic)", badge: Premium}}
  - model_name: gemini
    litellm_params: {{model: gemini/gemini-2.5-flash, api_key: os.environ/GEMINI_API_KEY,
                     api_base: "{emulator.gemini_base}"}}
  - model_name: gpt
    litellm_params: {{model: openai/gpt-4.1-mini, api_key: os.environ/OPENAI_API_KEY,
                     api_base: "{emulator.openai_base}"}}
  - model_name: old
    litellm_params: {{model: anthropic/claude-3-5-sonnet-20241022, api_key: os.environ/NOT_SET_KEY}}
router_settings: {{num_retries: 1, timeout: 5, fallbacks: [{{claude: [gemini]}}]}}
parley: {{default_model: gemini}}
""")
    monkeypatch.setenv("PARLEY_CONFIG", str(path))
    return path


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_json(config, capsys):
    code, out, _ = run_cli(capsys, "models", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert code == 0 and list(rows) == ["claude", "gemini", "gpt", "old"]
    assert rows["claude"] == {"name": "claude", "provider": "anthropic", "display_name": "Claude (Anthropic)",
                              "input_cost_per_1m": 3.0, "output_cost_per_1m": 15.0, "price_known": True,
                              "context_window": 200000, "available": True}
    assert rows["old"]["price_known"] is False and rows["old"]["input_cost_per_1m"] is None
    assert rows["old"]["available"] is False


def test_models_table_never_shows_keys(config, capsys):
    code, out, _ = run_cli(capsys, "models")
    assert code == 0 and "price unknown" in out and "NOT_SET_KEY is not set" in out
    assert all(key not in out for key in KEYS.values())


@pytest.mark.parametrize("name", ["claude", "gemini", "gpt"])
def test_ask_json_matches_provider_usage_and_litellm_prices(config, capsys, emulator, name):
    emulator.enqueue(PROVIDER_MODELS[name], Reply("Paris is the capital.", input_tokens=1234))
    code, out, err = run_cli(capsys, "ask", "Capital of France?", "--model", name, "--json")
    result = json.loads(out)
    usage = emulator.requests[-1].usage
    assert code == 0 and set(result) == ASK_FIELDS
    assert result["content"] == "Paris is the capital."
    assert (result["input_tokens"], result["output_tokens"]) == (1234, usage.output_tokens)
    price = sum(litellm.cost_per_token(model=PROVIDER_MODELS[name], prompt_tokens=1234,
                                       completion_tokens=usage.output_tokens))
    assert result["cost"] == pytest.approx(price, rel=1e-12) and result["price"] == "known"
    assert result["served_by"] == name and result["fallback_used"] is False


def test_ask_streams_text_then_a_summary_line(config, capsys):
    code, out, err = run_cli(capsys, "ask", "hello world", "--model", "gpt")
    assert code == 0 and out.strip() == "Echo: hello world"
    assert "gpt via openai" in err and "$" in err and "((" not in err


def test_ask_reports_a_fallback(config, capsys, emulator):
    emulator.set_default(PROVIDER_MODELS["claude"], Fault("529"))
    code, out, _ = run_cli(capsys, "ask", "hi", "--model", "claude", "--json")
    result = json.loads(out)
    assert code == 0 and result["fallback_used"] and result["served_by"] == "gemini"


@pytest.mark.parametrize("argv, words, code", [
    (["ask", "", "--json"], "prompt is empty", 2),
    (["ask", "hi", "--model", "nope"], "choose one of: claude, gemini, gpt, old", 2),
    (["compare", "hi", "--models", "claude,mistral"], "To use mistral, list it under model_list", 2),
    (["ask", "hi", "--temperature", "9"], "Temperature must be", 2),
    (["ask", "hi", "--max-tokens", "-5"], "max_tokens must be", 2),
    (["ask", "hi", "--model", "old"], "NOT_SET_KEY is not set", 1),
])
def test_errors_are_one_line_on_stderr(config, capsys, emulator, argv, words, code):
    status, out, err = run_cli(capsys, *argv)
    assert status == code and out == ""
    assert err.startswith("error: ") and words in err and err.count("\n") == 1
    assert "Traceback" not in err and emulator.requests == []


def test_provider_failure_exits_one_without_traceback(config, capsys, emulator):
    emulator.set_default(PROVIDER_MODELS["gpt"], Fault("401"))
    status, _, err = run_cli(capsys, "ask", "hi", "--model", "gpt")
    assert status == 1 and "rejected the API key" in err and err.count("\n") == 1
    assert all(key not in err for key in KEYS.values())


def test_bad_config_is_one_line(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_list: [{model_name: a}]\n")
    status, _, err = run_cli(capsys, "--config", str(bad), "models")
    assert status == 2 and err == f"error: {bad}: model_list[0] (a): litellm_params.model is missing; " \
                                   f"write e.g. 'anthropic/claude-sonnet-4-5-20250929'\n"


def test_a_new_user_runs_python_m_core_ask(config, emulator, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "core", "ask", "One word?", "--model", "claude", "--json"],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["content"] == "Echo: One word?" and result["provider"] == "anthropic"
    assert result["input_tokens"] == emulator.requests[-1].usage.input_tokens
    status = subprocess.run([sys.executable, "-m", "core", "db", "status", "--json"], capture_output=True,
                            text=True, env=env, timeout=120, cwd=tmp_path)
    assert json.loads(status.stdout)["counts"]["request_logs"] == 1


def test_two_columns_of_one_model_get_distinct_headers(config, capsys):
    code, out, _ = run_cli(capsys, "compare", "hi", "--models", "gpt,gpt")
    assert code == 0 and "== A · gpt ==" in out and "== B · gpt ==" in out


def test_on_a_fresh_machine_compare_says_which_keys_make_it_work(tmp_path, capsys, monkeypatch):
    """The README's `compare --models claude,gemini` with no key and no parley.yaml."""
    for name in ("PARLEY_CONFIG", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                 "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "compare", "hi", "--models", "claude,gemini")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "set ANTHROPIC_API_KEY in the environment" in err and "parley.example.yaml" in err
