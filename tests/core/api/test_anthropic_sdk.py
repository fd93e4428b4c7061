"""The real ``anthropic`` SDK against ``/v1/messages``: plain, streamed, tools, count_tokens,
a Claude model (LiteLLM's native Anthropic provider) and a non-Claude one (LiteLLM's adapter),
errors in Anthropic's shape, and each answered call recorded once with its cost and client."""
from __future__ import annotations

import json

import pytest

anthropic = pytest.importorskip("anthropic")

TOOL = {"name": "get_weather", "description": "The weather in a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                         "required": ["city"]}}


def client(gateway, secret: str, **options):
    return anthropic.Anthropic(base_url=gateway.base_url, api_key=secret, http_client=gateway.http,
                               max_retries=0, **options)


@pytest.mark.parametrize("model", ["claude", "gemini", "gpt"])
def test_a_message_from_any_model_is_answered_priced_and_recorded_once(in_process, model):
    secret = in_process.make_key("alice")
    message = client(in_process, secret).messages.create(
        model=model, max_tokens=200, system=[{"type": "text", "text": "Be brief.",
                                              "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "Say hello"}], metadata={"user_id": "dev-7"})
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0
    [row] = in_process.records(1)
    assert row["model"] == model and row["status"] == "success" and row["total_cost"] > 0
    assert row["user_id"] == "alice" and row["client"] == "anthropic-python"
    assert json.loads(row["metadata"])["end_user"] == "dev-7"
    assert message.model_extra["parley"]["cost"] == pytest.approx(row["total_cost"])


@pytest.mark.parametrize("model", ["claude", "gemini"])
def test_a_stream_has_anthropics_event_sequence(in_process, model):
    secret = in_process.make_key("alice")
    with client(in_process, secret).messages.stream(
            model=model, max_tokens=200, messages=[{"role": "user", "content": "Count to five"}]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_start" in kinds and "content_block_delta" in kinds
    assert "message_delta" in kinds
    assert final.content[0].text and final.usage.output_tokens > 0
    [row] = in_process.records(1)
    assert row["status"] == "success" and row["total_cost"] > 0 and row["client"] == "anthropic-python"


@pytest.mark.parametrize("model", ["claude", "gemini"])
def test_tools_round_trip(in_process, model):
    api = client(in_process, in_process.make_key("alice"))
    first = api.messages.create(model=model, max_tokens=200, tools=[TOOL],
                                tool_choice={"type": "any"},
                                messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert first.stop_reason == "tool_use"
    use = next(b for b in first.content if b.type == "tool_use")
    assert use.name == "get_weather" and isinstance(use.input, dict)
    second = api.messages.create(model=model, max_tokens=200, tools=[TOOL], messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                      "content": "Sunny, 21C"}]}])
    assert second.content[0].type == "text" and second.stop_reason == "end_turn"
    assert len(in_process.records(2)) == 2


def test_a_streamed_tool_call_arrives_as_a_tool_use_block(in_process):
    api = client(in_process, in_process.make_key("alice"))
    with api.messages.stream(model="gemini", max_tokens=200, tools=[TOOL],
                             tool_choice={"type": "tool", "name": "get_weather"},
                             messages=[{"role": "user", "content": "Weather in Oslo?"}]) as stream:
        final = stream.get_final_message()
    use = next(b for b in final.content if b.type == "tool_use")
    assert use.name == "get_weather" and "city" in use.input
    assert final.stop_reason == "tool_use"


def test_count_tokens(in_process):
    api = client(in_process, in_process.make_key("alice"))
    counted = api.messages.count_tokens(model="claude", system="Be brief.", tools=[TOOL],
                                        messages=[{"role": "user", "content": "Say hello " * 20}])
    assert counted.input_tokens > 20


def test_x_api_key_and_bearer_both_authenticate_and_errors_are_anthropics(in_process):
    secret = in_process.make_key("alice", models=["gemini"])
    http = in_process.http
    body = {"model": "gemini", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    ok = http.post("/v1/messages?beta=true", json=body,
                   headers={"x-api-key": secret, "anthropic-version": "2023-06-01",
                            "anthropic-beta": "prompt-caching-2024-07-31"})
    assert ok.status_code == 200 and ok.json()["type"] == "message"
    assert http.post("/v1/messages", json=body, headers=in_process.headers(secret)).status_code == 200
    refused = http.post("/v1/messages", json={**body, "model": "claude"}, headers={"x-api-key": secret})
    assert refused.status_code == 403
    assert refused.json() == {"type": "error", "error": {"type": "permission_error",
                                                         "message": refused.json()["error"]["message"]}}
    with pytest.raises(anthropic.AuthenticationError):
        client(in_process, "pk-nope").messages.create(model="gemini", max_tokens=5,
                                                      messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.NotFoundError, match="no-such-model"):
        client(in_process, secret).messages.create(model="no-such-model", max_tokens=5,
                                                   messages=[{"role": "user", "content": "hi"}])
    assert http.head("/").status_code == 200


def test_a_provider_model_id_names_the_model_that_serves_it(in_process):
    api = client(in_process, in_process.make_key("alice"))
    message = api.messages.create(model="claude-sonnet-4-5-20250929", max_tokens=50,
                                  messages=[{"role": "user", "content": "hi"}])
    assert message.model == "claude"


@pytest.mark.parametrize("model", ["claude", "gemini"])
def test_thinking_comes_back_as_a_thinking_block(in_process, model):
    api = client(in_process, in_process.make_key("alice"))
    message = api.messages.create(model=model, max_tokens=2000,
                                  thinking={"type": "enabled", "budget_tokens": 1024},
                                  messages=[{"role": "user", "content": "Why is the sky blue?"}])
    kinds = [block.type for block in message.content]
    assert kinds[0] == "thinking" and "text" in kinds
    assert message.content[0].thinking
    with api.messages.stream(model=model, max_tokens=2000,
                             thinking={"type": "enabled", "budget_tokens": 1024},
                             messages=[{"role": "user", "content": "Why is the sky blue?"}]) as stream:
        final = stream.get_final_message()
    # as Anthropic streams it: the thinking first, as it comes, then the text (Claude Code
    # takes the answer from the text after the thinking; after it, it printed nothing)
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == message.content[0].thinking
    assert final.content[1].text == next(b.text for b in message.content if b.type == "text")


def test_stop_sequences_and_an_image_reach_the_provider(in_process, emulator):
    import base64

    from tests.fakes.parts import png

    api = client(in_process, in_process.make_key("alice"))
    picture = base64.b64encode(png("red")).decode()
    message = api.messages.create(model="claude", max_tokens=100, stop_sequences=["STOP"],
                                  messages=[{"role": "user", "content": [
                                      {"type": "image", "source": {"type": "base64",
                                                                   "media_type": "image/png",
                                                                   "data": picture}},
                                      {"type": "text", "text": "What is this?"}]}])
    assert "[seen: image/png]" in message.content[0].text
    sent = emulator.requests[-1].body
    assert sent["stop_sequences"] == ["STOP"]


@pytest.mark.parametrize("model", ["claude", "gemini"])
def test_a_pdf_document_reaches_the_model(in_process, model):
    import base64

    pdf = base64.b64encode(b"%PDF-1.4\n1 0 obj<</Type /Page>>endobj\n%%EOF").decode()
    api = client(in_process, in_process.make_key("alice"))
    message = api.messages.create(model=model, max_tokens=100, messages=[{"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf}},
        {"type": "text", "text": "Summarise this"}]}])
    assert "application/pdf" in message.content[0].text


def test_prompt_cache_breakpoints_and_usage_reach_claude_code_on_claude(api_env, emulator):
    """``cache_control_injection_points`` on the Claude deployment (LiteLLM's, per model, so a
    fallback to another provider never sees it) marks the system prompt; the cache's usage
    comes back in Anthropic's fields, with ``input_tokens`` the uncached rest."""
    import yaml

    from tests.core.api.conftest import serve_in_process
    from tests.emulated import PROVIDER_MODELS
    from tests.fakes import Reply

    path = api_env["PARLEY_CONFIG"]
    config = yaml.safe_load(open(path))
    for model in config["model_list"]:
        if model["model_name"] == "claude":
            model["litellm_params"]["cache_control_injection_points"] = [
                {"location": "message", "role": "system"}]
    open(path, "w").write(yaml.safe_dump(config))
    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(input_tokens=1000, cached_tokens=600,
                                                      cache_creation_tokens=300))
    for gateway in serve_in_process(api_env):
        message = client(gateway, gateway.make_key("alice")).messages.create(
            model="claude", max_tokens=50, system="You are a careful coding agent. " * 20,
            messages=[{"role": "user", "content": "hi"}])
        [row] = gateway.records(1)
    assert emulator.requests[-1].body["system"][0]["cache_control"] == {"type": "ephemeral"}
    usage = message.usage
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (600, 300)
    assert usage.input_tokens + 600 + 300 == row["input_tokens"]
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (600, 300)


def test_the_clients_own_cache_marks_reach_claude_and_its_cache_usage_is_priced(in_process, emulator):
    """An SDK client's ``cache_control`` on its system prompt, a turn and a tool reaches
    Anthropic (with its ttl); the cache's usage comes back in Anthropic's fields and is priced
    (a cached read costs less than the same tokens uncached)."""
    from tests.emulated import PROVIDER_MODELS
    from tests.fakes import Reply

    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(input_tokens=1000, output_tokens=10,
                                                      cached_tokens=800))
    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(input_tokens=1000, output_tokens=10))
    api = client(in_process, in_process.make_key("alice"))
    mark = {"type": "ephemeral", "ttl": "1h"}
    marked_tool = {**TOOL, "cache_control": {"type": "ephemeral"}}
    cached = api.messages.create(
        model="claude", max_tokens=50, tools=[marked_tool],
        system=[{"type": "text", "text": "You are a careful coding agent.", "cache_control": mark}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "Here is the repo.",
                                                "cache_control": {"type": "ephemeral"}}]},
                  {"role": "assistant", "content": "Read it."},
                  {"role": "user", "content": "What does it do?"}])
    sent = emulator.requests[-1].body
    assert sent["system"][-1]["cache_control"] == mark
    assert sent["messages"][0]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in json.dumps(sent["messages"][1:])
    assert sent["tools"][0]["cache_control"] == {"type": "ephemeral"}
    assert (cached.usage.cache_read_input_tokens, cached.usage.input_tokens) == (800, 200)
    api.messages.create(model="claude", max_tokens=50,
                        messages=[{"role": "user", "content": "What does it do?"}])
    assert "cache_control" not in json.dumps(emulator.requests[-1].body)
    first, second = in_process.records(2)
    assert (first["cache_read_tokens"], first["input_tokens"]) == (800, 1000)
    assert first["output_tokens"] == second["output_tokens"]
    assert 0 < first["total_cost"] < second["total_cost"]


def test_cache_marks_are_not_sent_to_a_model_of_another_provider(in_process, emulator):
    """Gemini would read a mark as a request to create a context cache: it is left out."""
    api = client(in_process, in_process.make_key("alice"))
    api.messages.create(model="gemini", max_tokens=50, system=[
        {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "hi"}])
    assert "cache_control" not in json.dumps(emulator.requests[-1].body)
    assert "cachedContent" not in json.dumps(emulator.requests[-1].body)


def test_a_fallback_from_claude_answers_a_marked_request(in_process, emulator):
    """Claude overloaded: Gemini (the fallback) answers the same marked messages, and is asked
    for no context cache."""
    from tests.emulated import PROVIDER_MODELS
    from tests.fakes import Fault

    for _ in range(5):
        emulator.enqueue(PROVIDER_MODELS["claude"], Fault("529"))
    mark = {"type": "ephemeral"}
    message = client(in_process, in_process.make_key("alice")).messages.create(
        model="claude", max_tokens=50,
        system=[{"type": "text", "text": "Be brief.", "cache_control": mark}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "Here is the repo.",
                                                "cache_control": mark}]},
                  {"role": "assistant", "content": "Read it."},
                  {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": mark}]}])
    assert message.model_extra["parley"]["served_by"] == "gemini" and message.content[0].text
    assert [r.path for r in emulator.requests if "gemini" in r.path or "cached" in r.path] == [
        "/v1beta/models/gemini-2.5-flash:generateContent"]


def test_a_streamed_message_forwards_the_marks_and_prices_a_cache_write(in_process, emulator):
    """Streamed: the marks reach Claude, ``message_delta`` carries the cache write, and writing
    the cache costs more than the same tokens uncached (Anthropic's 1.25x)."""
    from tests.emulated import PROVIDER_MODELS
    from tests.fakes import Reply

    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(input_tokens=1000, output_tokens=10,
                                                      cache_creation_tokens=900))
    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(input_tokens=1000, output_tokens=10))
    api = client(in_process, in_process.make_key("alice"))
    with api.messages.stream(model="claude", max_tokens=50, system=[
            {"type": "text", "text": "You are a careful coding agent.",
             "cache_control": {"type": "ephemeral"}}],
            messages=[{"role": "user", "content": "hi"}]) as stream:
        final = stream.get_final_message()
    assert emulator.requests[-1].body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert (final.usage.cache_creation_input_tokens, final.usage.input_tokens) == (900, 100)
    api.messages.create(model="claude", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    written, plain = in_process.records(2)
    assert (written["cache_write_tokens"], written["input_tokens"]) == (900, 1000)
    assert written["total_cost"] > plain["total_cost"] > 0


def test_a_mark_on_a_tool_result_reaches_claude(in_process, emulator):
    """Claude Code marks the conversation's last block, often a ``tool_result``."""
    api = client(in_process, in_process.make_key("alice"))
    api.messages.create(model="claude", max_tokens=50, tools=[TOOL], messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                      "content": "Sunny", "cache_control": {"type": "ephemeral"}}]}])
    sent = emulator.requests[-1].body["messages"]
    assert sent[-1]["content"][-1]["type"] == "tool_result"
    assert sent[-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in json.dumps(sent[:-1])


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_a_tool_loop_with_thinking_sends_back_the_signed_thinking_block(in_process, emulator, stream):
    """Claude Code's loop: with thinking on, the model thinks and calls a tool; the client
    sends that assistant turn back, its signed thinking block first, with the tool's result.
    Anthropic refuses the second request unless the block and its signature reach it (the
    emulator checks both, as the API does)."""
    from tests.fakes import Reply, ToolCall

    api = client(in_process, in_process.make_key("alice"))
    emulator.enqueue("claude-sonnet-4-5-20250929",
                     Reply(text="", reasoning="I should look it up.",
                           tool_calls=(ToolCall("get_weather", {"city": "Paris"}),)))
    asked = dict(model="claude", max_tokens=2000, tools=[TOOL],
                 thinking={"type": "enabled", "budget_tokens": 1024})
    question = {"role": "user", "content": "What is the weather in Paris?"}
    if stream:
        with api.messages.stream(messages=[question], **asked) as events:
            first = events.get_final_message()
    else:
        first = api.messages.create(messages=[question], **asked)
    assert [block.type for block in first.content] == ["thinking", "tool_use"]
    call = first.content[1]
    answer = api.messages.create(messages=[
        question, {"role": "assistant", "content": [block.model_dump() for block in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id,
                                      "content": "Sunny, 21 C"}]}], **asked)
    assert [r.outcome for r in emulator.requests] == ["reply", "reply"]  # nothing refused
    assert answer.model == "claude" and [b.type for b in answer.content][-1] == "text"
    sent_back = emulator.requests[-1].body["messages"][1]["content"][0]
    assert sent_back["type"] == "thinking" and sent_back["thinking"] == "I should look it up."
