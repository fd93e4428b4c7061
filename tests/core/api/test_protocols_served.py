"""The new protocols served every way the API is (in-process, ``python -m core serve``, inside
Streamlit): an Anthropic message and a Responses API response, plain and streamed, and the
catch-all's error in the caller's shape."""
from __future__ import annotations

import pytest

anthropic = pytest.importorskip("anthropic")


def test_messages_and_responses_are_served_every_way(gateway):
    secret = gateway.make_key("alice")
    own_client = gateway.base_url == "http://testserver"  # only the in-process app needs its client
    api = anthropic.Anthropic(base_url=gateway.base_url, api_key=secret, max_retries=0,
                              **({"http_client": gateway.http} if own_client else {}))
    message = api.messages.create(model="gemini", max_tokens=100,
                                  messages=[{"role": "user", "content": "Say hello"}])
    with api.messages.stream(model="claude", max_tokens=100,
                             messages=[{"role": "user", "content": "Say hello"}]) as stream:
        streamed = stream.get_final_message()
    assert message.content[0].text and streamed.content[0].text
    openai = gateway.openai(secret)
    response = openai.responses.create(model="gpt", input="Say hello")
    events = list(openai.responses.create(model="gemini", input="Say hello", stream=True))
    assert response.output_text and events[-1].type == "response.completed"
    rows = gateway.records(4)
    assert len(rows) == 4 and all(r["total_cost"] > 0 for r in rows)
    assert [r["client"] for r in rows] == ["anthropic-python"] * 2 + ["openai-python"] * 2
    missing = gateway.http.post(f"{gateway.base_url}/v1/messages/nothing", json={},
                                headers={"x-api-key": secret})
    assert missing.status_code == 404 and missing.json()["type"] == "error"


def test_a_response_is_continued_right_after_it_was_answered_every_way(gateway, emulator):
    """``previous_response_id`` straight after the answer, before anything asked the server
    to ship its records: the server finds its own call."""
    import json

    openai = gateway.openai(gateway.make_key("alice"))
    first = openai.responses.create(model="gpt", input="My name is Ada.")
    second = openai.responses.create(model="gpt", input="What is my name?",
                                     previous_response_id=first.id)
    assert second.output_text and "My name is Ada." in json.dumps(emulator.requests[-1].body)
