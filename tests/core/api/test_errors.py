"""Bad input gets OpenAI's error shape with the right status, one sentence, no traceback and
no secret; nothing is sent to a provider or recorded for a refused request."""
from __future__ import annotations

import json

import openai
import pytest

from tests.emulated import KEYS
from tests.fakes import Fault, Reply

CHAT = "/v1/chat/completions"
HELLO = {"messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture
def api(in_process):
    return in_process


def post(api, body, secret=None, path=CHAT, **kwargs):
    headers = kwargs.pop("headers", {})
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    if isinstance(body, (dict, list)):
        return api.http.post(path, json=body, headers=headers, **kwargs)
    return api.http.post(path, content=body, headers={"content-type": "application/json", **headers},
                         **kwargs)


def assert_error(response, status, code=None, words=""):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"type", "message", "code"}
    assert code is None or error["code"] == code
    assert words.lower() in error["message"].lower()
    assert "Traceback" not in response.text and "pk-" not in error["message"].replace(
        error["message"][error["message"].find("pk-"):error["message"].find("pk-") + 11], "")
    for secret in KEYS.values():
        assert secret not in response.text
    return error


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer sk-not-parley",
                                    "Bearer pk-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
def test_a_missing_or_unknown_key_is_401(api, emulator, header):
    response = api.http.post(CHAT, json=HELLO, headers={"Authorization": header} if header else {})
    error = assert_error(response, 401, None, "key")
    assert "***" not in error["message"]  # the sentence reaches the caller whole
    if header in (None, "Bearer", "Basic abc"):  # it says what to send
        assert "`Authorization: Bearer pk-...`" in error["message"]
    assert emulator.requests == [] and api.records(0, timeout=0) == []


def test_the_sdk_raises_its_own_errors(api, emulator):
    secret = api.make_key("alice", models=["gemini"])
    client = api.openai(secret)
    with pytest.raises(openai.NotFoundError, match="not configured"):
        client.chat.completions.create(model="llama-9", messages=HELLO["messages"])
    with pytest.raises(openai.PermissionDeniedError, match="may use only gemini"):
        client.chat.completions.create(model="claude", messages=HELLO["messages"])
    with pytest.raises(openai.AuthenticationError):
        api.openai("pk-" + "B" * 43).chat.completions.create(model="gemini", messages=HELLO["messages"])
    assert emulator.requests == []


@pytest.mark.parametrize("body, words", [
    (b'{"messages": [', "not valid JSON"),
    (b'[1, 2]', "valid"),
    ({"messages": "hello"}, "messages"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, "role"),
    ({"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}, "temperature"),
    ({"messages": [{"role": "user", "content": "hi"}], "temperature": 7}, "temperature"),
    ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, "max_tokens"),
    ({"messages": [{"role": "user", "content": "hi"}], "n": 3}, "n"),
    ({"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}, "tool"),
    ({"messages": [{"role": "assistant", "content": "hi"}]}, "last message must be the user's"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "What is it?"},
                                                {"type": "image_url", "image_url": {"url": "x"}}]}]},
     "base64 data: URL"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
     "content parts are text, image_url or file"),
    ({"messages": [{"role": "user", "content": "   "}]}, "empty"),
    (b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested over 1,024 levels"),
])
def test_malformed_or_mistyped_bodies_are_400(api, emulator, body, words):
    secret = api.make_key()
    assert_error(post(api, body, secret), 400, None, words)
    assert emulator.requests == []


def test_a_revoked_key_is_refused_at_once_here(api, emulator):
    from core.keys import KeyRing  # noqa: F401 - the in-process keyring is the app's

    secret = api.make_key()
    assert post(api, HELLO, secret).status_code == 200
    prefix = secret[:11]
    api.http.app.state.caller.keyring.revoke(prefix)
    assert_error(post(api, HELLO, secret), 401, "key_revoked", "revoked")


def test_an_expired_key_is_401(api):
    import datetime as dt

    from core.keys import KeyRing  # noqa: F401

    ring = api.http.app.state.caller.keyring
    secret, _ = ring.create("alice", created_by="t",
                            expires=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    assert_error(post(api, HELLO, secret), 401, "key_expired", "expired")


def test_a_key_over_its_budget_is_429_with_retry_after(api, emulator):
    emulator.set_default("gemini-2.5-flash", Reply("x" * 10, input_tokens=400_000, output_tokens=100_000))
    secret = api.make_key(budget=0.01)
    assert post(api, HELLO, secret).status_code == 200  # spends past the budget
    refused = post(api, HELLO, secret)
    assert_error(refused, 429, "budget_exceeded", "monthly budget")
    assert int(refused.headers["Retry-After"]) > 0


def test_the_keys_rate_limit_is_429_with_retry_after(api, emulator):
    secret = api.make_key(rate_limit=2)
    assert [post(api, HELLO, secret).status_code for _ in range(2)] == [200, 200]
    refused = post(api, HELLO, secret)
    assert_error(refused, 429, "rate_limit_exceeded", "limit")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert len(emulator.requests) == 2


def test_a_key_fixed_to_a_service_type_may_not_name_another(api):
    secret = api.make_key(service_type="xray")
    assert_error(post(api, HELLO, secret, headers={"x-parley-service": "answer_builder"}), 403,
                 "service_not_allowed", "xray")


def test_a_body_over_the_limit_is_413(in_process, monkeypatch, api_env):
    from starlette.testclient import TestClient

    from core.api import create_app
    from core.service import AIService

    service = AIService.from_env(record=False)
    client = TestClient(create_app(service, in_process.http.app.state.caller.keyring,
                                   max_body_bytes=1000))
    secret = in_process.make_key()
    big = {"messages": [{"role": "user", "content": "x" * 5000}]}
    response = client.post(CHAT, json=big, headers={"Authorization": f"Bearer {secret}"})
    assert_error(response, 413, "request_too_large", "limit")
    chunked = client.post(CHAT, content=iter([json.dumps(big).encode()]),
                          headers={"Authorization": f"Bearer {secret}",
                                   "content-type": "application/json"})
    assert_error(chunked, 413, "request_too_large")
    service.close()


@pytest.mark.parametrize("fault, status, code", [
    (Fault("500"), 502, "provider_error"), (Fault("503"), 503, "provider_unavailable"),
    (Fault("hang", max_hang=30), 504, "provider_timeout"), (Fault("401"), 503, "provider_unavailable")])
def test_provider_failures_are_5xx_and_recorded(api, emulator, fault, status, code):
    emulator.set_default("gpt-4.1-mini", fault)
    secret = api.make_key("dave")
    response = post(api, {**HELLO, "model": "gpt"}, secret)
    error = assert_error(response, status, code)
    assert "gpt" in error["message"]
    rows = api.records()
    assert rows and {(r["user_id"], r["status"], r["key_id"] is not None) for r in rows} == \
        {("dave", "failure", True)}


def test_a_stream_failing_before_its_first_token_gets_a_status(api, emulator):
    emulator.set_default("gpt-4.1-mini", Fault("500"))
    secret = api.make_key()
    with pytest.raises(openai.InternalServerError):
        list(api.openai(secret).chat.completions.create(model="gpt", messages=HELLO["messages"],
                                                        stream=True))


def test_a_stream_cut_mid_answer_ends_with_an_error_event(api, emulator):
    emulator.set_default("gpt-4.1-mini", Fault("cut", after_pieces=3, tokens_per_second=50))
    secret = api.make_key()
    stream = api.openai(secret).chat.completions.create(model="gpt", messages=HELLO["messages"],
                                                        stream=True)
    received = []
    with pytest.raises(openai.APIError, match="gpt"):
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received)  # the first pieces arrived before the error event
    [row] = [r for r in api.records() if r["status"] == "failure" and r["response"]]
    assert "".join(received).startswith(row["response"]) or row["response"].startswith("".join(received))


def test_an_unknown_service_type_is_400(api, emulator):
    secret = api.make_key()
    assert_error(post(api, HELLO, secret, headers={"x-parley-service": "nope"}), 400,
                 "invalid_request", "not configured")
    assert emulator.requests == []
