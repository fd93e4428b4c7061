"""The HTTP API on the provider emulator, served three ways from the same routes:
in-process (Starlette's TestClient), a real ``python -m core serve`` process under uvicorn,
and inside Streamlit (``streamlit run server.py``: st.App with the API routes).

``gateway`` (parametrised over those) gives a ``Gateway``: its ``base_url``, an ``openai``
client for a key, a ``records()`` reader of what reached the store, and ``make_key``.
"""
from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from tests.emulated import KEYS, write_config

ROOT = Path(__file__).resolve().parents[3]
ENV_KEYS = {"ANTHROPIC_API_KEY": KEYS["claude"], "GEMINI_API_KEY": KEYS["gemini"],
            "OPENAI_API_KEY": KEYS["gpt"]}


@dataclass
class Gateway:
    base_url: str
    http: httpx.Client
    db_path: Path
    make_key: Callable[..., str]
    flush: Callable[[], None]

    def openai(self, secret: str):
        from openai import OpenAI

        return OpenAI(base_url=f"{self.base_url}/v1", api_key=secret, http_client=self.http,
                      max_retries=0)

    def records(self, expected: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The stored call rows, oldest first, once at least ``expected`` have arrived."""
        deadline = time.monotonic() + timeout
        while True:
            self.flush()
            rows = _rows(self.db_path)
            if len(rows) >= expected or time.monotonic() > deadline:
                return rows

    def headers(self, secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}


def _rows(db_path: Path) -> list[dict[str, Any]]:
    if not db_path.exists():
        return []
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM request_logs ORDER BY id")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


@pytest.fixture
def api_env(emulator, tmp_path, monkeypatch):
    """parley.yaml on the emulator, the provider keys in the environment, SQLite under tmp."""
    config = write_config(emulator, tmp_path / "parley.yaml",
                          router={"fallbacks": [{"claude": ["gemini"]}]},
                          parley={"default_model": "gemini", "privacy": "store",
                                  "routes": {"simple": "gemini", "moderate": "gemini",
                                             "complex": "claude", "search": "gemini"}})
    env = {**ENV_KEYS, "PARLEY_CONFIG": str(config), "PARLEY_DATA_DIR": str(tmp_path / ".parley")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _keyring(env):
    from core.keys import KeyRing
    from core.config import load_settings
    from core.store import open_store

    settings = load_settings(env["PARLEY_CONFIG"], env)
    return KeyRing(lambda: open_store(settings.database_url, data_dir=settings.data_dir, env=env))


def serve_in_process(env: dict[str, str]):
    """Yield a ``Gateway`` on the API routes in this process (Starlette's TestClient), on the
    service and keys ``env`` configures (already in the environment); close all after."""
    from starlette.testclient import TestClient

    from core.api import create_app
    from core.service import AIService

    service = AIService.from_env()
    keyring = _keyring(env)
    # one loop for every request, whose LiteLLM clients the app's shutdown closes
    with TestClient(create_app(service, keyring), base_url="http://testserver") as client:
        yield _gateway("http://testserver", client, env, keyring, service.recorder.flush)
    service.close()
    keyring.close()


@pytest.fixture
def in_process(api_env):
    yield from serve_in_process(api_env)


def _gateway(base_url, http, env, keyring, flush) -> Gateway:
    def make_key(user: str = "alice", **options) -> str:
        return keyring.create(user, created_by="test", **options)[0]

    return Gateway(base_url, http, Path(env["PARLEY_DATA_DIR"]) / "parley.db", make_key, flush)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(argv: list[str], env: dict[str, str], ready_url: str, log_path: Path,
                 timeout: float = 60.0) -> subprocess.Popen:
    """Start ``argv`` and wait until ``ready_url`` answers (any status)."""
    log = open(log_path, "wb")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text(errors='replace')[-3000:]}")
        try:
            httpx.get(ready_url, timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError(f"server did not start: {log_path.read_text(errors='replace')[-3000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def server_env(api_env: dict[str, str], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()}
    env.update(api_env)
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT), **extra})
    return env


@pytest.fixture
def served(api_env, tmp_path):
    """``python -m core serve`` in its own process."""
    port = free_port()
    proc = start_server([sys.executable, "-m", "core", "serve", "--port", str(port)],
                        server_env(api_env), f"http://127.0.0.1:{port}/api/openapi.json",
                        tmp_path / "serve.log")
    keyring = _keyring(api_env)
    http = httpx.Client(timeout=30)
    yield _gateway(f"http://127.0.0.1:{port}", http, api_env, keyring, lambda: None)
    http.close()
    stop_server(proc)
    keyring.close()


@pytest.fixture
def in_streamlit(api_env, tmp_path):
    """``streamlit run server.py``: the UI and the API routes on one port."""
    port = free_port()
    argv = [sys.executable, "-m", "streamlit", "run", "server.py", "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    proc = start_server(argv, server_env(api_env), f"http://127.0.0.1:{port}/api/openapi.json",
                        tmp_path / "streamlit.log", timeout=90)
    keyring = _keyring(api_env)
    http = httpx.Client(timeout=30)
    yield _gateway(f"http://127.0.0.1:{port}", http, api_env, keyring, lambda: None)
    http.close()
    stop_server(proc)
    keyring.close()


@pytest.fixture(params=["in_process", "served", "in_streamlit"])
def gateway(request) -> Gateway:
    return request.getfixturevalue(request.param)
