"""Browser tests: Debian's Chromium driven by Playwright against ``streamlit run app.py``.

``parley_app(...)`` starts the real app (a subprocess, a free port) on a ``parley.yaml`` whose
models live on the provider emulator, with its own data directory and SQLite file, and returns an
``AppHandle``; ``page`` is a fresh Playwright page. scripts/test installs Chromium; a machine
without it fails these tests rather than skipping them.
Waiting helpers (``open_app``, ``settle``) are in tests/browser/streamlit_page.py.

The server's terminal (stdout and stderr, in ``AppHandle.log_path``) must stay free of stack
traces: a test whose app printed a traceback, or a warning with its stack, fails at teardown
with that trace, whatever the browser showed. ``identity_provider`` is a local OpenID Connect
provider for team mode's real login (tests/fakes/oidc.py; tests/browser/team.py signs in).
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.emulated import KEYS, write_config

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
STARTUP_SECONDS = 90
STACK_MARKERS = re.compile(r"^(Traceback|Stack) \(most recent call last\):")


@dataclass
class AppHandle:
    """A running Parley app: where it is, and the environment it runs with (for the CLI or an
    ``AIService.from_env(handle.env)`` sharing its database)."""

    url: str
    data_dir: Path
    database_url: str
    config_path: Path
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stack_traces(self) -> list[str]:
        """Every traceback (``Traceback (most recent call last)``) and every logged stack
        (``Stack (most recent call last)``, e.g. Streamlit's widget warnings) the server
        printed, each with the log line before it and the lines of the trace."""
        lines = self.log().splitlines()
        traces = []
        for at, line in enumerate(lines):
            if STACK_MARKERS.search(line):
                end = at + 1
                while end < len(lines) and (lines[end].startswith((" ", "\t")) or end == at + 1):
                    end += 1
                if end < len(lines):
                    end += 1  # the exception's own line ends a traceback
                traces.append("\n".join(lines[max(at - 1, 0):end]))
        return traces


@pytest.fixture(scope="module")
def chromium():
    """One browser per test module: Playwright's sync API keeps an event loop running in this
    thread while it is open, which would break the async tests that run after the module."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium package.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(handle: AppHandle) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if handle.process.poll() is not None:
            pytest.fail(f"streamlit exited with {handle.process.returncode}:\n{handle.log()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{handle.url}/_stcore/health", timeout=2) as reply:
                if reply.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"streamlit did not answer within {STARTUP_SECONDS} s:\n{handle.log()[-3000:]}")


@pytest.fixture
def parley_app(emulator, tmp_path):
    """Factory: ``parley_app(models=("claude", "gemini"), router=None, parley=None, env=None,
    script="app.py")``; ``script="server.py"`` serves the HTTP API on the same port."""
    started: list[AppHandle] = []

    def start(*, models: tuple[str, ...] = ("claude", "gemini"), router: dict | None = None,
              parley: dict | None = None, env: dict[str, str] | None = None,
              extra_models: list[dict] | None = None, script: str = "app.py") -> AppHandle:
        root = tmp_path / f"app{len(started)}"
        root.mkdir()
        config = write_config(emulator, root / "parley.yaml", models=models, router=router,
                              parley=parley, extra=extra_models)
        data_dir = root / ".parley"
        database_url = f"sqlite:///{data_dir / 'parley.db'}"
        environment = {**os.environ, "ANTHROPIC_API_KEY": KEYS["claude"],
                       "GEMINI_API_KEY": KEYS["gemini"], "OPENAI_API_KEY": KEYS["gpt"],
                       "PARLEY_CONFIG": str(config), "PARLEY_DATA_DIR": str(data_dir),
                       "PARLEY_DATABASE_URL": database_url, "PARLEY_USER": "tester@example.com",
                       **(env or {})}
        port = _free_port()
        log_path = root / "streamlit.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / script),
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=REPO, env=environment, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
        handle = AppHandle(f"http://127.0.0.1:{port}", data_dir, database_url, config,
                           environment, log_path, process)
        started.append(handle)
        _wait_healthy(handle)
        return handle

    yield start
    for handle in started:
        handle.process.terminate()
        try:
            handle.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            handle.process.kill()
    traces = [trace for handle in started for trace in handle.stack_traces()]
    if traces:
        where = "; ".join(dict.fromkeys(_parley_frames(trace) for trace in traces))
        pytest.fail(f"the Streamlit server printed {len(traces)} stack trace(s) on its terminal, "
                    f"from {where} (log: {started[0].log_path}):\n\n"
                    + "\n\n".join(traces)[:6000], pytrace=False)


def _parley_frames(trace: str) -> str:
    """The frames of ``trace`` in Parley's own code, innermost last (``app_pages/evals.py:42 >
    ui/components/eval_setup.py:23``): the code that has to change."""
    frames = re.findall(r'File "' + re.escape(str(REPO)) + r'/([^"]+)", line (\d+)', trace)
    return " > ".join(f"{path}:{line}" for path, line in frames
                      if not path.startswith((".venv/", "tests/"))) or "outside Parley's code"


@pytest.fixture(scope="module")
def identity_provider():
    """A local OpenID Connect provider (tests/fakes/oidc.py) for team mode's real login."""
    from tests.fakes.oidc import IdentityProvider

    with IdentityProvider() as idp:
        yield idp
