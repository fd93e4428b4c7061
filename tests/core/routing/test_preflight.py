"""The context-window check before a call: no request reaches a provider for a prompt that
cannot fit; a configured context-window fallback answers instead when one fits."""
from __future__ import annotations

import pytest

from core.config import ModelConfig, build_settings
from core.config.environment import bundled_local_model
from core.errors import ContextTooLongError
from core.service import AIService
from tests.emulated import PROVIDER_MODELS, make_service, three_models

TINY, SMALL, MID = "gpt-4o-mini", "gpt-4o", "gpt-4-turbo"
LONG_PROMPT = " ".join(f"word{i}" for i in range(200))  # a few hundred tokens


@pytest.fixture
def windows(emulator):
    """Factory: claude/gemini/gpt plus tiny (50-token window), small (60) and mid (400), on the
    emulator, with the given ``router_settings.context_window_fallbacks``."""
    made = []

    def make(fallbacks=None):
        svc = make_service(emulator, router={"context_window_fallbacks": fallbacks or []},
                           tiny=("openai/" + TINY, {"max_input_tokens": 50}),
                           small=("openai/" + SMALL, {"max_input_tokens": 60}),
                           mid=("openai/" + MID, {"max_input_tokens": 400}))
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.close()


def test_an_oversize_prompt_is_refused_and_nothing_is_sent(windows, emulator):
    svc = windows()
    with pytest.raises(ContextTooLongError) as caught:
        svc.generate_sync(LONG_PROMPT, model="tiny")
    message = str(caught.value)
    assert "more than tiny holds (50)" in message
    assert "no context-window fallback is configured" in message
    assert message.endswith("nothing was sent.")
    assert emulator.requests == []


def test_a_stream_is_refused_the_same_way(windows, emulator):
    svc = windows()
    with pytest.raises(ContextTooLongError):
        list(svc.stream_sync(LONG_PROMPT, model="tiny"))
    assert emulator.requests == []


def test_the_context_window_fallback_answers_instead(windows, emulator):
    svc = windows([{"tiny": ["small", "gpt"]}])
    result = svc.generate_sync(LONG_PROMPT, model="tiny")
    assert result.ok and result.model == "gpt"
    assert [r.model for r in emulator.requests] == [PROVIDER_MODELS["gpt"]]
    assert "does not fit tiny's 50-token context window, so gpt answers" in result.route_reason


def test_when_no_fallback_fits_the_error_names_each(windows, emulator):
    svc = windows([{"tiny": ["small"]}])
    with pytest.raises(ContextTooLongError) as caught:
        svc.generate_sync(LONG_PROMPT, model="tiny")
    assert "no context-window fallback fits either (small holds 60)" in str(caught.value)
    assert "such as gemini" in str(caught.value)
    assert emulator.requests == []


def test_a_compare_column_that_cannot_fit_fails_alone_without_a_request(windows, emulator):
    svc = windows([{"tiny": ["gpt"]}])
    tiny, gemini = svc.compare_sync(LONG_PROMPT, ["tiny", "gemini"])
    assert "more than tiny holds" in tiny.error and gemini.ok
    assert [r.model for r in emulator.requests] == [PROVIDER_MODELS["gemini"]]


def test_tokens_are_counted_not_guessed_from_the_size(windows, emulator):
    svc = windows()
    prompt = "a " * 300  # 600 bytes, about 300 tokens: over a byte-size guess, under the window
    assert svc.generate_sync(prompt, model="mid").ok
    assert emulator.requests[-1].model == MID


def test_the_conversation_counts_as_well_as_the_prompt(windows, emulator):
    svc = windows()
    history = [{"role": "user", "content": LONG_PROMPT}, {"role": "assistant", "content": "ok"}]
    with pytest.raises(ContextTooLongError):
        svc.generate_sync("and now?", model="tiny", history=history)
    assert emulator.requests == []


def test_the_bundled_model_is_checked_by_its_own_tokenizer():
    local = bundled_local_model()
    if not local.key_present:
        pytest.skip("the bundled local model is not installed")
    svc = AIService(build_settings((local,), {}, {}, "test", {}))
    # Digits: about 1,500 tokens by tiktoken's count (it would let this through), over 3,300
    # by SmolLM2's own tokenizer, which splits digits one by one.
    prompt = " ".join(["1234567890"] * 300)
    with pytest.raises(ContextTooLongError, match=r"more than local holds \(2,048\)"):
        svc.generate_sync(prompt, model="local")
    svc.close()


def test_a_fallback_that_cannot_be_used_is_passed_over(emulator):
    models = (*three_models(emulator, tiny=("openai/" + TINY, {"max_input_tokens": 50})),
              ModelConfig("nokey", {"model": "openai/gpt-4.1", "api_key": "os.environ/NOKEY"},
                          {}, missing_env=("NOKEY is not set",)))
    settings = build_settings(models, {"context_window_fallbacks": [{"tiny": ["nokey", "gpt"]}]},
                              {"default_model": "gemini"}, "test", {})
    svc = AIService(settings)
    result = svc.generate_sync(LONG_PROMPT, model="tiny")
    svc.close()
    assert result.model == "gpt"
    assert [r.model for r in emulator.requests] == [PROVIDER_MODELS["gpt"]]
