"""Real clients nobody here wrote, through Parley and against the emulator directly (not CI).

    npm i --prefix .bench-npm @anthropic-ai/claude-code ai @ai-sdk/openai @ai-sdk/anthropic
    .venv/bin/python bench/clients.py [--npm .bench-npm] [--loopback-only]

Starts the provider emulator (tests/fakes) and ``python -m core serve`` on it (claude, gemini
and gpt; SQLite under a temporary directory), makes an API key, then runs each case twice:
through Parley (``pk-...`` key, Parley's model names) and against the emulator directly (the
provider's own base URL and model id). Cases: Claude Code (``claude -p ... --max-turns 1``,
``ANTHROPIC_BASE_URL``) on a Claude model and on a non-Claude one; the Vercel AI SDK's
``@ai-sdk/openai`` (Responses API and chat) and ``@ai-sdk/anthropic``, plain and streamed.
After Parley's cases, checks that every answered call was recorded once, priced, with its
client named. Prints the table: case, through Parley, against the emulator directly.

``--loopback-only`` re-runs itself in a new user and network namespace (``unshare -rn``)
whose only interface is loopback, so no client can reach anything but 127.0.0.1.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.emulated import KEYS, PROVIDER_MODELS, write_config  # noqa: E402
from tests.fakes import ProviderEmulator, Reply  # noqa: E402

CLAUDE_CODE_ANSWER = "Hello from the emulated model."
AI_SDK_SCRIPT = r"""
const [mode, provider, model, baseURL, apiKey] = process.argv.slice(2);
const { generateText, streamText } = await import('ai');
let make;
if (provider === 'anthropic') {
  const { createAnthropic } = await import('@ai-sdk/anthropic');
  make = createAnthropic({ baseURL, apiKey });
} else {
  const { createOpenAI } = await import('@ai-sdk/openai');
  const openai = createOpenAI({ baseURL, apiKey });
  make = provider === 'openai-chat' ? openai.chat : openai;
}
const args = { model: make(model), prompt: 'Say hello in five words', maxRetries: 0 };
if (mode === 'stream') {
  const result = streamText({ ...args, onError: ({ error }) => { console.error(String(error)); process.exit(1); } });
  let text = '';
  for await (const piece of result.textStream) text += piece;
  if (!text) { console.error('empty stream'); process.exit(1); }
  console.log(text);
} else {
  const result = await generateText(args);
  if (!result.text) { console.error('empty answer'); process.exit(1); }
  console.log(result.text);
}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--npm", default=str(ROOT / ".bench-npm"),
                        help="the npm prefix holding claude-code, ai and @ai-sdk/*")
    parser.add_argument("--loopback-only", action="store_true")
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    args = parser.parse_args()
    if args.loopback_only and os.environ.get("PARLEY_BENCH_NETNS") != "1":
        return _in_loopback_namespace()
    npm = Path(args.npm).resolve()
    with tempfile.TemporaryDirectory(prefix="parley-clients-") as tmp, ProviderEmulator() as emu:
        # The emulator calls an offered tool by default; Claude Code offers its tools on
        # every prompt, and one turn of an answer is what is asked here.
        emu.set_default("*", Reply(tool_calls=()))
        server, port, secret, db = _serve(emu, Path(tmp))
        try:
            rows = _run_cases(emu, npm, f"http://127.0.0.1:{port}", secret, Path(tmp), args.only)
            problems = _check_records(db, rows)
        finally:
            server.terminate()
            server.wait(timeout=30)
    _print_table(rows)
    for problem in problems:
        print("RECORDING:", problem)
    failed = [r for r in rows if not r["parley"][0]] + problems
    return 1 if failed else 0


def _in_loopback_namespace() -> int:
    """This script again, in a network namespace with loopback up and nothing else."""
    command = ("ip link set lo up && exec " + " ".join(
        [sys.executable, *map(_quoted, sys.argv)]))
    env = {**os.environ, "PARLEY_BENCH_NETNS": "1"}
    return subprocess.call(["unshare", "-rn", "sh", "-c", command], env=env)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _serve(emu, tmp: Path):
    config = write_config(emu, tmp / "parley.yaml", parley={"default_model": "gemini",
                                                            "privacy": "store"})
    env = {**os.environ, "PARLEY_CONFIG": str(config), "PARLEY_DATA_DIR": str(tmp / ".parley"),
           "ANTHROPIC_API_KEY": KEYS["claude"], "GEMINI_API_KEY": KEYS["gemini"],
           "OPENAI_API_KEY": KEYS["gpt"], "PYTHONPATH": str(ROOT)}
    secret = subprocess.run([sys.executable, "-m", "core", "keys", "create", "--user",
                             "dev@example.com"], env=env, cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    secret = next(word for word in secret.split() if word.startswith("pk-"))
    port = _free_port()
    log = open(tmp / "serve.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "core", "serve", "--port", str(port)],
                              env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.head(f"http://127.0.0.1:{port}/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.3)
    return server, port, secret, tmp / ".parley" / "parley.db"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cases(emu, npm: Path, parley: str, secret: str, home: Path):
    """(name, client, how to run it through Parley, how to run it against the emulator)."""
    claude = str(npm / "node_modules" / ".bin" / "claude")
    direct_anthropic = emu.anthropic_base

    def claude_code(base: str, key: str, model: str):
        env = {"ANTHROPIC_BASE_URL": base, "ANTHROPIC_API_KEY": key, "HOME": str(home),
               "ANTHROPIC_SMALL_FAST_MODEL": model, "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
               "DISABLE_TELEMETRY": "1",
               "DISABLE_ERROR_REPORTING": "1", "DISABLE_AUTOUPDATER": "1",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "PATH": os.environ["PATH"]}
        return ([claude, "-p", "Say hello in five words", "--max-turns", "1", "--model", model],
                env)

    script = npm / "parley-ai-sdk-case.mjs"  # beside node_modules, so its imports resolve
    script.write_text(AI_SDK_SCRIPT, encoding="utf-8")

    def ai_sdk(mode: str, provider: str, model: str, base: str, key: str):
        return (["node", str(script), mode, provider, model, base, key], {"PATH": os.environ["PATH"]})

    # Claude Code offers its tools on every request, and the emulator calls an offered tool
    # (which --max-turns 1 would end on): here every model answers in words, which Claude Code
    # must print.
    emu.set_default("*", Reply(text=CLAUDE_CODE_ANSWER, tool_calls=()))
    yield ("claude -p (Claude model)", "claude-code",
           claude_code(parley, secret, "claude"),
           claude_code(direct_anthropic, KEYS["claude"], PROVIDER_MODELS["claude"]))
    yield ("claude -p (Gemini model)", "claude-code", claude_code(parley, secret, "gemini"), None)
    emu.set_default("*", Reply())
    for mode in ("plain", "stream"):
        yield (f"@ai-sdk/anthropic {mode}", "ai-sdk",
               ai_sdk(mode, "anthropic", "claude", f"{parley}/v1", secret),
               ai_sdk(mode, "anthropic", PROVIDER_MODELS["claude"], f"{direct_anthropic}/v1", KEYS["claude"]))
        yield (f"@ai-sdk/anthropic on gemini {mode}", "ai-sdk",
               ai_sdk(mode, "anthropic", "gemini", f"{parley}/v1", secret), None)
        yield (f"@ai-sdk/openai chat {mode}", "ai-sdk",
               ai_sdk(mode, "openai-chat", "gpt", f"{parley}/v1", secret),
               ai_sdk(mode, "openai-chat", PROVIDER_MODELS["gpt"], emu.openai_base, KEYS["gpt"]))
        yield (f"@ai-sdk/openai responses {mode}", "ai-sdk",
               ai_sdk(mode, "openai", "gpt", f"{parley}/v1", secret),
               ai_sdk(mode, "openai", PROVIDER_MODELS["gpt"], emu.openai_base, KEYS["gpt"]))
        yield (f"@ai-sdk/openai responses on gemini {mode}", "ai-sdk",
               ai_sdk(mode, "openai", "gemini", f"{parley}/v1", secret), None)


def _run(spec, cwd: Path) -> tuple[bool, str]:
    """(passed, the last line it printed or why it failed); Claude Code passes only when it
    printed the model's answer."""
    if spec is None:
        return False, "n/a"
    argv, env = spec
    try:
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False, "timed out"
    if done.returncode == 0:
        out = done.stdout.strip().splitlines()
        last = (out[-1] if out else "")[:90]
        if argv[0].endswith("claude") and CLAUDE_CODE_ANSWER not in done.stdout:
            return False, f"printed {last!r}, not the answer"
        return True, last
    errors = [line for line in done.stderr.splitlines() if "Error" in line] or done.stderr.splitlines()
    return False, (errors[0] if errors else f"exit {done.returncode}").strip()[:140]


def _run_cases(emu, npm, parley, secret, tmp, only) -> list[dict]:
    rows = []
    for name, client, through, direct in _cases(emu, npm, parley, secret, tmp):
        if only and only not in name:
            continue
        before = _count(tmp / ".parley" / "parley.db")
        rows.append({"case": name, "client": client, "parley": _run(through, tmp),
                     "direct": _run(direct, tmp), "rows_before": before})
        print(f"{name}: parley={rows[-1]['parley']} direct={rows[-1]['direct']}", flush=True)
    return rows


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM request_logs").fetchone()[0]


def _check_records(db: Path, rows: list[dict]) -> list[str]:
    """Every answered call recorded once, priced, its client named."""
    time.sleep(1.0)  # the server's recorder writes behind the answer
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        logs = [dict(r) for r in conn.execute("SELECT * FROM request_logs ORDER BY id")]
    problems = []
    ids = [log["litellm_call_id"] for log in logs]
    if len(ids) != len(set(ids)):
        problems.append("a call was recorded twice")
    for log in logs:
        if log["status"] == "success" and not (log["total_cost"] or 0) > 0:
            problems.append(f"call {log['litellm_call_id']} on {log['model']} has no cost")
        if not log.get("client") or log["client"] in ("unknown", "other"):
            problems.append(f"call {log['litellm_call_id']} names no client ({log.get('client')})")
    by_client: dict[str, tuple[int, float]] = {}
    for log in logs:
        calls, cost = by_client.get(log["client"], (0, 0.0))
        by_client[log["client"]] = (calls + 1, cost + (log["total_cost"] or 0))
    print("recorded by client:", json.dumps({k: [n, round(c, 6)] for k, (n, c) in by_client.items()}))
    return problems


def _print_table(rows: list[dict]) -> None:
    def mark(result):
        ok, said = result
        return "n/a" if said == "n/a" else ("pass" if ok else f"FAIL ({said})")

    print("\n| case | client | through Parley | against the emulator directly |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['case']} | {row['client']} | {mark(row['parley'])} | {mark(row['direct'])} |")


if __name__ == "__main__":
    sys.exit(main())
