"""Every fault of a failing primary is answered by the configured fallback, and the result
says so; when every model fails, one clear line names each model and why."""
from __future__ import annotations

import pytest

from core import errors
from tests.emulated import KEYS, PROVIDER_MODELS, make_service
from tests.fakes import Fault

CLAUDE = PROVIDER_MODELS["claude"]
FAULTS = ["500", "503", "529", "429", "401", "hang", "cut", "malformed"]


def fault(kind: str) -> Fault:
    return Fault(kind, retry_after=1, max_hang=30)


@pytest.fixture
def svc(emulator):
    service = make_service(emulator, router={"timeout": 2})
    yield service
    service.close()


@pytest.mark.parametrize("kind", FAULTS)
async def test_fallback_answers_each_fault(svc, emulator, kind):
    emulator.set_default(CLAUDE, fault(kind))
    result = await svc.generate("Which is taller?", model="claude")
    assert result.ok and result.content.startswith("Echo: Which is taller?")
    assert result.fallback_used and result.model == "claude" and result.served_by == "gemini"
    assert result.provider == "gemini"
    assert result.input_tokens == emulator.requests[-1].usage.input_tokens
    assert any(r.outcome == fault(kind).kind for r in emulator.requests if r.protocol == "anthropic")


@pytest.mark.parametrize("kind", FAULTS)
async def test_streaming_fallback_answers_each_fault(svc, emulator, kind):
    emulator.set_default(CLAUDE, Fault(kind, retry_after=1, max_hang=30, after_pieces=0))
    items = [item async for item in svc.stream("Stream it", model="claude")]
    result = items[-1]
    assert result.ok and result.fallback_used and result.served_by == "gemini"
    assert "".join(items[:-1]) == result.content == "Echo: Stream it"


@pytest.mark.parametrize("kind, error_class", [
    ("500", errors.ProviderDownError), ("503", errors.ProviderDownError),
    ("529", errors.ProviderDownError), ("429", errors.RateLimitError),
    ("401", errors.AuthError), ("hang", errors.ProviderTimeoutError),
    ("malformed", errors.ProviderBadResponse), ("quota", errors.QuotaError),
    ("context_length", errors.ContextTooLongError),
])
@pytest.mark.parametrize("name", ["claude", "gpt"])
async def test_each_fault_becomes_a_clear_typed_error(svc, emulator, name, kind, error_class):
    emulator.set_default(PROVIDER_MODELS[name], fault(kind))
    with pytest.raises(error_class) as info:
        await svc.generate("hi", model=name, fallbacks=False)
    message = str(info.value)
    assert name in message and "\n" not in message and len(message) < 400
    assert all(key not in message for key in KEYS.values())


async def test_when_every_model_fails_one_line_names_each(svc, emulator):
    emulator.set_default(CLAUDE, Fault("503"))
    emulator.set_default(PROVIDER_MODELS["gemini"], Fault("401"))
    with pytest.raises(errors.AllModelsFailedError) as info:
        await svc.generate("hi", model="claude")
    message = str(info.value)
    assert message.startswith("Every model failed. claude: claude is unavailable")
    assert "gemini: gemini rejected the API key" in message
    assert set(info.value.failures) == {"claude", "gemini"}
    assert "\n" not in message and all(key not in message for key in KEYS.values())


async def test_retries_a_transient_error_on_the_same_model(svc, emulator):
    emulator.enqueue(CLAUDE, Fault("500"))
    result = await svc.generate("hi", model="claude")
    assert result.ok and not result.fallback_used and result.served_by == "claude"
    assert [r.outcome for r in emulator.requests] == ["server_error", "reply"]


async def test_a_rejected_key_is_not_retried(svc, emulator):
    emulator.set_default(CLAUDE, Fault("401"))
    await svc.generate("hi", model="claude")
    assert [r.protocol for r in emulator.requests] == ["anthropic", "gemini"]


async def test_a_failing_primary_cools_down_and_later_calls_skip_it(emulator):
    # A cooldown long enough that a slow machine cannot outlast it between the two calls.
    svc = make_service(emulator, router={"timeout": 2, "cooldown_time": 300})
    emulator.set_default(CLAUDE, Fault("503"))
    first = await svc.generate("one", model="claude")
    tried = sum(r.protocol == "anthropic" for r in emulator.requests)
    assert first.served_by == "gemini" and tried == 2  # the call and its one retry
    second = await svc.generate("two", model="claude")
    assert second.served_by == "gemini" and second.fallback_used
    assert sum(r.protocol == "anthropic" for r in emulator.requests) == tried
    svc.close()


async def test_a_hung_gemini_stream_times_out_and_falls_back(emulator):
    # LiteLLM does not apply its timeout to Gemini streams; Parley's idle deadline does.
    svc = make_service(emulator, router={"timeout": 1, "fallbacks": [{"gemini": ["gpt"]}]})
    emulator.set_default(PROVIDER_MODELS["gemini"], Fault("hang", max_hang=30))
    items = [item async for item in svc.stream("still there?", model="gemini")]
    assert items[-1].served_by == "gpt" and items[-1].fallback_used
    assert "".join(items[:-1]) == "Echo: still there?"


async def test_a_hung_gemini_stream_without_fallback_is_a_timeout(emulator):
    svc = make_service(emulator, router={"timeout": 1})
    emulator.set_default(PROVIDER_MODELS["gemini"], Fault("hang", max_hang=30))
    with pytest.raises(errors.ProviderTimeoutError, match="gemini did not answer within the timeout"):
        [item async for item in svc.stream("still there?", model="gemini")]


async def test_a_stream_cut_after_text_ends_with_an_error_not_a_silent_restart(svc, emulator):
    emulator.set_default(CLAUDE, Fault("cut", after_pieces=2, tokens_per_second=20))
    seen = []
    with pytest.raises(errors.ProviderError):
        async for item in svc.stream("one two three four five six", model="claude"):
            seen.append(item)
    assert seen and all(isinstance(s, str) for s in seen)
    assert not any(r.protocol == "gemini" for r in emulator.requests)
