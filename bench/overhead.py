"""What Parley's layer costs per call, against bare LiteLLM and raw httpx, in one run.

    .venv/bin/python bench/overhead.py [--calls 2000]

The provider emulator runs in a subprocess (so its threads do not share this process's GIL);
each round calls every path once, in a shuffled order, so drift hits them all alike. The
order is shuffled because LiteLLM finishes each call's logging in tasks that run during the
next call, and the Router leaves more of that behind than bare LiteLLM: in a fixed order the
path after the Router is billed for it (about 1 ms here). Paths:
  raw httpx          POST /v1/chat/completions with a pooled AsyncClient
  litellm.acompletion  bare LiteLLM, same endpoint
  litellm Router     the Router Parley builds (retries, fallbacks, cooldowns), called directly
  AIService.generate Parley: validation, routing, Router, cost, result (recording off)
  + recording        the same with the durable recorder writing to SQLite
Prints median and p99 (ms) per path and Parley's added median over each baseline.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import litellm  # noqa: E402

from core.config import ModelConfig, build_settings  # noqa: E402
from core.service import AIService  # noqa: E402

MODEL = "gpt-4.1-mini"
MESSAGES = [{"role": "user", "content": "Say hello in five words"}]


def start_emulator() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes", "--port", "0"],
                            stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    return proc, proc.stdout.readline().strip()


def parley_service(base: str, data_dir: Path | None) -> AIService:
    model = ModelConfig("gpt", {"model": f"openai/{MODEL}", "api_key": "sk-bench-0000",
                                "api_base": base + "/v1"}, {})
    common = {"data_dir": data_dir or Path("."), "database_url": f"sqlite:///{data_dir}/bench.db"}
    settings = build_settings((model,), {"num_retries": 2, "timeout": 30}, {}, "bench", common)
    if data_dir is None:
        return AIService(settings)
    from core.recording import open_recorder
    return AIService(settings, recorder=open_recorder(settings))


async def run(calls: int) -> dict[str, list[float]]:
    proc, base = start_emulator()
    try:
        client = httpx.AsyncClient(base_url=base)
        plain = parley_service(base, None)
        recorded = parley_service(base, Path(tempfile.mkdtemp(prefix="parley-bench-")))
        router = plain.gateway.router
        paths = {
            "raw httpx": lambda: client.post("/v1/chat/completions", json={
                "model": MODEL, "messages": MESSAGES}, headers={"authorization": "Bearer sk-bench"}),
            "litellm.acompletion": lambda: litellm.acompletion(
                model=f"openai/{MODEL}", messages=MESSAGES, api_base=base + "/v1", api_key="sk-bench"),
            "litellm Router": lambda: router.acompletion(model="gpt", messages=MESSAGES),
            "AIService.generate": lambda: plain.generate("Say hello in five words", model="gpt"),
            "+ recording (SQLite)": lambda: recorded.generate("Say hello in five words", model="gpt"),
        }
        timings: dict[str, list[float]] = {name: [] for name in paths}
        order, shuffle = list(paths), random.Random(0).shuffle
        for round_ in range(calls + 50):
            shuffle(order)
            for name in order:
                started = time.perf_counter()
                await paths[name]()
                if round_ >= 50:  # warm-up rounds are not counted
                    timings[name].append((time.perf_counter() - started) * 1000)
        await client.aclose()
        recorded.close()
        return timings
    finally:
        proc.terminate()
        proc.wait()


def report(timings: dict[str, list[float]], calls: int) -> None:
    med = {name: statistics.median(t) for name, t in timings.items()}
    p99 = {name: statistics.quantiles(t, n=100)[98] for name, t in timings.items()}
    print(f"{calls} calls per path, interleaved; OpenAI protocol on the local emulator\n")
    print(f"{'path':24} {'median ms':>10} {'p99 ms':>10} {'vs litellm.acompletion':>24}")
    for name in timings:
        ratio = med[name] / med["litellm.acompletion"]
        print(f"{name:24} {med[name]:10.3f} {p99[name]:10.3f} {ratio:23.2f}x")
    print()
    for base in ("litellm.acompletion", "litellm Router"):
        for name in ("AIService.generate", "+ recording (SQLite)"):
            print(f"{name} adds {med[name] - med[base]:+.3f} ms median over {base}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    report(asyncio.run(run(args.calls)), args.calls)


if __name__ == "__main__":
    main()
