"""The bundled local model: tokens per second through Parley vs raw llama.cpp, and memory.

    .venv/bin/python bench/local.py [--rounds 5] [--max-tokens 96]

Both paths run in this process on the same GGUF file, prompt, sampling (temperature 0.2,
repeat penalty 1.1), n_ctx 2048 and 2 threads. "raw" drives llama-cpp-python's own
``Llama.generate`` loop; "parley" is ``AIService.stream`` on the model named ``local``: the
Router, the LiteLLM custom provider, the worker thread and the stream chunk builder. Rounds
alternate the two so drift hits both alike. Prints median tokens/s per path, their ratio
(parley / raw; aim >= 0.9) and the resident memory before loading, after, and at the end.

Each raw round runs on Parley's engine thread (``core.llm.local.engine._Engine``), where Parley's
own generation runs. This llama.cpp is built with OpenMP, which keeps one thread team per
calling thread. With raw on the main thread and Parley on its own thread, Parley generated
12-18% slower on 2 cores, yet as fast as raw when both ran on one thread or each on a fresh
one (most likely OpenMP stops spinning at its barriers once it has more threads than cores):
a cost of sharing this benchmark's process that no Parley process pays.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.llm.local.engine import (DEFAULT_TEMPERATURE, REPEAT_PENALTY, LocalModel,  # noqa: E402
                              find_bundled_model)

PROMPT = "Explain in a few sentences why the sky is blue."


def rss_mb() -> float:
    """Current resident set size (MB), from /proc; peak if /proc is unavailable."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raw_round(llama, max_tokens: int) -> tuple[int, float]:
    """Tokens generated and seconds taken by llama.cpp alone (prompt included, like Parley)."""
    messages = [{"role": "user", "content": PROMPT}]
    prompt = llama.tokenize(_render(llama, messages).encode(), add_bos=False, special=True)
    import llama_cpp

    started, count = time.perf_counter(), 0
    for token in llama.generate(prompt, temp=DEFAULT_TEMPERATURE, repeat_penalty=REPEAT_PENALTY):
        if llama_cpp.llama_vocab_is_eog(llama._model.vocab, token) or count >= max_tokens:
            break
        llama.detokenize([token])
        count += 1
    return count, time.perf_counter() - started


def on_engine_thread(engine, fn, *args):
    """``fn(*args)`` run on the thread where Parley's local generation runs."""
    def once():
        yield fn(*args)
    return list(engine.run(once()))[0]


def _render(llama, messages) -> str:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    vocab = llama._model
    formatter = Jinja2ChatFormatter(template=llama.metadata["tokenizer.chat_template"],
                                    eos_token=vocab.token_get_text(llama.token_eos()),
                                    bos_token=vocab.token_get_text(llama.token_bos()))
    return formatter(messages=messages).prompt


async def parley_round(svc, max_tokens: int) -> tuple[int, float]:
    started, result = time.perf_counter(), None
    async for item in svc.stream(PROMPT, user_id="bench", model="local", max_tokens=max_tokens):
        if not isinstance(item, str):
            result = item
    return result.output_tokens, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args()
    path = find_bundled_model()
    if path is None:
        sys.exit("the bundled model is not installed: run scripts/setup")
    from llama_cpp import Llama

    from core import AIService

    before = rss_mb()
    raw = Llama(model_path=str(path), n_ctx=2048, n_threads=2, verbose=False)
    svc = AIService.from_env({}, record=False)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(parley_round(svc, 8))  # load Parley's copy and litellm once
    loaded = rss_mb()
    engine = LocalModel(path)._pool().first()  # the one Parley's calls above loaded and run on
    rates: dict[str, list[float]] = {"raw llama.cpp": [], "parley (LiteLLM)": []}
    for _ in range(args.rounds):
        tokens, seconds = on_engine_thread(engine, raw_round, raw, args.max_tokens)
        rates["raw llama.cpp"].append(tokens / seconds)
        tokens, seconds = loop.run_until_complete(parley_round(svc, args.max_tokens))
        rates["parley (LiteLLM)"].append(tokens / seconds)
    print(f"model {path.name}, prompt {PROMPT!r}, up to {args.max_tokens} tokens, "
          f"{args.rounds} rounds each")
    for name, values in rates.items():
        print(f"  {name:18s} median {statistics.median(values):7.1f} tokens/s   "
              f"(min {min(values):.1f}, max {max(values):.1f})")
    ratio = statistics.median(rates["parley (LiteLLM)"]) / statistics.median(rates["raw llama.cpp"])
    print(f"  ratio parley/raw: {ratio:.2f} (aim >= 0.9)")
    print(f"  memory: {before:.0f} MB before loading, {loaded:.0f} MB with both copies loaded "
          f"and litellm imported, {rss_mb():.0f} MB at the end")
    svc.close()


if __name__ == "__main__":
    main()
