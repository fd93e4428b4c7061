"""Parley's HTTP API against LiteLLM's own proxy, on the same emulated provider.

    .venv/bin/python bench/api.py [--requests 200] [--concurrency 50] [--rounds 3]

Sets up ``.bench-venv`` with ``litellm[proxy]==1.106.2`` on first use (its own virtualenv: the
proxy's dependencies stay out of Parley's). The provider emulator (tests/fakes) runs in a
subprocess; LiteLLM's proxy (``litellm --config``, one worker) and Parley (``python -m core
serve``, one worker, recording every call to SQLite, a key checked on every request) each
run in their own process, configured with the same model on it. Every request streams
(``stream: true``, usage included) and is read to ``[DONE]``.

Measured per path, for requests one at a time (interleaved, so drift hits every path alike)
and with ``--concurrency`` streams in flight: latency median and p99 (ms, request sent to
the last byte), and throughput (requests/s, median of ``--rounds``). The baseline is a
direct ``litellm.acompletion`` stream from this process; "added" is a path's latency minus
the baseline's. Prints Parley's added latency and throughput as ratios to the proxy's
(aims: added latency <= 1.0x the proxy's at both loads, throughput >= 1.5x at 50 concurrent).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import yaml  # noqa: E402

BENCH_VENV = ROOT / ".bench-venv"
PROXY_SPEC = "litellm[proxy]==1.106.2"
MODEL = "gpt-4.1-mini"
PROXY_KEY = "sk-bench-master-0123456789abcdef0123456789abcdef"  # the proxy checks it on each request
BODY = {"model": "gpt", "stream": True, "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Say hello in a dozen words or so please"}]}


def ensure_proxy_venv() -> Path:
    """``.bench-venv/bin/litellm``, installing ``litellm[proxy]`` there the first time."""
    litellm_bin = BENCH_VENV / "bin" / "litellm"
    if litellm_bin.exists():
        return litellm_bin
    print(f"setting up {BENCH_VENV} with {PROXY_SPEC} (once; a few minutes)...", flush=True)
    if not (BENCH_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    subprocess.run([str(BENCH_VENV / "bin" / "python"), "-m", "pip", "install", "-q", PROXY_SPEC],
                   check=True)
    return litellm_bin


def start(argv: list[str], env: dict[str, str], ready: str, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{argv[0]} exited:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(ready, timeout=2).status_code < 500:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"{argv[0]} did not start:\n{log.read_text(errors='replace')[-2000:]}")


def model_list(emulator: str) -> list[dict]:
    return [{"model_name": "gpt", "litellm_params": {"model": f"openai/{MODEL}",
                                                     "api_key": "sk-bench-0000",
                                                     "api_base": f"{emulator}/v1"}}]


def start_servers(work: Path, emulator: str) -> tuple[list[subprocess.Popen], str, str, str]:
    """LiteLLM's proxy and Parley's API on free ports; returns (processes, proxy url, parley
    url, a Parley key)."""
    from core.keys import KeyRing
    from core.store.sqlite import SqliteStore

    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT)}
    proxy_cfg = work / "proxy.yaml"
    proxy_cfg.write_text(yaml.safe_dump({"model_list": model_list(emulator),
                                         "litellm_settings": {"drop_params": True},
                                         "general_settings": {"master_key": PROXY_KEY}}))
    proxy_port, parley_port = free_port(), free_port()
    proxy = start([str(ensure_proxy_venv()), "--config", str(proxy_cfg), "--port", str(proxy_port),
                   "--num_workers", "1"], env, f"http://127.0.0.1:{proxy_port}/health/liveliness",
                  work / "proxy.log")
    parley_cfg = work / "parley.yaml"
    parley_cfg.write_text(yaml.safe_dump({"model_list": model_list(emulator),
                                          "router_settings": {"num_retries": 2, "timeout": 30},
                                          "parley": {"default_model": "gpt"}}))
    data = work / ".parley"
    store = SqliteStore(data / "parley.db")
    secret, _ = KeyRing(lambda: store).create("bench", created_by="bench")
    store.close()
    parley = start([sys.executable, "-m", "core", "serve", "--port", str(parley_port)],
                   {**env, "PARLEY_CONFIG": str(parley_cfg), "PARLEY_DATA_DIR": str(data)},
                   f"http://127.0.0.1:{parley_port}/api/openapi.json", work / "parley.log")
    return [proxy, parley], f"http://127.0.0.1:{proxy_port}", f"http://127.0.0.1:{parley_port}", secret


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_path(client: httpx.AsyncClient, url: str, secret: str):
    headers = {"Authorization": f"Bearer {secret}"}

    async def one() -> float:
        started = time.perf_counter()
        try:
            return await read(started)
        except httpx.HTTPError as exc:
            raise SystemExit(f"{url}: {type(exc).__name__} after "
                             f"{(time.perf_counter() - started) * 1000:.0f} ms") from None

    async def read(started: float) -> float:
        async with client.stream("POST", f"{url}/v1/chat/completions", json=BODY,
                                 headers=headers) as response:
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}: {await response.aread()}")
            done = False
            async for line in response.aiter_lines():
                done = done or line == "data: [DONE]"
        if not done:
            raise SystemExit(f"{url}: the stream ended without [DONE]")
        return (time.perf_counter() - started) * 1000

    return one


def direct_path(emulator: str):
    import litellm

    async def one() -> float:
        started = time.perf_counter()
        response = await litellm.acompletion(model=f"openai/{MODEL}", messages=BODY["messages"],
                                             api_base=f"{emulator}/v1", api_key="sk-bench-0000",
                                             stream=True, stream_options={"include_usage": True})
        async for _ in response:
            pass
        return (time.perf_counter() - started) * 1000

    return one


async def sequential(paths: dict, requests: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(requests):
        order = list(paths)
        random.shuffle(order)
        for name in order:
            times[name].append(await paths[name]())
    return times


async def concurrent(one, requests: int, concurrency: int) -> tuple[list[float], float]:
    gate = asyncio.Semaphore(concurrency)

    async def gated() -> float:
        async with gate:
            return await one()

    started = time.perf_counter()
    times = await asyncio.gather(*(gated() for _ in range(requests)))
    return list(times), requests / (time.perf_counter() - started)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else values[0]


async def measure(args, emulator: str, proxy: str, parley: str, secret: str) -> None:
    limits = httpx.Limits(max_connections=args.concurrency * 2, max_keepalive_connections=args.concurrency * 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        paths = {"direct litellm.acompletion": direct_path(emulator),
                 "LiteLLM proxy": http_path(client, proxy, PROXY_KEY),
                 "Parley API": http_path(client, parley, secret)}
        await sequential(paths, 20)  # warm up every path
        seq = await sequential(paths, args.requests)
        conc: dict[str, list[float]] = {name: [] for name in paths}
        rates: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.rounds):
            order = list(paths)
            random.shuffle(order)
            for name in order:
                times, rate = await concurrent(paths[name], args.requests, args.concurrency)
                conc[name] += times
                rates[name].append(rate)
    report(seq, conc, {name: statistics.median(r) for name, r in rates.items()}, args)


def report(seq: dict, conc: dict, rates: dict, args) -> None:
    base = "direct litellm.acompletion"
    print(f"\n{args.requests} streamed requests each; concurrent: {args.concurrency} in flight, "
          f"{args.rounds} rounds (throughput: median round); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print(f"{'path':<28}{'seq median':>11}{'seq p99':>9}{'conc median':>13}{'conc p99':>10}"
          f"{'req/s':>8}")
    for name in seq:
        print(f"{name:<28}{statistics.median(seq[name]):>11.2f}{p99(seq[name]):>9.2f}"
              f"{statistics.median(conc[name]):>13.2f}{p99(conc[name]):>10.2f}{rates[name]:>8.1f}")
    added = {}
    for name in ("LiteLLM proxy", "Parley API"):
        added[name] = {
            "seq median": statistics.median(seq[name]) - statistics.median(seq[base]),
            "seq p99": p99(seq[name]) - p99(seq[base]),
            "conc median": statistics.median(conc[name]) - statistics.median(conc[base]),
            "conc p99": p99(conc[name]) - p99(conc[base])}
    print("\nadded latency over direct litellm (ms) and Parley / proxy:")
    for measure_name in ("seq median", "seq p99", "conc median", "conc p99"):
        proxy, parley = added["LiteLLM proxy"][measure_name], added["Parley API"][measure_name]
        ratio = parley / proxy if proxy > 0 else float("nan")
        print(f"  {measure_name:<12} proxy {proxy:8.2f}  Parley {parley:8.2f}  ratio {ratio:5.2f}"
              f"  (aim <= 1.0)")
    print(f"throughput at {args.concurrency} concurrent: Parley {rates['Parley API']:.1f} req/s, "
          f"proxy {rates['LiteLLM proxy']:.1f} req/s, ratio "
          f"{rates['Parley API'] / rates['LiteLLM proxy']:.2f} (aim >= 1.5)")
    print(json.dumps({"added": added, "throughput": rates}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    emulator = subprocess.Popen([sys.executable, "-m", "tests.fakes", "--port", "0"],
                                stdout=subprocess.PIPE, text=True, cwd=ROOT)
    base = emulator.stdout.readline().strip()
    procs = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            procs, proxy, parley, secret = start_servers(Path(tmp), base)
            asyncio.run(measure(args, base, proxy, parley, secret))
    finally:
        for proc in procs + [emulator]:
            proc.terminate()
            proc.wait(timeout=15)


if __name__ == "__main__":
    main()
