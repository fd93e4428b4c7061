"""A new user's first visit, measured once: the cold first token of a 4-column /compare with the
bundled model, on screen, and the app's memory after 4-column sends.

    .venv/bin/python bench/first_visit.py [--sends 2]

The app starts as ``scripts/app`` starts it (``streamlit run server.py``), out of the box: no
config, no key, an empty data directory. A fresh Chromium (Playwright, 1400x900) opens /compare
as soon as the server answers, picks 4 columns, types a prompt and clicks Send. A
MutationObserver stamps, per column, when its "first token" caption and its final stats line
appear; the first token on screen is that stamp minus the click. After each send, the memory of
the server's process tree is read from /proc/<pid>/smaps_rollup: RSS (counting each shared page
in full, e.g. the weights file every engine maps) and private (Private_Clean + Private_Dirty).
One run, a few minutes of two cores; the load average is printed, since a busy machine is slower.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_OF_THE_BOX = {"PARLEY_CONFIG": "", "ANTHROPIC_API_KEY": "", "GEMINI_API_KEY": "",
                  "GOOGLE_API_KEY": "", "OPENAI_API_KEY": ""}
# Only the first send is timed: a column's last answer stays on screen while the next one starts.
STAMP = """() => {
  window.stamps = {};
  const look = () => {
    if (window.round === undefined) return;
    const now = performance.now();
    for (const column of document.querySelectorAll('[data-testid="stColumn"]')) {
      const text = column.innerText, letter = (text.match(/^([A-D]) · /) || [])[1];
      if (!letter) continue;
      const s = window.stamps[letter] = window.stamps[letter] || {};
      if (s.first === undefined && /first token \\d/.test(text)) s.first = now;
      if (s.last === undefined && / out tokens/.test(text)) s.last = now;
    }
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, private) in MB of ``pid`` and its children, from /proc/*/smaps_rollup."""
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                   text=True).stdout.split()]
    rss = private = 0
    for one in pids:
        for line in Path(f"/proc/{one}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == "Rss":
                rss += int(value.split()[0])
            elif name in ("Private_Clean", "Private_Dirty"):
                private += int(value.split()[0])
    return rss / 1024, private / 1024


def send(page, round_: int) -> dict[str, float]:
    """Send one prompt to the 4 columns; on the first send, return each column's first token on
    screen (ms after the click); later sends just wait for the 4 answers."""
    page.evaluate(f"() => {{ window.stamps = {{}}; window.round = {round_}; }}")
    page.get_by_label("Prompt", exact=True).fill(f"Name three colours of the rainbow ({round_}).")
    clicked = page.evaluate("() => performance.now()")
    page.get_by_role("button", name="Send").click()
    if round_ > 1:
        page.wait_for_timeout(2000)
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
                               " && document.body.innerText.split(' out tokens').length > 4",
                               timeout=300_000)
        return {}
    page.wait_for_function("() => Object.values(window.stamps).filter(s => s.last).length === 4",
                           timeout=300_000)
    stamps = page.evaluate("() => window.stamps")
    return {letter: stamps[letter]["first"] - clicked for letter in sorted(stamps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=2)
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds between /compare showing 4 columns and the first send "
                             "(a person reading and typing); 0 sends at once")
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    data = Path(tempfile.mkdtemp(prefix="parley-first-visit-"))
    env = {**os.environ, **OUT_OF_THE_BOX, "PARLEY_DATA_DIR": str(data / ".parley")}
    env.pop("PARLEY_DATABASE_URL", None)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores: {os.cpu_count()})")
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "server.py",
                               "--server.port", str(port), "--server.headless", "true"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started = time.monotonic()
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        print(f"server answering after {time.monotonic() - started:.1f} s")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                         args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.set_default_timeout(120_000)
            opened = time.monotonic()
            page.goto(f"{url}/compare")
            page.get_by_text("4 columns", exact=True).click()
            expect(page.get_by_text("D · ").first).to_be_visible()
            expect(page.get_by_label("Prompt", exact=True)).to_be_enabled()
            print(f"/compare with 4 columns usable {time.monotonic() - opened:.1f} s after opening it")
            page.evaluate(STAMP)
            time.sleep(args.think)
            rss, private = memory_mb(server.pid)
            print(f"memory before the first send: RSS {rss:.0f} MB, private {private:.0f} MB")
            for round_ in range(1, args.sends + 1):
                firsts = send(page, round_)
                shown = ", ".join(f"{k} {v / 1000:.2f} s" for k, v in firsts.items()) or "not timed"
                rss, private = memory_mb(server.pid)
                print(f"send {round_}: first token on screen after the click: {shown}; "
                      f"memory after: RSS {rss:.0f} MB, private {private:.0f} MB; "
                      f"load average {os.getloadavg()[0]:.1f}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
