"""Settings: the LiteLLM proxy format, os.environ/ references, defaults, and clear errors."""
import textwrap

import pytest

from core.config import load_settings
from core.errors import ConfigError


def write(tmp_path, text: str):
    path = tmp_path / "parley.yaml"
    path.write_text(textwrap.dedent(text))
    return path


THREE = """
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-5-20250929, api_key: os.environ/ANTHROPIC_API_KEY}
    model_info: {display_name: "Claude (Anthropic)", badge: Premium}
  - model_name: gemini
    litellm_params: {model: gemini/gemini-2.5-flash, api_key: os.environ/GEMINI_API_KEY}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4.1-mini, api_key: os.environ/OPENAI_API_KEY}
router_settings: {num_retries: 1, timeout: 5, fallbacks: [{claude: [gemini]}]}
parley:
  default_model: gemini
  service_types: [xray, answer_builder]
  routes: {complex: claude}
  privacy: hash
"""


def test_reads_litellm_proxy_format_and_parley_section(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-123456")
    settings = load_settings(write(tmp_path, THREE))
    assert settings.model_names == ["claude", "gemini", "gpt"]
    claude = settings.models[0]
    assert claude.litellm_params["api_key"] == "sk-ant-test-123456"
    assert claude.key_present
    assert not settings.models[1].key_present
    assert settings.models[1].missing_env == ("GEMINI_API_KEY is not set",)
    assert settings.default_model == "gemini"
    assert settings.routes == {"complex": "claude"}
    assert settings.privacy == "hash"
    assert settings.router_settings["timeout"] == 5
    assert settings.service_types == ("xray", "answer_builder")


def test_secret_values_never_appear_in_repr(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-value-999")
    settings = load_settings(write(tmp_path, THREE))
    assert "sk-ant-secret-value-999" not in repr(settings)
    assert "sk-ant-secret-value-999" in settings.secrets()


def test_parley_config_env_names_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, THREE)
    monkeypatch.setenv("PARLEY_CONFIG", str(path))
    assert load_settings().source == str(path)


@pytest.mark.parametrize("body, key, words", [
    ("model_list: [{litellm_params: {model: x}}]", "model_list[0]", "model_name"),
    ("model_list: [{model_name: a}]", "model_list[0] (a)", "litellm_params.model is missing"),
    ("model_list: []", "model_list", "no models"),
    ("model_list: [{model_name: a, litellm_params: {model: openai/x}}]\nparley: {default_model: b}",
     "parley.default_model", "'b'"),
    ("model_list: [{model_name: a, litellm_params: {model: openai/x}}]\nrouter_settings: {timeout: -1}",
     "router_settings.timeout", "seconds"),
    ("model_list: [{model_name: a, litellm_params: {model: openai/x}}]\n"
     "router_settings: {fallbacks: [{a: [zz]}]}", "router_settings.fallbacks", "'zz'"),
    ("model_list: [{model_name: a, litellm_params: {model: openai/x}}]\nparley: {privacy: maybe}",
     "parley.privacy", "none, store, hash"),
    ("model_list: [{model_name: a, litellm_params: {model: openai/x}}]\nmodels: []",
     "models", "is not a top-level key; did you mean 'model_list'?"),
])
def test_bad_config_names_file_key_and_fault(tmp_path, body, key, words):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert message.startswith(str(path))
    if key:
        assert key in message
    assert words in message


def test_invalid_yaml_reports_line(tmp_path):
    path = write(tmp_path, "model_list:\n  - model_name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+"):
        load_settings(path)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(tmp_path / "nope.yaml")


def test_defaults_without_file_list_models_whose_keys_are_present(monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-test-key-0000000")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-000000")
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://127.0.0.1:11434")
    settings = load_settings()
    assert settings.source == "environment"
    assert settings.model_names == ["gemini", "gpt", "ollama", "local"]
    assert settings.default_model == "gemini"
    assert {"gemini": ["gpt"]} in settings.router_settings["fallbacks"]
    assert settings.database_url.startswith("sqlite:///")


def test_defaults_with_no_keys_fall_back_to_the_bundled_model():
    settings = load_settings()
    assert settings.model_names == ["local"]
    assert settings.default_model == "local"
