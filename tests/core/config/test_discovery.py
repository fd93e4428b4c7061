"""Local model servers from the environment or parley.yaml: listed from the server's own model
list, callable through LiteLLM, and shown as unavailable (not an error) when unreachable."""
from __future__ import annotations

import socket

import yaml

from core import AIService
from core.catalog import Catalog
from core.config import load_settings
from core.config.discovery import discover
from tests.fakes import Reply


def _dead_url() -> str:
    with socket.socket() as sock:  # a port nobody listens on once this socket closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_vllm_models_come_from_the_servers_model_list(emulator):
    emulator.list_models("qwen2.5-7b", "llama-3.1-8b")
    settings = load_settings(env={"VLLM_BASE_URL": emulator.openai_base})
    catalog = Catalog(settings)
    assert {"vllm/qwen2.5-7b", "vllm/llama-3.1-8b"} <= set(catalog.names())
    entry = catalog.get("vllm/qwen2.5-7b")
    assert entry.available and entry.provider == "vllm" and entry.price_label() == "local"


def test_a_listed_model_answers_through_litellm_with_exact_usage(emulator):
    emulator.list_models("qwen2.5-7b")
    emulator.enqueue("qwen2.5-7b", Reply("Bonjour"))
    svc = AIService.from_env({"LM_STUDIO_BASE_URL": emulator.openai_base}, record=False)
    try:
        result = svc.generate_sync("Say hello in French", model="lm_studio/qwen2.5-7b")
    finally:
        svc.close()
    assert result.content == "Bonjour"
    assert result.input_tokens == emulator.requests[-1].usage.input_tokens
    assert result.cost == 0.0 and result.price_known


def test_ollama_lists_its_tags_and_model_var_narrows_to_one(emulator):
    emulator.list_models("llama3.2", "mistral")
    found = discover("ollama", emulator.url)
    assert found.reachable and found.models == ("llama3.2", "mistral")
    settings = load_settings(env={"OLLAMA_BASE_URL": emulator.url, "OLLAMA_MODEL": "mistral"})
    assert [n for n in settings.model_names if n.startswith("ollama")] == ["ollama/mistral"]


def test_an_unreachable_server_is_listed_as_unavailable_not_an_error():
    url = _dead_url()
    settings = load_settings(env={"OLLAMA_BASE_URL": url})
    entry = Catalog(settings).get("ollama")
    assert not entry.available
    assert "not reachable" in entry.missing[0] and url in entry.missing[0]
    assert settings.default_model != "ollama"  # the default is something that can answer


def test_endpoints_in_parley_yaml(emulator, tmp_path):
    emulator.list_models("phi-4")
    config = tmp_path / "parley.yaml"
    config.write_text(yaml.safe_dump({"model_list": [], "parley": {
        "endpoints": {"vllm": emulator.openai_base, "ollama": _dead_url()}}}))
    catalog = Catalog(load_settings(config, env={}))
    assert catalog.get("vllm/phi-4").available
    assert not catalog.get("ollama").available
