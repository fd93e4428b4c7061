"""Streams over a real connection: ``curl -N`` sees OpenAI's SSE, and a client that hangs up
mid-answer leaves a record of an abandoned call with what was sent (under ``serve`` and
inside Streamlit)."""
from __future__ import annotations

import json
import shutil
import subprocess
import time

import httpx
import pytest

from tests.fakes import Reply

LONG = " ".join(f"word{i}" for i in range(200))


@pytest.fixture(params=["served", "in_streamlit"])
def server(request):
    return request.getfixturevalue(request.param)


def test_curl_shows_the_sse_stream(served, emulator):
    if shutil.which("curl") is None:
        pytest.fail("curl is needed for this test")
    emulator.enqueue("gemini-2.5-flash", Reply("alpha beta gamma"))
    secret = served.make_key()
    out = subprocess.run(
        ["curl", "-sN", f"{served.base_url}/v1/chat/completions", "-H", f"Authorization: Bearer {secret}",
         "-H", "content-type: application/json",
         "-d", json.dumps({"model": "gemini", "stream": True,
                           "messages": [{"role": "user", "content": "hi"}]})],
        capture_output=True, text=True, timeout=60).stdout
    events = [line[len("data: "):] for line in out.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == \
        "alpha beta gamma"
    assert chunks[-1]["usage"]["completion_tokens"] == 3
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}


@pytest.mark.parametrize("model, provider_model", [("gemini", "gemini-2.5-flash"),
                                                    ("gpt", "gpt-4.1-mini")])  # gpt: the fast path
def test_a_client_that_hangs_up_mid_stream_is_recorded_as_abandoned(server, emulator, model,
                                                                     provider_model):
    emulator.set_default(provider_model, Reply(LONG, tokens_per_second=20))
    secret = server.make_key("erin")
    received = []
    with httpx.Client(timeout=30) as client:
        with client.stream("POST", f"{server.base_url}/v1/chat/completions",
                           headers={"Authorization": f"Bearer {secret}"},
                           json={"model": model, "stream": True,
                                 "messages": [{"role": "user", "content": "talk"}]}) as response:
            call_id = response.headers["x-parley-call-id"]
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    delta = json.loads(line[6:])["choices"][0]["delta"].get("content")
                    received.append(delta or "")
                if len("".join(received)) > 30:
                    break  # hang up
    rows = []
    deadline = time.monotonic() + 20
    while not rows and time.monotonic() < deadline:
        rows = [r for r in server.records(0, timeout=0) if r["litellm_call_id"] == call_id]
        time.sleep(0.2)
    [row] = rows
    assert (row["user_id"], row["status"], row["error_class"]) == ("erin", "failure", "abandoned")
    sent = "".join(received)
    assert row["response"].startswith(sent) and len(row["response"]) < len(LONG)
    assert row["output_tokens"] > 0 and row["total_cost"] > 0  # what the provider billed, estimated
    assert json.loads(row["metadata"])["tokens_estimated"] is True
    sent_on = emulator.requests[-1]
    deadline = time.monotonic() + 20
    while not sent_on.hung_up and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sent_on.hung_up  # the provider's stream was closed too: it stops generating


def test_the_fast_path_answers_every_client_protocol(served, emulator):
    """gpt (an OpenAI-compatible deployment) answers OpenAI's and Anthropic's clients, plain
    and streamed, read by Parley itself (no openai SDK headers reach the provider)."""
    emulator.set_default("gpt-4.1-mini", Reply("alpha beta gamma delta"))
    secret = served.make_key()
    openai_headers = {"Authorization": f"Bearer {secret}"}
    anthropic_headers = {"x-api-key": secret, "anthropic-version": "2023-06-01"}
    ask = [{"role": "user", "content": "hi"}]
    with httpx.Client(timeout=30) as client:
        plain = client.post(f"{served.base_url}/v1/chat/completions", headers=openai_headers,
                            json={"model": "gpt", "messages": ask}).json()
        assert plain["choices"][0]["message"]["content"] == "alpha beta gamma delta"
        assert plain["usage"]["completion_tokens"] == 4 and plain["parley"]["cost"] > 0
        streamed = client.post(f"{served.base_url}/v1/chat/completions", headers=openai_headers,
                               json={"model": "gpt", "messages": ask, "stream": True}).text
        chunks = [json.loads(line[6:]) for line in streamed.splitlines()
                  if line.startswith("data: {")]
        assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks
                       if c["choices"]) == "alpha beta gamma delta"
        assert chunks[-1]["usage"]["completion_tokens"] == 4
        message = client.post(f"{served.base_url}/v1/messages", headers=anthropic_headers,
                              json={"model": "gpt", "max_tokens": 50, "messages": ask}).json()
        assert message["content"][0]["text"] == "alpha beta gamma delta"
        assert message["usage"]["output_tokens"] == 4
        events = client.post(f"{served.base_url}/v1/messages", headers=anthropic_headers,
                             json={"model": "gpt", "max_tokens": 50, "messages": ask,
                                   "stream": True}).text
        deltas = [json.loads(line[6:]) for line in events.splitlines() if line.startswith("data: ")]
        assert "".join(d["delta"].get("text", "") for d in deltas
                       if d["type"] == "content_block_delta") == "alpha beta gamma delta"
        assert deltas[-1]["type"] == "message_stop"
    sent = [r for r in emulator.requests if r.protocol == "openai"]
    assert len(sent) == 4
    assert not any(name.startswith("x-stainless") for r in sent for name in r.headers)
