"""The whole parley.yaml is checked at load: wrong types and misspelt keys are a ConfigError
naming the key; LiteLLM proxy configs (the ones litellm itself ships) load unchanged."""
import inspect
import logging
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from core.config import load_settings
from core.config.schema import RouterSettings
from core.errors import ConfigError

ROOT = pathlib.Path(__file__).resolve().parents[3]
ONE_MODEL = "model_list: [{model_name: a, litellm_params: {model: openai/x}}]\n"


def write(tmp_path, text: str) -> pathlib.Path:
    path = tmp_path / "parley.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("body, key, words", [
    ("parley: {budgets: [1, 2]}", "parley.budgets", "a mapping with default, users and hard"),
    ("parley: {budgets: {users: {bob: lots}}}", "parley.budgets.users.bob", "US dollars"),
    ("parley: {budgets: {hard: 'yes'}}", "parley.budgets.hard", "true or false"),
    ("parley: {budgets: {dflt: 5}}", "parley.budgets.dflt", "did you mean 'default'?"),
    ("parley: {defualt_model: a}", "parley.defualt_model", "did you mean 'default_model'?"),
    ("parley: {admins: admin@x.com}", "parley.admins", "a list of names"),
    ("parley: {rate_limit_per_minute: '10'}", "parley.rate_limit_per_minute", "whole number"),
    ("router_settings: {num_retires: 2}", "router_settings.num_retires",
     "did you mean 'num_retries'?"),
    ("router_settings: {num_retries: two}", "router_settings.num_retries", "0 to 10"),
    ("router_settings: {fallbacks: 'no'}", "router_settings.fallbacks", "{claude: [gemini]}"),
    ("router_settings: {fallbacks: [{a: b}]}", "router_settings.fallbacks[0].a", "{claude: [gemini]}"),
    ("router_settings: {context_window_fallbacks: {a: [a]}}",
     "router_settings.context_window_fallbacks", "{claude: [gemini]}"),
    ("router_settings: {retry_policy: {TimeoutErrorRetries: many}}",
     "router_settings.retry_policy.TimeoutErrorRetries", "0 to 10"),
    ("router_settings: {retry_policy: {TimeoutRetries: 1}}",
     "router_settings.retry_policy.TimeoutRetries", "did you mean 'TimeoutErrorRetries'?"),
    ("router_settings: {routing_strategy: fastest}", "router_settings.routing_strategy",
     "one of simple-shuffle, least-busy"),
    ("router_settings: {timeout: '30'}", "router_settings.timeout", "seconds"),
])
def test_wrong_types_and_misspelt_keys_name_the_key(tmp_path, body, key, words):
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, ONE_MODEL + body))
    assert f": {key}: " in str(info.value)
    assert words in str(info.value)


@pytest.mark.parametrize("info, key, words", [
    ("{input_cost_per_token: cheap}", "model_info", "input_cost_per_token must be a price"),
    ("{output_cost_per_token: -1}", "model_info", "output_cost_per_token must be a price"),
    ("{max_input_tokens: -5}", "model_info.max_input_tokens", "tokens above 0"),
    ("{max_tokens: lots}", "model_info.max_tokens", "tokens above 0"),
    ("[1]", "model_info", "valid dictionary"),
])
def test_model_info_prices_and_windows_are_checked(tmp_path, info, key, words):
    body = f"model_list: [{{model_name: a, litellm_params: {{model: openai/x}}, model_info: {info}}}]"
    with pytest.raises(ConfigError) as info_:
        load_settings(write(tmp_path, body))
    assert f"model_list[0] (a).{key}" in str(info_.value)
    assert words in str(info_.value)


def test_litellm_proxy_sections_are_named_in_one_warning_and_ignored(tmp_path, caplog):
    body = ONE_MODEL + "guardrails: [{guardrail_name: g}]\nmcp_servers: {x: {url: y}}\n" \
                       "litellm_settings: {drop_params: true}\n"
    with caplog.at_level(logging.WARNING, logger="parley"):
        settings = load_settings(write(tmp_path, body))
    assert settings.ignored == ("guardrails", "mcp_servers", "litellm_settings")
    warnings = [r.getMessage() for r in caplog.records if "ignoring" in r.getMessage()]
    assert len(warnings) == 1 and "guardrails, mcp_servers, litellm_settings" in warnings[0]


def _litellm_example_configs() -> list[pathlib.Path]:
    import litellm  # tests may load it; core.config never does
    proxy = pathlib.Path(litellm.__file__).parent / "proxy"
    return sorted(proxy.glob("example_config_yaml/*.yaml")) + sorted(proxy.glob("*.yaml"))


# langfuse_config.yaml lists a model with no litellm_params: LiteLLM's own proxy cannot call it either.
REAL_FAULTS = {"langfuse_config.yaml": "model_list[0] (gpt-3.5-turbo): litellm_params.model is missing"}


def test_every_litellm_example_config_loads():
    paths = _litellm_example_configs()
    assert len(paths) >= 25
    for path in paths:
        if path.name in REAL_FAULTS:
            with pytest.raises(ConfigError, match=REAL_FAULTS[path.name].replace("(", r"\(")
                               .replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
                load_settings(path, env={})
            continue
        settings = load_settings(path, env={})
        assert settings.model_names, path.name


def test_router_settings_know_every_router_argument():
    """The schema spells router_settings as litellm.Router does (LiteLLM 1.106)."""
    import litellm
    taken = set(inspect.signature(litellm.Router.__init__).parameters) - {"self", "model_list"}
    assert set(RouterSettings.model_fields) == taken


def test_cli_reports_a_config_error_in_one_line(tmp_path):
    path = write(tmp_path, ONE_MODEL + "parley: {budgets: [1, 2]}")
    done = subprocess.run([sys.executable, "-m", "core", "models"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PARLEY_CONFIG": str(path)}, timeout=60)
    assert done.returncode != 0
    assert done.stderr.strip() == (f"error: {path}: parley.budgets: must be a mapping with "
                                   "default, users and hard, not [1, 2]")
