"""``/v1/responses`` on an OpenAI model is answered by the provider's own ``/v1/responses``
(core/llm/responses_native.py): the body reaches it as the client sent it, and the call is
still planned, priced from the Responses usage (input, cached, output and reasoning tokens)
and recorded once; a failure before the first event falls back; any other model goes through
LiteLLM's responses bridge."""
from __future__ import annotations

import json
import time

import httpx
import openai
import pytest
import yaml

from tests.core.api.conftest import serve_in_process
from tests.fakes import Fault, Reply

TOOL = {"type": "function", "name": "get_weather", "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"], "additionalProperties": False}}
GPT = "gpt-4.1-mini"


def _price(input_tokens: int, cached: int, output_tokens: int) -> float:
    """What LiteLLM's cost map charges gpt-4.1-mini for these tokens (cache reads at their rate)."""
    from core.llm import runtime

    prices = runtime.load().model_cost[GPT]
    return ((input_tokens - cached) * prices["input_cost_per_token"]
            + cached * prices["cache_read_input_token_cost"]
            + output_tokens * prices["output_cost_per_token"])


def _native_requests(emulator) -> list:
    return [r for r in emulator.requests if r.model == GPT]


def test_an_openai_model_answers_natively_priced_exactly_and_recorded_once(in_process, emulator):
    emulator.enqueue(GPT, Reply("Hello there, Ada.", input_tokens=40, cached_tokens=16,
                                reasoning_tokens=5))
    api = in_process.openai(in_process.make_key("alice"))
    response = api.responses.create(model="gpt", instructions="Be brief.", input="Say hello",
                                    max_output_tokens=200)
    [sent] = _native_requests(emulator)
    assert sent.path.endswith("/v1/responses") and sent.protocol == "openai"
    assert sent.body["instructions"] == "Be brief." and sent.body["input"] == "Say hello"
    assert sent.body["max_output_tokens"] == 200
    assert sent.body["model"] == GPT
    billed = sent.usage
    assert response.output_text == "Hello there, Ada."
    assert response.usage.input_tokens == billed.input_tokens == 40
    assert response.usage.input_tokens_details.cached_tokens == 16
    assert response.usage.output_tokens_details.reasoning_tokens == 5
    [row] = in_process.records(1)
    assert (row["input_tokens"], row["output_tokens"]) == (billed.input_tokens, billed.output_tokens)
    assert (row["cache_read_tokens"], row["reasoning_tokens"]) == (16, 5)
    expected = _price(billed.input_tokens, 16, billed.output_tokens)
    assert row["total_cost"] == pytest.approx(expected)
    assert response.model_extra["parley"]["cost"] == pytest.approx(expected)
    assert response.id == f"resp_{row['litellm_call_id']}" and response.model == "gpt"
    assert api.responses.retrieve(response.id).output_text == "Hello there, Ada."


def test_reasoning_reaches_a_reasoning_model_and_unpriced_tools_are_refused(api_env, emulator):
    """What only the Responses API has is sent on as the client wrote it; the provider keeps
    no copy (``store`` false, whatever the client asked); a built-in tool, billed per use at a
    rate Parley cannot price, and a file by URL are refused before anything is sent."""
    path = api_env["PARLEY_CONFIG"]
    config = yaml.safe_load(open(path))
    config["model_list"].append({"model_name": "gpt5", "litellm_params": {
        "model": "openai/gpt-5-mini", "api_key": "os.environ/OPENAI_API_KEY",
        "api_base": emulator.openai_base}})
    open(path, "w").write(yaml.safe_dump(config))
    emulator.enqueue("gpt-5-mini", Reply("Thought it through.", reasoning_tokens=7))
    for gateway in serve_in_process(api_env):
        api = gateway.openai(gateway.make_key("alice"))
        response = api.responses.create(model="gpt5", input="Think first", tools=[TOOL],
                                        tool_choice="auto", reasoning={"effort": "high"},
                                        include=["reasoning.encrypted_content"], store=True,
                                        service_tier="priority", user="someone-else@example.com")
        [sent] = emulator.requests
        assert sent.path.endswith("/v1/responses") and sent.model == "gpt-5-mini"
        assert sent.body["reasoning"] == {"effort": "high"} and sent.body["tools"] == [TOOL]
        assert sent.body["include"] == ["reasoning.encrypted_content"] and sent.body["store"] is False
        assert "service_tier" not in sent.body and "user" not in sent.body
        assert response.usage.output_tokens_details.reasoning_tokens == 7
        [row] = gateway.records(1)
        assert row["model"] == "gpt5" and row["reasoning_tokens"] == 7
        refused = [
            ({"tools": [{"type": "web_search_preview"}]}, "function tools only"),
            ({"input": [{"role": "user", "content": [
                {"type": "input_file", "file_url": "http://127.0.0.1:9/secret.pdf"}]}]}, "data: URL"),
            ({"input": [{"role": "user", "content": [
                {"type": "input_image", "image_url": "http://127.0.0.1:9/x.png"}]}]}, "data: URL"),
            ({"input": [{"type": "item_reference", "id": "msg_123"}]}, "stored items"),
        ]
        for extra, says in refused:
            body = {"model": "gpt5", "input": "Think first", **extra}
            with pytest.raises(openai.BadRequestError, match=says):
                api.responses.create(**body)
        assert len(emulator.requests) == 1 and len(gateway.records(1)) == 1


def test_a_native_stream_forwards_the_providers_events_and_records_once(in_process, emulator):
    emulator.enqueue(GPT, Reply("one two three four five", cached_tokens=2))
    api = in_process.openai(in_process.make_key("alice"))
    events = list(api.responses.create(model="gpt", input="Count to five", stream=True))
    [sent] = _native_requests(emulator)
    assert sent.path.endswith("/v1/responses") and sent.stream
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    final = events[-1].response
    assert deltas == final.output_text == "one two three four five"
    [row] = in_process.records(1)
    assert {events[0].response.id, final.id} == {f"resp_{row['litellm_call_id']}"}
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"]) == (
        sent.usage.input_tokens, sent.usage.output_tokens, 2)
    assert row["status"] == "success" and json.loads(row["metadata"]).get("tokens_estimated") is None
    assert row["total_cost"] == pytest.approx(_price(sent.usage.input_tokens, 2,
                                                     sent.usage.output_tokens))
    assert final.model_extra["parley"]["cost"] == pytest.approx(row["total_cost"])


def test_a_function_call_round_trip_reaches_the_provider_unchanged(in_process, emulator):
    api = in_process.openai(in_process.make_key("alice"))
    first = api.responses.create(model="gpt", input="Weather in Paris?", tools=[TOOL],
                                 tool_choice="required")
    [call] = [item for item in first.output if item.type == "function_call"]
    items = [{"role": "user", "content": "Weather in Paris?"},
             {"type": "function_call", "call_id": call.call_id, "name": call.name,
              "arguments": call.arguments},
             {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 21C"}]
    second = api.responses.create(model="gpt", tools=[TOOL], input=items)
    sent = _native_requests(emulator)
    assert len(sent) == 2 and all(r.path.endswith("/v1/responses") for r in sent)
    assert sent[0].body["tools"] == [TOOL]
    assert sent[1].body["input"][1:] == items[1:]
    assert second.output_text == "Echo: get_weather returned Sunny, 21C"
    rows = in_process.records(2)
    assert [r["tool_calls"] for r in rows] == [1, 0]


def test_text_format_json_schema_reaches_the_provider(in_process, emulator):
    from pydantic import BaseModel

    class City(BaseModel):
        name: str
        country: str

    api = in_process.openai(in_process.make_key("alice"))
    parsed = api.responses.parse(model="gpt", input="Paris", text_format=City)
    assert isinstance(parsed.output_parsed, City)
    [sent] = _native_requests(emulator)
    assert sent.body["text"]["format"]["type"] == "json_schema"
    assert sent.body["text"]["format"]["schema"]["required"] == ["name", "country"]


def test_another_provider_still_answers_through_the_bridge(in_process, emulator):
    api = in_process.openai(in_process.make_key("alice"))
    response = api.responses.create(model="claude", instructions="Be brief.", input="Say hello")
    assert response.output_text == "Echo: Say hello"
    [sent] = emulator.requests
    assert sent.protocol == "anthropic" and sent.path.endswith("/v1/messages")
    [row] = in_process.records(1)
    assert row["model"] == "claude" and row["input_tokens"] == sent.usage.input_tokens


@pytest.mark.parametrize("stream", [False, True])
def test_a_failure_before_the_first_event_falls_back(api_env, emulator, stream):
    path = api_env["PARLEY_CONFIG"]
    config = yaml.safe_load(open(path))
    config["router_settings"]["fallbacks"] = [{"gpt": ["gemini"]}]
    open(path, "w").write(yaml.safe_dump(config))
    emulator.set_default(GPT, Fault("503"))
    for gateway in serve_in_process(api_env):
        api = gateway.openai(gateway.make_key("alice"))
        if stream:
            events = list(api.responses.create(model="gpt", input="Say hello", stream=True))
            final = events[-1].response
        else:
            final = api.responses.create(model="gpt", input="Say hello")
        assert final.output_text == "Echo: Say hello"
        assert final.model_extra["parley"]["served_by"] == "gemini"
        rows = gateway.records(2)
        success = [r for r in rows if r["status"] == "success"]
        assert [r["model"] for r in success] == ["gemini"]
        assert {r["model"] for r in rows if r["status"] == "failure"} == {"gpt"}
        assert all(r.path.endswith("/v1/responses") for r in _native_requests(emulator))


def test_a_client_that_hangs_up_a_native_stream_is_recorded_with_what_was_sent(served, emulator):
    words = " ".join(f"word{i}" for i in range(200))
    emulator.set_default(GPT, Reply(words, tokens_per_second=20))
    secret = served.make_key("erin")
    received = []
    with httpx.Client(timeout=30) as client:
        with client.stream("POST", f"{served.base_url}/v1/responses",
                           headers={"Authorization": f"Bearer {secret}"},
                           json={"model": "gpt", "stream": True, "input": "talk"}) as response:
            call_id = response.headers["x-parley-call-id"]
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    event = json.loads(line[6:])
                    if event["type"] == "response.output_text.delta":
                        received.append(event["delta"])
                if len("".join(received)) > 30:
                    break  # hang up
    rows = []
    deadline = time.monotonic() + 20
    while not rows and time.monotonic() < deadline:
        rows = [r for r in served.records(0, timeout=0) if r["litellm_call_id"] == call_id]
        time.sleep(0.2)
    [row] = rows
    assert (row["user_id"], row["status"], row["error_class"]) == ("erin", "failure", "abandoned")
    assert row["response"].startswith("".join(received)) and len(row["response"]) < len(words)
    assert row["output_tokens"] > 0 and row["total_cost"] > 0
    [sent] = _native_requests(emulator)
    assert sent.path.endswith("/v1/responses")
    deadline = time.monotonic() + 20
    while not sent.hung_up and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sent.hung_up


def test_a_native_stream_cut_after_its_first_text_ends_with_an_error_event(in_process, emulator):
    """After text was sent nothing falls back: the client gets an ``error`` event, and the
    call is recorded once as failed, with the text that was sent."""
    # paced, so the first pieces reach the client before the drop (all at once, the drop
    # could arrive first, and the call would rightly fall back instead)
    emulator.enqueue(GPT, Fault("cut", after_pieces=3, tokens_per_second=200))
    response = in_process.http.post(
        f"{in_process.base_url}/v1/responses", headers=in_process.headers(in_process.make_key()),
        json={"model": "gpt", "stream": True, "input": "one two three four five"})
    events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "error" and "response.completed" not in kinds
    sent = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert sent
    [row] = in_process.records(1)
    assert row["status"] == "failure" and row["response"] == sent
    assert len(_native_requests(emulator)) == 1


@pytest.mark.parametrize("field, value", [
    ("api_base", "ELSEWHERE"), ("base_url", "ELSEWHERE"), ("api_key", "sk-attacker-0000"),
    ("extra_headers", {"x-stolen": "yes"}), ("custom_llm_provider", "anthropic"),
    ("mock_response", "free answer"), ("metadata", {"model_group": "claude"})])
def test_a_body_cannot_steer_where_the_call_goes_or_with_what_key(in_process, emulator, field, value):
    """Only the Responses API's own fields are sent on: a key holder who adds LiteLLM's
    call settings to the body reaches no other server, sends no other key and gets no free
    answer; the call goes where the configuration says, with its key, and is recorded."""
    from tests.fakes import ProviderEmulator

    elsewhere = ProviderEmulator("127.0.0.1", 0).start()
    try:
        if value == "ELSEWHERE":
            value = elsewhere.openai_base
        api = in_process.openai(in_process.make_key("alice"))
        response = api.responses.create(model="gpt", input="Say hello", extra_body={field: value})
        assert elsewhere.requests == []
        [sent] = _native_requests(emulator)
        assert sent.headers["authorization"] != "Bearer sk-attacker-0000"
        assert "x-stolen" not in sent.headers and field not in sent.body
        assert response.output_text == "Echo: Say hello"
        [row] = in_process.records(1)
        assert row["model"] == "gpt" and row["total_cost"] > 0
    finally:
        elsewhere.stop()
