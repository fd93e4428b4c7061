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


@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_previous_response_id_continues_a_stored_response(in_process, emulator, model):
    """The stored input and answer come before the new input (the old instructions do not);
    a chain of three carries the whole conversation."""
    api = in_process.openai(in_process.make_key("alice"))
    first = api.responses.create(model=model, instructions="Be brief.", input="My name is Ada.")
    second = api.responses.create(model=model, instructions="Answer in French.",
                                  input="What is my name?", previous_response_id=first.id)
    sent = json.dumps(emulator.requests[-1].body)
    assert "My name is Ada." in sent and first.output_text in sent
    assert "Be brief." not in sent and "Answer in French." in sent
    assert sent.index("My name is Ada.") < sent.index(first.output_text) < sent.index("What is my name?")
    api.responses.create(model=model, input="And again?", previous_response_id=second.id)
    sent = json.dumps(emulator.requests[-1].body)
    assert all(text in sent for text in ("My name is Ada.", "What is my name?",
                                         second.output_text, "And again?"))
    rows = in_process.records(3)
    assert json.loads(rows[1]["metadata"])["previous_response_id"] == first.id


def test_previous_response_id_is_streamed_too(in_process, emulator):
    api = in_process.openai(in_process.make_key("alice"))
    first = api.responses.create(model="gemini", input="My name is Ada.")
    with api.responses.stream(model="gemini", input="What is my name?",
                              previous_response_id=first.id) as stream:
        final = stream.get_final_response()
    assert final.output_text and "My name is Ada." in json.dumps(emulator.requests[-1].body)


def test_previous_response_id_only_of_the_same_user(in_process):
    """Another user's response is not found, even by an admin's key (an admin may read it on
    the console, not talk on in it)."""
    import openai

    from core.service import AIService

    first = in_process.openai(in_process.make_key("alice")).responses.create(
        model="gpt", input="A secret plan.")
    in_process.records(1)
    service = AIService.from_env()
    try:
        service.store.sync_admins(["root"])
        assert service.store.call(first.id.removeprefix("resp_"), as_user="root") is not None
    finally:
        service.close()
    for secret in (in_process.make_key("bob"), in_process.make_key("root")):
        with pytest.raises(openai.BadRequestError, match="not found"):
            in_process.openai(secret).responses.create(model="gpt", input="Go on.",
                                                       previous_response_id=first.id)
    with pytest.raises(openai.BadRequestError, match="not found"):
        in_process.openai(in_process.make_key("alice")).responses.create(
            model="gpt", input="Go on.", previous_response_id="resp_nothing-here")
    assert len(in_process.records(1)) == 1


def test_previous_response_id_when_text_is_not_kept_is_a_400_saying_why(api_env):
    import openai
    import yaml

    from tests.core.api.conftest import serve_in_process

    path = api_env["PARLEY_CONFIG"]
    config = yaml.safe_load(open(path))
    config["parley"]["privacy"] = "hash"
    open(path, "w").write(yaml.safe_dump(config))
    for gateway in serve_in_process(api_env):
        api = gateway.openai(gateway.make_key("alice"))
        first = api.responses.create(model="gpt", input="Say hello")
        with pytest.raises(openai.BadRequestError, match="parley.privacy is 'hash'"):
            api.responses.create(model="gpt", input="Go on.", previous_response_id=first.id)


def test_previous_response_id_after_function_calls_is_a_400_saying_why(in_process):
    import openai

    api = in_process.openai(in_process.make_key("alice"))
    first = api.responses.create(model="gpt", input="Weather in Paris?", tools=[TOOL],
                                 tool_choice="required")
    assert any(item.type == "function_call" for item in first.output)
    with pytest.raises(openai.BadRequestError, match="function calls"):
        api.responses.create(model="gpt", input="Go on.", previous_response_id=first.id)


def test_previous_response_id_after_an_image_is_a_400_saying_why(in_process):
    import base64

    import openai

    from tests.fakes.parts import png

    api = in_process.openai(in_process.make_key("alice"))
    image = "data:image/png;base64," + base64.b64encode(png("red")).decode()
    first = api.responses.create(model="gpt", input=[{"role": "user", "content": [
        {"type": "input_text", "text": "What colour is this?"},
        {"type": "input_image", "image_url": image}]}])
    assert first.output_text
    with pytest.raises(openai.BadRequestError, match="images or files"):
        api.responses.create(model="gpt", input="Go on.", previous_response_id=first.id)
