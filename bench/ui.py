"""How quickly /compare shows answers, in a real browser (aims: first token ≤ 100 ms after the
provider's first byte, median, for 2 and 4 columns; last token ≤ 150 ms after the provider's last
byte; /compare usable ≤ 1.5 s after navigation on a warm server).

    .venv/bin/python bench/ui.py [--rounds 5] [--ttft 0.5]

The app runs as a user runs it (``streamlit run server.py``, what scripts/app runs) on a parley.yaml whose models live on
the provider emulator (tests/fakes). Every provider waits a fixed ``--ttft`` before its first
byte, then streams 40 pieces at 20 a second. Debian's Chromium (Playwright) at 1400x900 types a
prompt and clicks Send; a MutationObserver in the page stamps, per column, when the round's
first word and last word appear on screen. In one clock (the page's epoch time and the
emulator's, same machine):

  first token overhead = (first word on screen - click on Send) - ttft
  last token gap       = last word on screen - the provider's last byte
                         (request received + ttft + 39 piece intervals, as the emulator paces it)

and, for reference, click -> request at the emulator (the part of the first-token overhead
spent before the provider is asked). "Interactive" is navigation start -> the prompt box
enabled, on a server that has served the page before. Medians are printed beside the aims.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.emulated import KEYS, PROVIDER_MODELS, write_config  # noqa: E402
from tests.fakes import ProviderEmulator, Reply  # noqa: E402

PIECES, RATE = 40, 20.0
STAMP = """() => {
  window.stamps = {};
  const look = () => {
    for (const column of document.querySelectorAll('[data-testid="stColumn"]')) {
      const text = column.innerText, letter = (text.match(/^([A-D]) · /) || [])[1];
      const round = window.round;
      if (!letter || !round) continue;
      const s = window.stamps[letter] = window.stamps[letter] || {};
      const now = performance.timeOrigin + performance.now();
      if (s.first === undefined && text.includes(round + 'w0')) s.first = now;
      if (s.last === undefined && text.includes(round + 'end')) s.last = now;
    }
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true, characterData: true});
  document.addEventListener('click', e => {
    if (e.target.closest('[data-testid="stBaseButton-primaryFormSubmit"], button[kind="primaryFormSubmit"]'))
      window.clickedAt = performance.timeOrigin + performance.now();
  }, true);
}"""


class TimedEmulator(ProviderEmulator):
    """The emulator, noting when each request arrived (epoch seconds), by model."""

    def __init__(self):
        super().__init__()
        self.arrivals: list[tuple[str, float]] = []

    def record(self, request) -> None:
        self.arrivals.append((request.model, time.time()))
        super().record(request)


def reply_text(round_id: str) -> str:
    return " ".join(f"{round_id}w{i}" for i in range(PIECES - 1)) + f" {round_id}end"


def start_app(emulator, root: Path) -> tuple[subprocess.Popen, str]:
    config = write_config(emulator, root / "parley.yaml", models=("claude", "gemini", "gpt"))
    port = 8765
    env = {**os.environ, "ANTHROPIC_API_KEY": KEYS["claude"], "GEMINI_API_KEY": KEYS["gemini"],
           "OPENAI_API_KEY": KEYS["gpt"], "PARLEY_CONFIG": str(config),
           "PARLEY_DATA_DIR": str(root / ".parley"), "PARLEY_USER": "bench@example.com",
           "PARLEY_DATABASE_URL": f"sqlite:///{root / '.parley' / 'parley.db'}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "server.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO, env=env, stdout=(root / "streamlit.log").open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.2)
    raise SystemExit("streamlit did not start; see " + str(root / "streamlit.log"))


def settle(page) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=60_000)


def one_round(page, emulator, args, round_id: str, columns: int) -> dict[str, list[float]]:
    for model in PROVIDER_MODELS.values():
        emulator.set_default(model, Reply(text=reply_text(round_id), ttft=args.ttft,
                                          tokens_per_second=RATE))
    emulator.arrivals.clear()
    page.wait_for_timeout(args.pause * 1000)  # a person reads the answers before sending again
    page.evaluate(f"() => {{ window.stamps = {{}}; window.round = '{round_id}'; window.clickedAt = null; }}")
    page.get_by_label("Prompt", exact=True).fill(f"bench {round_id}")
    page.get_by_role("button", name="Send").click()
    try:
        page.wait_for_function(
            f"() => Object.values(window.stamps).filter(s => s.last).length >= {columns}",
            timeout=60_000)
    except Exception:
        page.screenshot(path="/tmp/bench-ui-failed.png")
        print("stamps:", page.evaluate("() => window.stamps"), file=sys.stderr)
        raise
    settle(page)
    settle(page)
    stamps, clicked = page.evaluate("() => window.stamps"), page.evaluate("() => window.clickedAt")
    arrivals = sorted(t for _, t in emulator.arrivals)[:columns]
    out = {"first": [], "last": [], "to_provider": []}
    for stamp in stamps.values():
        out["first"].append(stamp["first"] - clicked - args.ttft * 1000)
    last_bytes = sorted(t + args.ttft + (PIECES - 1) / RATE for t in arrivals)
    for stamp, last_byte in zip(sorted(s["last"] for s in stamps.values()), last_bytes):
        out["last"].append(stamp - last_byte * 1000)
    out["to_provider"] = [t * 1000 - clicked for t in arrivals]
    if os.environ.get("BENCH_UI_DEBUG"):
        print(round_id, "clicked", clicked / 1000, {k: [round(v) for v in vals] for k, vals in out.items()}, file=sys.stderr)
    return out


def measure_columns(page, emulator, args, url: str, columns: int) -> dict[str, list[float]]:
    page.goto(f"{url}/compare")
    page.get_by_label("Prompt", exact=True).wait_for()
    settle(page)
    page.get_by_text(f"{columns} columns", exact=True).click()
    settle(page)
    page.evaluate(STAMP)
    totals: dict[str, list[float]] = {"first": [], "last": [], "to_provider": []}
    for n in range(args.rounds + 1):
        got = one_round(page, emulator, args, f"c{columns}r{n}x", columns)
        if n == 0:
            continue  # the first send loads litellm and opens connections: a warm-up
        for key, values in got.items():
            totals[key] += values
    return totals


def measure_interactive(page, url: str, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds + 1):
        page.goto("about:blank")
        started = time.perf_counter()
        page.goto(f"{url}/compare")
        page.wait_for_selector('textarea[aria-label="Prompt"]:not([disabled])', timeout=60_000)
        page.get_by_role("button", name="Send").wait_for()
        times.append((time.perf_counter() - started) * 1000)
        settle(page)
    return times[1:]  # the first warms the server


def report(name: str, values: list[float], aim: float) -> None:
    median = statistics.median(values)
    verdict = "meets" if median <= aim else "misses"
    print(f"  {name:44s} median {median:7.0f} ms  (min {min(values):.0f}, max {max(values):.0f}, "
          f"n={len(values)})  aim <= {aim:.0f} ms: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ttft", type=float, default=0.5, help="provider's first-byte latency, s")
    parser.add_argument("--pause", type=float, default=2.0,
                        help="seconds between one round's last answer and the next Send")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, TimedEmulator() as emulator:
        process, url = start_app(emulator, Path(tmp))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                     args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                print(f"provider: first byte after {args.ttft * 1000:.0f} ms, then {PIECES} pieces "
                      f"at {RATE:.0f}/s; {args.rounds} rounds after a warm-up, {args.pause:g} s "
                      f"apart; load average "
                      f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
                for columns in (2, 4):
                    got = measure_columns(page, emulator, args, url, columns)
                    print(f"{columns} columns:")
                    report("first token on screen - click - provider TTFB", got["first"], 100)
                    report("last token on screen - provider's last byte", got["last"], 150)
                    print(f"  (click -> request at the provider: median "
                          f"{statistics.median(got['to_provider']):.0f} ms)")
                report("/compare usable after navigation (warm)",
                       measure_interactive(page, url, args.rounds), 1500)
                browser.close()
        finally:
            if os.environ.get("BENCH_UI_DEBUG"):
                print((Path(tmp) / "streamlit.log").read_text()[-6000:], file=sys.stderr)
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
