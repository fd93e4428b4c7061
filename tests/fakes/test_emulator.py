"""The provider emulator, exercised through real LiteLLM calls: every protocol answers with the
scripted content and usage, and every fault becomes the exception LiteLLM really raises for it."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import httpx  # noqa: E402
import litellm  # noqa: E402
import pytest  # noqa: E402
from litellm.exceptions import MidStreamFallbackError  # noqa: E402

from tests.fakes import Fault, ProviderEmulator, Reply, Usage  # noqa: E402
from tests.paths import REPO

MODES = ("sync", "async", "stream", "astream")
PROTOCOLS = {
    "openai": ("openai/gpt-4.1-mini", "gpt-4.1-mini", "openai_base"),
    "anthropic": ("anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929", "anthropic_base"),
    "gemini": ("gemini/gemini-2.5-flash", "gemini-2.5-flash", "gemini_base"),
}
MESSAGES = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Why is the sky blue at noon?"}]
REPO_ROOT = REPO

E = litellm
MID = MidStreamFallbackError
# What LiteLLM 1.106.2 raises for each fault, per protocol, for (non-streaming, streaming) calls.
# Gemini streams open their HTTP request lazily, so most of their errors arrive wrapped in
# MidStreamFallbackError (its .original_exception is the class of the non-streaming column).
RAISES = {
    "server_error": {"openai": (E.InternalServerError,) * 2, "anthropic": (E.InternalServerError,) * 2,
                     "gemini": (E.InternalServerError, MID)},
    "unavailable": {"openai": (E.ServiceUnavailableError,) * 2, "anthropic": (E.ServiceUnavailableError,) * 2,
                    "gemini": (E.InternalServerError, MID)},
    "overloaded": {"openai": (E.ServiceUnavailableError,) * 2, "anthropic": (E.InternalServerError,) * 2,
                   "gemini": (E.InternalServerError, MID)},
    "rate_limit": {"openai": (E.RateLimitError,) * 2, "anthropic": (E.RateLimitError,) * 2,
                   "gemini": (E.RateLimitError, MID)},
    "auth": {p: (E.AuthenticationError,) * 2 for p in PROTOCOLS},
    "context_length": {p: (E.ContextWindowExceededError,) * 2 for p in PROTOCOLS},
    "quota": {"openai": (E.RateLimitError,) * 2, "anthropic": (E.BadRequestError,) * 2,
              "gemini": (E.RateLimitError, MID)},
    "cut": {"openai": (E.InternalServerError, MID), "anthropic": (E.InternalServerError, MID),
            "gemini": (E.APIConnectionError, MID)},
    "malformed": {"openai": (E.InternalServerError, MID), "anthropic": (E.APIConnectionError, None),
                  "gemini": (E.BadRequestError, None)},
}


@pytest.fixture(scope="module")
def emu():
    with ProviderEmulator() as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def fresh_script(emu):
    emu.reset()


def call(emu, protocol: str, mode: str, **kwargs):
    """One LiteLLM call in `mode`; returns (text, usage) with usage from the last chunk that had one."""
    litellm_model, _model_id, base = PROTOCOLS[protocol]
    stream = mode in ("stream", "astream")
    params = dict(model=litellm_model, messages=MESSAGES, api_base=getattr(emu, base), api_key="test-key",
                  num_retries=0, max_retries=0, stream=stream, **kwargs)
    if stream:
        params.setdefault("stream_options", {"include_usage": True})
    if mode in ("sync", "stream"):
        response = litellm.completion(**params)
        chunks = list(response) if stream else None
    else:
        async def run():
            response = await litellm.acompletion(**params)
            return response, ([chunk async for chunk in response] if stream else None)
        response, chunks = asyncio.run(run())
    if not stream:
        return response.choices[0].message.content, response.usage
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usages = [c.usage for c in chunks if getattr(c, "usage", None)]
    return text, (usages[-1] if usages else None)


def assert_usage_matches(litellm_usage, reported: Usage) -> None:
    assert litellm_usage.prompt_tokens == reported.input_tokens
    assert litellm_usage.completion_tokens == reported.output_tokens
    assert litellm_usage.total_tokens == reported.total_tokens


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_scripted_reply_arrives_with_its_usage(emu, protocol, mode):
    emu.enqueue(PROTOCOLS[protocol][1], Reply("Rayleigh scattering favours blue light.", input_tokens=42))
    text, usage = call(emu, protocol, mode)
    assert text == "Rayleigh scattering favours blue light."
    reported = emu.requests[-1].usage
    assert reported == Usage(input_tokens=42, output_tokens=5)
    assert_usage_matches(usage, reported)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_default_reply_echoes_the_prompt_with_derived_usage(emu, protocol, mode):
    text, usage = call(emu, protocol, mode)
    assert text == "Echo: Why is the sky blue at noon?"
    received = emu.requests[-1]
    assert received.text == text
    assert received.usage.output_tokens == 8
    assert received.usage.input_tokens == (2 + 4) + (7 + 4)  # words + 4 per message, system included
    assert_usage_matches(usage, received.usage)


@pytest.mark.parametrize("mode", ("sync", "stream"))
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cached_and_reasoning_tokens_reach_litellm(emu, protocol, mode):
    reply = Reply("ok fine", input_tokens=100, reasoning_tokens=7, cached_tokens=40)
    emu.enqueue(PROTOCOLS[protocol][1], reply)
    _text, usage = call(emu, protocol, mode)
    billed = Usage(input_tokens=100, output_tokens=9, reasoning_tokens=7, cached_tokens=40)
    assert emu.requests[-1].usage == billed
    assert_usage_matches(usage, billed)
    assert usage.prompt_tokens_details.cached_tokens == 40
    # Anthropic reports thinking only through thinking blocks, which the emulator does not send.
    expected_reasoning = 0 if protocol == "anthropic" else 7
    assert (usage.completion_tokens_details.reasoning_tokens or 0) == expected_reasoning


def test_anthropic_cache_writes_count_as_prompt_tokens(emu):
    emu.enqueue(PROTOCOLS["anthropic"][1], Reply("ok", input_tokens=100, cache_creation_tokens=30))
    _text, usage = call(emu, "anthropic", "sync")
    assert usage.prompt_tokens == 100
    assert emu.requests[-1].usage.cache_creation_tokens == 30


def test_openai_stream_sends_usage_only_when_asked(emu):
    body = {"model": "gpt-4.1-mini", "messages": MESSAGES, "stream": True}
    with httpx.Client() as client:
        plain = client.post(emu.openai_base + "/chat/completions", json=body).text
        asked = client.post(emu.openai_base + "/chat/completions",
                            json={**body, "stream_options": {"include_usage": True}}).text
    assert '"prompt_tokens"' not in plain and plain.endswith("data: [DONE]\n\n")
    last_chunk = json.loads(asked.split("data: ")[-2])
    assert last_chunk["choices"] == []
    assert last_chunk["usage"]["total_tokens"] == emu.requests[-1].usage.total_tokens
    _text, usage = call(emu, "openai", "stream", stream_options=None)
    assert usage is None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", RAISES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_fault_becomes_the_litellm_exception(emu, protocol, kind, mode):
    emu.enqueue(PROTOCOLS[protocol][1], Fault(kind, retry_after=1))
    expected = RAISES[kind][protocol][mode in ("stream", "astream")]
    if expected is None:  # LiteLLM skips unparseable SSE lines for these protocols
        text, usage = call(emu, protocol, mode)
        assert text == "" and usage is None
        return
    with pytest.raises(expected) as caught:
        call(emu, protocol, mode)
    assert type(caught.value) is expected
    assert emu.requests[-1].outcome == kind


@pytest.mark.parametrize("protocol", ("openai", "anthropic"))
def test_stream_failures_keep_the_original_error_and_the_partial_text(emu, protocol):
    emu.enqueue("gemini-2.5-flash", Fault("429"))
    with pytest.raises(MidStreamFallbackError) as caught:
        call(emu, "gemini", "stream")
    assert isinstance(caught.value.original_exception, litellm.RateLimitError)
    emu.enqueue(PROTOCOLS[protocol][1], Fault("cut", after_pieces=2))
    with pytest.raises(MidStreamFallbackError) as caught:
        call(emu, protocol, "stream")
    assert caught.value.generated_content == "Echo: Why"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_hang_with_a_short_timeout_raises_a_timeout(emu, protocol, mode):
    emu.enqueue(PROTOCOLS[protocol][1], Fault("hang", max_hang=2))
    if protocol == "gemini" and mode in ("stream", "astream"):
        # LiteLLM does not pass `timeout` to Gemini streaming requests: the hang only ends when
        # the emulator gives up (max_hang) and closes the connection.
        with pytest.raises(MidStreamFallbackError):
            call(emu, protocol, mode, timeout=0.3)
        return
    with pytest.raises(litellm.Timeout):
        call(emu, protocol, mode, timeout=0.3)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_error_bodies_have_each_providers_shape(emu, protocol):
    litellm_model, model_id, _base = PROTOCOLS[protocol]
    emu.enqueue(model_id, Fault("overloaded"), Fault("429", retry_after=3))
    url, body = raw_request(emu, protocol, model_id, stream=False)
    with httpx.Client() as client:
        overloaded = client.post(url, json=body)
        limited = client.post(url, json=body)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    error = overloaded.json()
    if protocol == "anthropic":
        assert overloaded.status_code == 529
        assert error["type"] == "error" and error["error"]["type"] == "overloaded_error"
    elif protocol == "gemini":
        assert overloaded.status_code == 503 and error["error"]["status"] == "UNAVAILABLE"
    else:
        assert overloaded.status_code == 503 and error["error"]["type"] == "server_error"


def raw_request(emu, protocol: str, model_id: str, stream: bool) -> tuple[str, dict]:
    if protocol == "gemini":
        endpoint = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return (f"{emu.gemini_base}/models/{model_id}:{endpoint}",
                {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    if protocol == "openai":
        url = emu.openai_base + "/chat/completions"
    else:
        url = emu.anthropic_base + "/v1/messages"
    return url, {"model": model_id, "messages": [{"role": "user", "content": "hi"}], "stream": stream,
                 "max_tokens": 10}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_requests_are_recorded_with_what_was_sent(emu, protocol):
    call(emu, protocol, "stream")
    received = emu.requests[-1]
    assert (received.protocol, received.model, received.stream) == (protocol, PROTOCOLS[protocol][1], True)
    key_header = {"openai": "authorization", "anthropic": "x-api-key", "gemini": "x-goog-api-key"}[protocol]
    assert "test-key" in received.headers[key_header]
    assert received.body


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_temperature_and_max_tokens_asked_for_are_read_from_each_protocol(emu, protocol):
    call(emu, protocol, "sync", temperature=0.3, max_tokens=77)
    received = emu.requests[-1]
    assert (received.temperature, received.max_tokens) == (0.3, 77)


def test_queue_is_fifo_then_the_sticky_default_then_the_echo(emu):
    model_id = PROTOCOLS["openai"][1]
    emu.enqueue(model_id, Reply("first"), Reply("second"))
    assert [call(emu, "openai", "sync")[0] for _ in range(2)] == ["first", "second"]
    emu.set_default("*", Reply("anyone"))
    assert call(emu, "openai", "sync")[0] == "anyone"
    emu.set_default(model_id, Reply("sticky"))
    assert [call(emu, "openai", "sync")[0] for _ in range(2)] == ["sticky", "sticky"]
    emu.reset()
    assert call(emu, "openai", "sync")[0].startswith("Echo:")


def test_paced_streams_fan_out_concurrently(emu):
    reply = Reply("one two three four five six", ttft=0.05, tokens_per_second=100)
    for protocol in PROTOCOLS:
        emu.set_default(PROTOCOLS[protocol][1], reply)

    async def one(protocol):
        litellm_model, _model_id, base = PROTOCOLS[protocol]
        response = await litellm.acompletion(
            model=litellm_model, messages=MESSAGES, api_base=getattr(emu, base),
            api_key="k", stream=True, num_retries=0, max_retries=0,
        )
        return "".join([c.choices[0].delta.content or "" async for c in response if c.choices])

    async def fan_out():
        return await asyncio.gather(*(one(p) for p in PROTOCOLS for _ in range(4)))

    assert asyncio.run(fan_out()) == ["one two three four five six"] * 12


def test_stop_ends_a_hanging_request():
    emulator = ProviderEmulator().start()
    emulator.set_default("*", Fault("hang", max_hang=60))
    outcome = []

    def hang():
        try:
            url = emulator.openai_base + "/chat/completions"
            httpx.post(url, json={"model": "m", "messages": []}, timeout=60)
        except httpx.HTTPError as error:
            outcome.append(type(error))

    thread = threading.Thread(target=hang)
    thread.start()
    while not emulator.requests:
        threading.Event().wait(0.01)
    emulator.stop()
    thread.join(30)
    assert outcome == [httpx.RemoteProtocolError]


def test_fault_aliases_and_unknown_kinds():
    assert [Fault(code).kind for code in ("500", "503", "529", "429", "401", "400", "402")] == [
        "server_error", "unavailable", "overloaded", "rate_limit", "auth", "context_length", "quota"]
    with pytest.raises(ValueError):
        Fault("teapot")


def test_runs_standalone_and_prints_its_url():
    process = subprocess.Popen([sys.executable, "-m", "tests.fakes", "--port", "0"], cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert httpx.get(url + "/health").json() == {"status": "ok"}
    finally:
        process.terminate()
        process.wait(10)


def test_model_lists_in_openai_and_ollama_shapes():
    import httpx

    from tests.fakes import ProviderEmulator

    with ProviderEmulator() as emu:
        emu.list_models("a-model", "b-model")
        openai = httpx.get(emu.openai_base + "/models").json()
        ollama = httpx.get(emu.url + "/api/tags").json()
    assert [m["id"] for m in openai["data"]] == ["a-model", "b-model"]
    assert [m["name"] for m in ollama["models"]] == ["a-model", "b-model"]
