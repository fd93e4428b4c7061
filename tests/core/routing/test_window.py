"""The whole request is bounded (bytes and tokens, each error naming its setting), a chat's
history is trimmed to the model's window, token counts are cached, and a large request is
tokenized off the event loop every session shares."""
from __future__ import annotations

import threading

import pytest

from core.errors import BadRequestError, ContextTooLongError
from core.routing.window import CountCache
from tests.emulated import make_service

# A model id of its own: LiteLLM keeps a deployment's model_info in its global cost map, so giving
# a real model a tiny window here would change it for every later test.
TINY = ("openai/parley-tiny-window", {"max_input_tokens": 400})


def conversation(turns: int) -> list[dict]:
    return [{"role": "user" if n % 2 == 0 else "assistant",
             "content": f"turn {n}: " + "many words to fill the window " * 6} for n in range(turns)]


@pytest.fixture
def tiny(emulator):
    svc = make_service(emulator, tiny=TINY)
    yield svc
    svc.close()


def test_a_chat_history_is_trimmed_to_the_models_window(tiny, emulator):
    history = conversation(20)
    result = tiny.generate_sync("And now?", model="tiny", history=history, trim_history=True)
    assert result.ok
    sent = emulator.requests[-1].body["messages"]
    assert sent[-1]["content"] == "And now?"
    assert 2 <= len(sent) < 21, "some, not all, earlier turns were kept"
    assert sent[-2]["content"] == history[-1]["content"], "the newest turns are the ones kept"
    assert "oldest messages of the conversation were left out to fit tiny's context window" \
        in result.route_reason


def test_without_trimming_the_same_history_is_refused_before_sending(tiny, emulator):
    with pytest.raises(ContextTooLongError, match="more than tiny holds"):
        tiny.generate_sync("And now?", model="tiny", history=conversation(20))
    assert emulator.requests == []


def test_the_whole_request_is_bounded_in_bytes(emulator):
    svc = make_service(emulator, parley={"max_request_bytes": 2_000})
    try:
        with pytest.raises(BadRequestError) as caught:
            svc.generate_sync("question " * 50, system_prompt="rules " * 200,
                              history=conversation(4))
        assert "(parley.max_request_bytes)" in str(caught.value)
        assert "system prompt, history and prompt together" in str(caught.value)
        assert emulator.requests == []
    finally:
        svc.close()


def test_the_whole_request_is_bounded_in_tokens(emulator):
    svc = make_service(emulator, parley={"max_request_tokens": 100})
    try:
        assert svc.generate_sync("short question").ok
        with pytest.raises(BadRequestError, match=r"the limit is 100 \(parley\.max_request_tokens\)"):
            svc.generate_sync("short question", history=conversation(6))
        assert len(emulator.requests) == 1
    finally:
        svc.close()


def test_token_counts_are_cached():
    seen = []
    cache = CountCache(lambda entry, messages: seen.append(1) or 42, size=2)

    class Entry:
        provider_model = "openai/gpt-4.1-mini"
    messages = [{"role": "user", "content": "x" * 100_000}]
    assert [cache(Entry, messages) for _ in range(5)] == [42] * 5
    assert len(seen) == 1
    cache(Entry, [{"role": "user", "content": "a"}])
    cache(Entry, [{"role": "user", "content": "b"}])
    cache(Entry, messages)
    assert len(seen) == 4, "only the most recent counts are kept"


def test_a_large_request_is_tokenized_off_the_event_loop(tiny):
    counted_on = []

    def count(entry, messages):
        counted_on.append(threading.current_thread().name)
        return 10 ** 6
    tiny.count_tokens = count
    with pytest.raises(ContextTooLongError):
        tiny.generate_sync("word " * 20_000, model="tiny")
    assert counted_on and "parley-loop" not in counted_on
    counted_on.clear()
    with pytest.raises(ContextTooLongError):  # a small one is checked in place
        tiny.generate_sync("word " * 500, model="tiny")
    assert counted_on == ["parley-loop"]
