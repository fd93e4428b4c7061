"""Which models answer a Responses API body natively (core/llm/responses_native.py), and how a
Responses answer is read for pricing."""
from __future__ import annotations

from core.config import ModelConfig, build_settings
from core.llm.responses_native import answers_natively, as_chat


def _settings(*models: ModelConfig):
    return build_settings(models, {}, {"default_model": models[0].name}, "test", {})


def _model(name: str, litellm_model: str, **info) -> ModelConfig:
    return ModelConfig(name, {"model": litellm_model, "api_key": "sk-test-0000"}, info)


def test_only_models_whose_every_deployment_is_openais_answer_natively():
    settings = _settings(
        _model("gpt", "openai/gpt-4.1-mini"),
        _model("claude", "anthropic/claude-sonnet-4-5-20250929"),
        _model("mixed", "openai/gpt-4.1-mini"), _model("mixed", "anthropic/claude-sonnet-4-5-20250929"),
        _model("compatible", "openai/my-model", responses_api=False))
    assert [name for name in ("gpt", "claude", "mixed", "compatible", "unknown")
            if answers_natively(settings, name)] == ["gpt"]


def test_a_responses_answer_is_read_with_its_token_classes():
    response = {"id": "resp_1", "status": "completed", "model": "gpt-5-mini", "output": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Checked the map."}]},
        {"type": "message", "content": [{"type": "output_text", "text": "Paris."}]},
        {"type": "function_call", "call_id": "call_1", "name": "pin", "arguments": "{}"}],
        "usage": {"input_tokens": 30, "output_tokens": 12, "total_tokens": 42,
                  "input_tokens_details": {"cached_tokens": 8},
                  "output_tokens_details": {"reasoning_tokens": 9}}}
    chat = as_chat(response)
    message = chat.choices[0].message
    assert (message.content, message.reasoning_content) == ("Paris.", "Checked the map.")
    assert [(c.id, c.function.name) for c in message.tool_calls] == [("call_1", "pin")]
    assert chat.choices[0].finish_reason == "tool_calls"
    usage = chat.usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (30, 12)
    assert usage.prompt_tokens_details.cached_tokens == 8
    assert usage.completion_tokens_details.reasoning_tokens == 9
