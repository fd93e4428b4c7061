"""The real ``openai`` SDK against ``/v1/responses``: create plain and streamed, on an OpenAI
model and on others (LiteLLM's responses bridge), instructions, function tools and their
outputs, ``text.format``, and a stored response read back following ``parley.privacy``."""
from __future__ import annotations

import json

import pytest

TOOL = {"type": "function", "name": "get_weather", "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"], "additionalProperties": False}}


@pytest.mark.parametrize("model", ["gpt", "gemini", "claude"])
def test_a_response_from_any_model_is_answered_priced_and_recorded_once(in_process, model):
    api = in_process.openai(in_process.make_key("alice"))
    response = api.responses.create(model=model, instructions="Be brief.", input="Say hello")
    assert response.status == "completed" and response.output_text
    assert response.usage.output_tokens > 0
    [row] = in_process.records(1)
    assert row["model"] == model and row["total_cost"] > 0 and row["client"] == "openai-python"
    assert response.model_extra["parley"]["cost"] == pytest.approx(row["total_cost"])
    stored = api.responses.retrieve(response.id)
    assert stored.output_text == response.output_text


@pytest.mark.parametrize("model", ["gpt", "gemini"])
def test_a_streamed_response_has_the_responses_events(in_process, model):
    api = in_process.openai(in_process.make_key("alice"))
    events = list(api.responses.create(model=model, input="Count to five", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert "response.output_text.delta" in kinds and kinds[-1] == "response.completed"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == events[-1].response.output_text
    assert [e.sequence_number for e in events] == list(range(len(events)))
    [row] = in_process.records(1)
    assert row["status"] == "success" and row["total_cost"] > 0


@pytest.mark.parametrize("model", ["gpt", "gemini"])
def test_function_tools_round_trip(in_process, model):
    api = in_process.openai(in_process.make_key("alice"))
    first = api.responses.create(model=model, input="Weather in Paris?", tools=[TOOL],
                                 tool_choice="required")
    [call] = [item for item in first.output if item.type == "function_call"]
    assert call.name == "get_weather" and "city" in json.loads(call.arguments)
    second = api.responses.create(model=model, tools=[TOOL], input=[
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name,
         "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 21C"}])
    assert second.output_text
    assert len(in_process.records(2)) == 2


def test_a_streamed_function_call(in_process):
    api = in_process.openai(in_process.make_key("alice"))
    events = list(api.responses.create(model="gpt", input="Weather in Oslo?", tools=[TOOL],
                                       tool_choice="required", stream=True))
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert done and "city" in json.loads(done[0].arguments)


def test_structured_output_by_text_format(in_process):
    from pydantic import BaseModel

    class City(BaseModel):
        name: str
        country: str

    api = in_process.openai(in_process.make_key("alice"))
    parsed = api.responses.parse(model="gemini", input="Paris", text_format=City)
    assert isinstance(parsed.output_parsed, City)


def test_a_response_is_not_read_back_when_its_text_is_not_kept(api_env, monkeypatch):
    import yaml

    from tests.core.api.conftest import serve_in_process

    path = api_env["PARLEY_CONFIG"]
    config = yaml.safe_load(open(path))
    config["parley"]["privacy"] = "none"
    open(path, "w").write(yaml.safe_dump(config))
    for gateway in serve_in_process(api_env):
        api = gateway.openai(gateway.make_key("alice"))
        response = api.responses.create(model="gpt", input="Say hello")
        gateway.records(1)
        import openai

        with pytest.raises(openai.NotFoundError, match="does not keep"):
            api.responses.retrieve(response.id)
        with pytest.raises(openai.NotFoundError, match="No response"):
            gateway.openai(gateway.make_key("bob")).responses.retrieve(response.id)
