"""Does a dataset run keep the provider busy, and does its memory stay flat with the dataset?

    .venv/bin/python bench/evals.py [--rows 200] [--latency 0.5] [--concurrency 16]
                                    [--memory-rows 200,2000]

Speed: ``--rows`` rows x 3 emulated models (tests/fakes, each answer after ``--latency`` s),
``--concurrency`` calls at a time, through ``EvalRunner`` with recording on (SQLite in a temp
directory, the recorder shipping as in the app). The ideal wall time is
rows x 3 x latency / concurrency; the script prints wall / ideal (aim: at most 1.1), and, as a
baseline, the same calls made straight through ``AIService.generate`` under a semaphore of the
same size (what the service and emulator cost without the runner).

Memory: the same run at each of ``--memory-rows`` (answers at once, so it is quick), each in a
fresh process, printing the peak resident memory of that process and its growth over the
process's size before the run; flat means the 2,000-row run grows no more than the 200-row
run plus a little (the rows themselves: the dataset is held in memory, answers are not).
The emulator runs in its own process so its memory is not counted.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import ModelConfig, build_settings  # noqa: E402
from core.evals.runs import EvalRunner  # noqa: E402
from core.service import AIService  # noqa: E402

MODELS = ("m1", "m2", "m3")
PRICE = {"input_cost_per_token": 1e-6, "output_cost_per_token": 4e-6}


def start_emulator(latency: float) -> tuple[subprocess.Popen, str]:
    """``python -m tests.fakes`` on a free port, every answer after ``latency`` s."""
    process = subprocess.Popen([sys.executable, "-m", "tests.fakes", "--port", "0", "--ttft",
                                str(latency)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    url = process.stdout.readline().strip()
    for _ in range(3):
        process.stdout.readline()
    return process, url


def build_service(openai_base: str, data_dir: Path) -> AIService:
    models = tuple(ModelConfig(name, {"model": f"openai/bench-{name}", "api_key": "sk-bench-0000",
                                      "api_base": openai_base}, dict(PRICE)) for name in MODELS)
    common = {"data_dir": data_dir, "database_url": f"sqlite:///{data_dir}/bench.db"}
    settings = build_settings(models, {"num_retries": 0, "timeout": 60}, {}, "bench", common)
    return AIService.from_settings(settings, {})


def one_run(openai_base: str, rows: int, concurrency: int) -> dict:
    """Plan, start and execute a run of ``rows`` rows x 3 models; its wall time and memory."""
    from core.evals.workbench import Workbench

    with tempfile.TemporaryDirectory(prefix="parley-bench-evals-") as tmp:
        svc = build_service(openai_base, Path(tmp))
        bench = Workbench(svc)
        bench.save_template("bench", "Summarise ticket {{ n }}: {{ text }}", user="bench")
        data = "n,text\n" + "".join(f"{i},customer says the thing number {i} broke\n" for i in range(rows))
        dataset = bench.upload_dataset(data.encode(), "tickets.csv", user="bench")
        svc.generate_sync("warm up", model="m1", user_id="bench")  # litellm's import, first client
        before = _rss_mb()
        runner = EvalRunner(svc, bench.evals)
        run_id = runner.start(runner.plan("bench", dataset, list(MODELS), user_id="bench",
                                          concurrency=concurrency))
        started = time.perf_counter()
        outcome = runner.execute_sync(run_id)
        wall = time.perf_counter() - started
        svc.close()
    if outcome["answered"] != rows * len(MODELS) or outcome["status"] != "done":
        raise SystemExit(f"the run did not finish: {outcome}")
    return {"rows": rows, "wall_s": wall, "rss_before_mb": before, "peak_rss_mb": _peak_mb()}


def baseline(openai_base: str, rows: int, concurrency: int) -> float:
    """Wall seconds for rows x 3 plain ``generate`` calls, ``concurrency`` at a time."""
    import asyncio

    with tempfile.TemporaryDirectory(prefix="parley-bench-evals-") as tmp:
        svc = build_service(openai_base, Path(tmp))
        svc.generate_sync("warm up", model="m1", user_id="bench")
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with gate:
                await svc.generate(f"Summarise ticket {i // 3}", model=MODELS[i % 3],
                                   user_id="bench", fallbacks=False)

        async def every() -> None:
            await asyncio.gather(*(one(i) for i in range(rows * len(MODELS))))

        started = time.perf_counter()
        svc.submit(every()).result()
        wall = time.perf_counter() - started
        svc.close()
    return wall


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--memory-rows", default="200,2000")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # "openai_base rows concurrency"
    args = parser.parse_args(argv)
    if args.child:
        base, rows, concurrency = args.child.split()
        print(json.dumps(one_run(base, int(rows), int(concurrency))))
        return 0
    emulator, url = start_emulator(args.latency)
    try:
        speed = one_run(f"{url}/v1", args.rows, args.concurrency)
        plain = baseline(f"{url}/v1", args.rows, args.concurrency)
    finally:
        emulator.terminate()
        emulator.wait()
    ideal = args.rows * len(MODELS) * args.latency / args.concurrency
    ratio = speed["wall_s"] / ideal
    print(f"speed: {args.rows} rows x {len(MODELS)} models at {args.latency * 1000:.0f} ms, "
          f"concurrency {args.concurrency}: wall {speed['wall_s']:.2f} s, ideal {ideal:.2f} s, "
          f"ratio {ratio:.3f} (aim ≤ 1.1) {'ok' if ratio <= 1.1 else 'MISSED'}")
    print(f"baseline: the same calls through AIService.generate alone: {plain:.2f} s, "
          f"ratio {plain / ideal:.3f}; the runner adds {speed['wall_s'] - plain:+.2f} s")
    emulator, url = start_emulator(0.0)
    try:
        for rows in (int(n) for n in args.memory_rows.split(",")):
            child = subprocess.run([sys.executable, __file__, "--child",
                                    f"{url}/v1 {rows} {args.concurrency}"],
                                   capture_output=True, text=True, check=True)
            mem = json.loads(child.stdout.strip().splitlines()[-1])
            print(f"memory: {rows:>5} rows x {len(MODELS)} models: peak RSS {mem['peak_rss_mb']:.0f} MB, "
                  f"{mem['peak_rss_mb'] - mem['rss_before_mb']:+.1f} MB over the process before the "
                  f"run ({mem['wall_s']:.1f} s)")
    finally:
        emulator.terminate()
        emulator.wait()
    return 0 if ratio <= 1.1 else 1


if __name__ == "__main__":
    sys.exit(main())
