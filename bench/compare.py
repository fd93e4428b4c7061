"""Does a comparison of N models take as long as its slowest model alone? (aim: ratio <= 1.05)

    .venv/bin/python bench/compare.py [--models 4] [--rounds 5]

N emulated models (tests/fakes, scripted latency) answer with different times to first token
and the same streamed length: model k waits 0.2 * k s, then streams 20 pieces at 50 per second.
Each round, in the same run:
  single (stream)   each model alone through ``FanOut`` with one column (the UI's path)
  compare (stream)  all N columns through one ``FanOut`` (what /compare does)
  single (generate) each model alone through ``AIService.generate``
  compare (generate) ``AIService.compare`` over the N models (the CLI's path)
Prints the median of each, the slowest single model, and compare / slowest single.
Recording is on (SQLite in a temp directory), as in the app.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.playground.fanout import FanOut  # noqa: E402
from core.config import ModelConfig, build_settings  # noqa: E402
from core.service import AIService  # noqa: E402
from core.recording import open_recorder  # noqa: E402
from tests.fakes import ProviderEmulator, Reply  # noqa: E402

TEXT = " ".join(f"word{i}" for i in range(20))
PRICE = {"input_cost_per_token": 1e-6, "output_cost_per_token": 4e-6}


def build_service(emu: ProviderEmulator, count: int, data_dir: Path) -> tuple[AIService, list[str]]:
    names = [f"m{k}" for k in range(1, count + 1)]
    models = []
    for k, name in enumerate(names, start=1):
        emu.set_default(f"bench-{name}", Reply(text=TEXT, ttft=0.2 * k, tokens_per_second=50))
        models.append(ModelConfig(name, {"model": f"openai/bench-{name}", "api_key": "sk-bench-0000",
                                         "api_base": emu.openai_base}, dict(PRICE)))
    common = {"data_dir": data_dir, "database_url": f"sqlite:///{data_dir}/bench.db"}
    settings = build_settings(tuple(models), {"num_retries": 0, "timeout": 30}, {}, "bench", common)
    return AIService(settings, recorder=open_recorder(settings)), names


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def fan_out(svc: AIService, columns: list[str]) -> None:
    results = FanOut(svc, "benchmark prompt", columns, user_id="bench").start().wait()
    failed = [r.error for r in results if not r.ok]
    if failed:
        raise SystemExit(f"a column failed: {failed[0]}")


def one_round(svc: AIService, names: list[str]) -> dict[str, float]:
    singles_stream = [timed(lambda n=n: fan_out(svc, [n])) for n in names]
    singles_generate = [timed(lambda n=n: svc.generate_sync("benchmark prompt", user_id="bench",
                                                            model=n)) for n in names]
    return {"slowest single (stream)": max(singles_stream),
            "compare (stream)": timed(lambda: fan_out(svc, names)),
            "slowest single (generate)": max(singles_generate),
            "compare (generate)": timed(lambda: svc.compare_sync("benchmark prompt", names,
                                                                 user_id="bench"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=4, help="2 to 4 columns")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with ProviderEmulator() as emu, tempfile.TemporaryDirectory() as tmp:
        svc, names = build_service(emu, args.models, Path(tmp))
        try:
            fan_out(svc, names)  # warm-up: litellm import, connection pools
            rounds = [one_round(svc, names) for _ in range(args.rounds)]
        finally:
            svc.close()
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(f"{args.models} emulated models (first token after 0.2..{0.2 * args.models:.1f} s, "
          f"then 20 pieces at 50/s), {args.rounds} rounds, medians:")
    for key, value in medians.items():
        print(f"  {key:<27} {value:8.1f} ms")
    for path in ("stream", "generate"):
        ratio = medians[f"compare ({path})"] / medians[f"slowest single ({path})"]
        print(f"  compare / slowest single ({path}): {ratio:.3f}  (aim <= 1.05)")


if __name__ == "__main__":
    main()
