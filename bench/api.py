"""Parley's HTTP API against LiteLLM's own proxy, on the same emulated provider: the aims of
"Streams at scale", measured side by side in one run.

    .venv/bin/python bench/api.py [--requests 300] [--concurrency 50] [--rounds 3]
                                  [--streams 16,32,64,128,192,256] [--soak 100000]
                                  [--protocol openai|anthropic]

Sets up ``.bench-venv`` with ``litellm[proxy]==1.106.2`` on first use (its own virtualenv).
Two emulators run in subprocesses (tests/fakes): one answers at once, one paces its stream
at 50 frames/s (a frame every 20 ms, 50 frames). LiteLLM's proxy (one worker) and Parley
(``python -m core serve``, one worker, a key checked and every call recorded to SQLite) are
configured with the same two models on them. The load comes from one aiohttp client.

Measured, for each of: the emulator directly, the proxy, Parley (and Parley with
``PARLEY_FAST_PATH=off``, its calls through LiteLLM's Router, as the baseline of the change):

1. stall-free streams: N concurrent paced streams; per stream, the longest gap between two
   frames after the first; a gap over 100 ms is a stall. The largest N with no stall, and the
   p99 / max gap at each N.
2. throughput at ``--concurrency`` in flight, streamed and plain (req/s, median of rounds);
3. added latency one request at a time (median over the emulator directly), plain and streamed
   (25 requests in a row to one server, the servers in turn);
4. memory (``--soak``): Parley's RSS after 10k and after ``--soak`` plain requests;
5. two workers: Parley with ``--workers 2`` against one worker, plain and streamed req/s, with
   wrk's load on nginx's recorded answers (bench/native_load.py): the Python client and
   emulator would take the cores a second worker needs.

``--protocol anthropic`` runs the same with Claude Code's protocol: ``POST /v1/messages``
(``x-api-key``) to an ``anthropic/`` model on the emulator's Anthropic protocol, through Parley
and through the proxy's own ``/v1/messages``.

Prints each figure and the ratios the aims name (3x the proxy's throughput, 128 stall-free
streams and 4x the proxy's, added latency <= 3 ms and <= 0.25x the proxy's, RSS growth
<= 30 MB, two workers >= 1.8x one).
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

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import yaml  # noqa: E402

from bench import native_load  # noqa: E402

BENCH_VENV = ROOT / ".bench-venv"
PROXY_SPEC = "litellm[proxy]==1.106.2"
MODEL = "gpt-4.1-mini"
CLAUDE = "claude-sonnet-4-5-20250929"
PROTOCOL = "openai"  # --protocol: what clients speak, and what the models behind are
PROXY_KEY = "sk-bench-master-0123456789abcdef0123456789abcdef"  # the proxy checks it on each request
PROMPT = [{"role": "user", "content": "Say hello in a dozen words or so please"}]
FRAMES, FRAME_MS, STALL_MS = 50, 20, 100


def body(model: str, stream: bool) -> dict:
    out = {"model": model, "messages": PROMPT, "stream": stream}
    if PROTOCOL == "anthropic":
        out["max_tokens"] = 256
    elif stream:
        out["stream_options"] = {"include_usage": True}
    return out


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


def emulator(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes", "--port", "0", *args],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    return proc, proc.stdout.readline().strip()


def model_list(fast: str, paced: str) -> list[dict]:
    if PROTOCOL == "anthropic":
        return [{"model_name": name, "litellm_params": {"model": f"anthropic/{CLAUDE}", "api_key": "sk-ant-bench-0000",
                                                        "api_base": base}}
                for name, base in (("gpt", fast), ("paced", paced))]
    return [{"model_name": name, "litellm_params": {"model": f"openai/{MODEL}", "api_key": "sk-bench-0000",
                                                    "api_base": f"{base}/v1"}}
            for name, base in (("gpt", fast), ("paced", paced))]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Servers:
    """The proxy and Parley servers of one run, on free ports; ``stop()`` ends them all."""

    def __init__(self, work: Path, fast: str, paced: str, fast_pid: int = 0, paced_pid: int = 0):
        self.work, self.fast, self.paced, self.procs = work, fast, paced, []
        self.fast_pid, self.paced_pid = fast_pid, paced_pid
        self.env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT)}

    def proxy(self) -> str:
        cfg = self.work / "proxy.yaml"
        cfg.write_text(yaml.safe_dump({"model_list": model_list(self.fast, self.paced),
                                       "litellm_settings": {"drop_params": True},
                                       "general_settings": {"master_key": PROXY_KEY}}))
        port = free_port()
        self.procs.append(start([str(ensure_proxy_venv()), "--config", str(cfg), "--port", str(port),
                                 "--num_workers", "1"], self.env,
                                f"http://127.0.0.1:{port}/health/liveliness", self.work / "proxy.log"))
        return f"http://127.0.0.1:{port}"

    def parley(self, name: str, workers: int = 1, **env: str) -> tuple[str, str, subprocess.Popen]:
        """A Parley server (its own data directory and key); returns (url, key, process)."""
        from core.keys import KeyRing
        from core.store.sqlite import SqliteStore

        cfg = self.work / f"{name}.yaml"
        cfg.write_text(yaml.safe_dump({"model_list": model_list(self.fast, self.paced),
                                       "router_settings": {"num_retries": 2, "timeout": 30},
                                       "parley": {"default_model": "gpt"}}))
        data = self.work / name
        store = SqliteStore(data / "parley.db")
        secret, _ = KeyRing(lambda: store).create("bench", created_by="bench")
        store.close()
        port = free_port()
        proc = start([sys.executable, "-m", "core", "serve", "--port", str(port), "--workers", str(workers)],
                     {**self.env, "PARLEY_CONFIG": str(cfg), "PARLEY_DATA_DIR": str(data), **env},
                     f"http://127.0.0.1:{port}/api/openapi.json", self.work / f"{name}.log")
        self.procs.append(proc)
        return f"http://127.0.0.1:{port}", secret, proc

    def stop(self, proc: subprocess.Popen | None = None) -> None:
        for p in [proc] if proc else self.procs:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


class Path_:
    """One way to the model: a URL, the header that authorises it, and the server's process
    (whose CPU time a request costs)."""

    def __init__(self, session: aiohttp.ClientSession, url: str, secret: str | None, pid: int):
        route = "/v1/messages" if PROTOCOL == "anthropic" else "/v1/chat/completions"
        self.session, self.url, self.pid = session, f"{url}{route}", pid
        if PROTOCOL == "anthropic":
            self.headers = {"x-api-key": secret or "sk-ant-bench-0000", "anthropic-version": "2023-06-01"}
        else:
            self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    async def plain(self) -> float:
        started = time.perf_counter()
        async with self.session.post(self.url, json=body("gpt", False), headers=self.headers) as r:
            payload = await r.read()
            if r.status != 200:
                raise SystemExit(f"{self.url} answered {r.status}: {payload[:300]!r}")
        return (time.perf_counter() - started) * 1000

    async def streamed(self, model: str = "gpt") -> tuple[float, list[float]]:
        """(ms to [DONE], the arrival times of the content frames)"""
        started = time.perf_counter()
        frames: list[float] = []
        done = False
        async with self.session.post(self.url, json=body(model, True), headers=self.headers) as r:
            if r.status != 200:
                raise SystemExit(f"{self.url} answered {r.status}: {(await r.read())[:300]!r}")
            async for line in r.content:
                if line.startswith(b"data: [DONE]") or line.startswith(b"event: message_stop"):
                    done = True
                elif (b'"text_delta"' if PROTOCOL == "anthropic" else b'"content"') in line:
                    frames.append(time.perf_counter())
        if not done:
            raise SystemExit(f"{self.url}: the stream ended without its last event")
        return (time.perf_counter() - started) * 1000, frames

    async def stream_ms(self) -> float:
        return (await self.streamed())[0]


def cpu_seconds(pid: int) -> float:
    """CPU time a server (and its workers) has used so far: unlike req/s, it does not depend
    on what else the machine is doing."""
    total = 0.0
    for p in [pid, *children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else values[0]


async def sequential(paths: dict[str, Path_], kind: str, requests: int, block: int = 25) -> dict[str, float]:
    """Median ms of ``requests`` requests to each path, one at a time: ``block`` in a row to
    one server, the servers in a new random order each round (so the machine's drift falls on
    all alike). A server's work after it answered (LiteLLM's proxy logs its spend then) falls
    on its own next request, not on another server's."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(-(-requests // block)):
        order = list(paths)
        random.shuffle(order)
        for name in order:
            one = paths[name].plain if kind == "plain" else paths[name].stream_ms
            for _ in range(min(block, requests - len(times[name]))):
                times[name].append(await one())
    return {name: statistics.median(t) for name, t in times.items()}


async def rate(one, requests: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def gated():
        async with gate:
            return await one()

    started = time.perf_counter()
    await asyncio.gather(*(gated() for _ in range(requests)))
    return requests / (time.perf_counter() - started)


async def throughput(paths: dict[str, Path_], kind: str, args,
                     cpu: dict[str, float] | None = None) -> dict[str, float]:
    """Median req/s per path; ``cpu`` gets each server's CPU ms per request."""
    rates: dict[str, list[float]] = {name: [] for name in paths}
    used: dict[str, float] = {name: 0.0 for name in paths}
    for _ in range(args.rounds):
        order = list(paths)
        random.shuffle(order)
        for name in order:
            one = paths[name].plain if kind == "plain" else paths[name].stream_ms
            before = paths[name].cpu_seconds()
            rates[name].append(await rate(one, args.requests, args.concurrency))
            used[name] += paths[name].cpu_seconds() - before
    if cpu is not None:
        cpu.update({name: used[name] * 1000 / (args.requests * args.rounds) for name in paths})
    return {name: statistics.median(r) for name, r in rates.items()}


async def stalls(path: Path_, n: int) -> tuple[float, float, int]:
    """N paced streams at once: (p99 gap, max gap, streams with a stall), gaps in ms."""
    results = await asyncio.gather(*(path.streamed("paced") for _ in range(n)))
    worst = []
    for _, frames in results:
        # A server that falls behind may join pieces that arrived together into one frame:
        # the gap before that frame is what the reader waited, which is what counts.
        gaps = [(b - a) * 1000 for a, b in zip(frames, frames[1:])]
        worst.append(max(gaps, default=float("inf")))
    return p99(worst), max(worst), sum(w > STALL_MS for w in worst)


async def stall_free(paths: dict[str, Path_], counts: list[int]) -> dict[str, dict]:
    out: dict[str, dict] = {name: {"stall_free": 0, "gaps": {}} for name in paths}
    for name, path in paths.items():
        for n in counts:
            gap99, gap_max, stalled = await stalls(path, n)
            out[name]["gaps"][n] = (round(gap99, 1), round(gap_max, 1), stalled)
            print(f"  {name:<24} {n:>4} streams: p99 gap {gap99:6.1f} ms, max {gap_max:6.1f} ms, "
                  f"{stalled} stalled", flush=True)
            if stalled:
                break
            out[name]["stall_free"] = n
    return out


def rss_mb(pid: int) -> float:
    """The resident memory of ``pid`` and its children (uvicorn's workers), MB."""
    total = 0.0
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass
    return total


def children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [int(k) for k in kids] + [g for k in kids for g in children(int(k))]


async def soak(path: Path_, proc: subprocess.Popen, total: int, concurrency: int) -> tuple[float, float]:
    """RSS (MB) after 10k plain requests and after ``total``."""
    done, at_10k = 0, None
    while done < total:
        batch = min(5000, total - done)
        await rate(path.plain, batch, concurrency)
        done += batch
        if done >= 10_000 and at_10k is None:
            at_10k = rss_mb(proc.pid)
        print(f"  soak: {done} requests, RSS {rss_mb(proc.pid):.1f} MB", flush=True)
    return at_10k or rss_mb(proc.pid), rss_mb(proc.pid)


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


async def run(args, servers: Servers) -> dict:
    figures: dict = {"load_before": os.getloadavg()[0], "cores": os.cpu_count()}
    proxy = servers.proxy()
    proxy_pid = servers.procs[-1].pid
    parley, secret, parley_proc = servers.parley("parley")
    router, router_secret, router_proc = servers.parley("parley-router", PARLEY_FAST_PATH="off")
    # idle connections are dropped before the servers drop them (uvicorn: after 5 s)
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=2)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        paths = {"emulator directly": Path_(session, servers.fast, None, servers.fast_pid),
                 "LiteLLM proxy": Path_(session, proxy, PROXY_KEY, proxy_pid),
                 "Parley": Path_(session, parley, secret, parley_proc.pid),
                 "Parley via the Router": Path_(session, router, router_secret, router_proc.pid)}
        paced_paths = dict(paths)
        paced_paths["emulator directly"] = Path_(session, servers.paced, None, servers.paced_pid)
        for kind in ("plain", "streamed"):  # warm every path
            await sequential(paths, kind, 10)

        print("\n1. stall-free streams (a frame every 20 ms, 50 frames; a gap > 100 ms is a stall)")
        figures["streams"] = await stall_free(paced_paths, args.streams)

        print(f"\n2. throughput at {args.concurrency} in flight ({args.requests} requests, "
              f"median of {args.rounds} rounds)")
        figures["throughput"], figures["cpu_ms"] = {}, {}
        for kind in ("streamed", "plain"):
            figures["cpu_ms"][kind] = {}
            figures["throughput"][kind] = await throughput(paths, kind, args, figures["cpu_ms"][kind])
            for name, r in figures["throughput"][kind].items():
                print(f"  {kind:<9} {name:<24} {r:8.1f} req/s, server CPU "
                      f"{figures['cpu_ms'][kind][name]:6.2f} ms a request", flush=True)

        print(f"\n3. latency one at a time ({args.requests} each, interleaved), median ms")
        figures["latency"] = {}
        for kind in ("plain", "streamed"):
            medians = await sequential(paths, kind, args.requests)
            figures["latency"][kind] = medians
            base = medians["emulator directly"]
            for name, m in medians.items():
                print(f"  {kind:<9} {name:<24} {m:7.2f}  added {m - base:6.2f}", flush=True)

        if args.soak:
            print(f"\n4. memory: {args.soak} plain requests to Parley at {args.concurrency} in flight")
            start_rss = rss_mb(parley_proc.pid)
            at_10k, at_end = await soak(paths["Parley"], parley_proc, args.soak, args.concurrency)
            figures["memory"] = {"start": start_rss, "at_10k": at_10k, "at_end": at_end}

    servers.stop(parley_proc)
    figures["load_after"] = os.getloadavg()[0]
    if args.two_workers == "yes":
        figures["two_workers"] = two_workers(args, servers)
        figures["load_after"] = os.getloadavg()[0]
    return figures


def two_workers(args, servers: Servers) -> dict | None:
    """5. Parley with two workers against one, side by side, each from a fresh start, in
    alternation (median of ``--rounds``): wrk's load, nginx's recorded answers
    (bench/native_load.py), so the cores are the servers' to use."""
    print(f"\n5. two workers against one: wrk, {args.concurrency} connections, {args.wrk_seconds} s a round, "
          f"nginx answering the emulator's recorded answers; median of {args.rounds} rounds")
    missing = native_load.ensure()
    if missing:
        print(f"  not measured: {missing}")
        return None
    anthropic = PROTOCOL == "anthropic"
    route = "/v1/messages" if anthropic else "/v1/chat/completions"
    provider = {"x-api-key": "sk-ant-bench-0000", "anthropic-version": "2023-06-01"} if anthropic else \
        {"authorization": "Bearer sk-bench-0000"}
    model = CLAUDE if anthropic else MODEL
    upstream = native_load.StaticUpstream(servers.fast, route, provider, body(model, False), body(model, True),
                                          free_port())
    native = Servers(servers.work, f"{upstream.url}/plain", f"{upstream.url}/stream")
    try:
        one, one_key, one_proc = native.parley("one-worker")
        two, two_key, two_proc = native.parley("two-workers", workers=2)
        targets = {"one": (one, one_key, one_proc.pid), "two": (two, two_key, two_proc.pid)}

        def headers(key: str) -> dict[str, str]:
            return {"x-api-key": key, "anthropic-version": "2023-06-01"} if anthropic else \
                {"Authorization": f"Bearer {key}"}

        def load(name: str, kind: str, seconds: int) -> tuple[float, float]:
            """(req/s, cores the server used)"""
            url, key, pid = targets[name]
            before, started = cpu_seconds(pid), time.perf_counter()
            rps = native_load.wrk(f"{url}{route}", body("paced" if kind == "streamed" else "gpt", kind == "streamed"),
                                  headers(key), seconds, args.concurrency)
            return rps, (cpu_seconds(pid) - before) / (time.perf_counter() - started)

        for name in targets:  # warm both
            for kind in ("plain", "streamed"):
                load(name, kind, 2)
        runs = {kind: {name: [] for name in targets} for kind in ("streamed", "plain")}
        for _ in range(args.rounds):
            for kind in runs:
                order = list(targets)
                random.shuffle(order)
                for name in order:
                    runs[kind][name].append(load(name, kind, args.wrk_seconds))
                    rps, cores = runs[kind][name][-1]
                    print(f"  {kind:<9} {name} worker(s) {rps:8.1f} req/s, the server using {cores:.2f} cores",
                          flush=True)
        return {kind: {name: statistics.median(r for r, _ in rounds) for name, rounds in by_name.items()}
                for kind, by_name in runs.items()}
    finally:
        native.stop()
        upstream.stop()


def report(f: dict, args) -> None:
    t, lat = f["throughput"], f["latency"]
    s = {name: v["stall_free"] for name, v in f["streams"].items()}
    print(f"\nAims (load average {f['load_before']:.1f} before, {f['load_after']:.1f} after, "
          f"{f['cores']} cores):")
    rows = [
        ("stall-free streams, Parley", s["Parley"], f">= 128 and >= 4x the proxy ({s['LiteLLM proxy']}): "
         f"{ratio(s['Parley'], s['LiteLLM proxy']):.1f}x"),
    ]
    for kind in ("streamed", "plain"):
        rows.append((f"{kind} req/s at {args.concurrency}, Parley / proxy",
                     f"{t[kind]['Parley']:.1f} / {t[kind]['LiteLLM proxy']:.1f}",
                     f">= 3x: {ratio(t[kind]['Parley'], t[kind]['LiteLLM proxy']):.2f}x "
                     f"(via the Router: {ratio(t[kind]['Parley via the Router'], t[kind]['LiteLLM proxy']):.2f}x)"))
    for kind in ("streamed", "plain"):
        c = f["cpu_ms"][kind]
        rows.append((f"server CPU a {kind} request, Parley / proxy (ms)",
                     f"{c['Parley']:.2f} / {c['LiteLLM proxy']:.2f}",
                     f"{ratio(c['LiteLLM proxy'], c['Parley']):.1f}x less (via the Router: "
                     f"{c['Parley via the Router']:.2f} ms)"))
    for kind in ("plain", "streamed"):
        base = lat[kind]["emulator directly"]
        ours, theirs = lat[kind]["Parley"] - base, lat[kind]["LiteLLM proxy"] - base
        rows.append((f"added latency {kind}, Parley / proxy (ms)", f"{ours:.2f} / {theirs:.2f}",
                     f"<= 3 ms and <= 0.25x: {ratio(ours, theirs):.2f}x"))
    if "memory" in f:
        m = f["memory"]
        rows.append((f"RSS 10k -> {args.soak // 1000}k requests (MB)", f"{m['at_10k']:.1f} -> {m['at_end']:.1f}",
                     f"growth <= 30 MB: {m['at_end'] - m['at_10k']:+.1f} MB"))
    for kind in ("streamed", "plain") if f.get("two_workers") else ():
        w = f["two_workers"][kind]
        rows.append((f"two workers / one, {kind} (wrk, nginx)", f"{w['two']:.1f} / {w['one']:.1f}",
                     f">= 1.8x: {ratio(w['two'], w['one']):.2f}x"))
    for name, value, aim in rows:
        print(f"  {name:<46} {value!s:>18}   {aim}")
    print(json.dumps(f, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--streams", default="16,32,64,128,192,256")
    parser.add_argument("--soak", type=int, default=0, help="plain requests for the memory soak (0: none)")
    parser.add_argument("--protocol", choices=("openai", "anthropic"), default="openai")
    parser.add_argument("--two-workers", choices=("yes", "no"), default="yes")
    parser.add_argument("--wrk-seconds", type=int, default=8, help="a round of the two-worker measure")
    args = parser.parse_args()
    global PROTOCOL
    PROTOCOL = args.protocol
    args.streams = [int(n) for n in args.streams.split(",")]
    fast, fast_url = emulator()
    paced, paced_url = emulator("--tokens-per-second", str(1000 / FRAME_MS), "--words", str(FRAMES))
    servers = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            servers = Servers(Path(tmp), fast_url, paced_url, fast.pid, paced.pid)
            report(asyncio.run(run(args, servers)), args)
    finally:
        if servers is not None:
            servers.stop()
        for proc in (fast, paced):
            proc.terminate()
            proc.wait(timeout=15)


if __name__ == "__main__":
    main()
