"""What ``core`` promises: an explicit public API, every error its methods raise exported,
imports that change nothing global, settings that connect to nothing while they load."""
from __future__ import annotations

import inspect
import json
import socket
import subprocess
import sys
import threading

import pytest

import core
from core import errors
from core.config import load_settings
from core.service import AIService
from tests.paths import REPO


def test_all_is_explicit_and_importable():
    assert set(core.__all__) == {
        "AIService", "Call", "Plan", "GenerationResult", "CallRecord", "Delta", "ColumnConfig", "Catalog", "ModelEntry",
        "Settings", "load_settings", "ParleyError", "ConfigError", "BadRequestError",
        "UnknownModelError", "ContextTooLongError", "ProviderError", "AuthError", "RateLimitError",
        "QuotaError", "ProviderTimeoutError", "ProviderDownError", "ProviderBadResponse",
        "AllModelsFailedError", "BudgetExceededError", "UserRateLimitError", "StoreUnavailableError",
        "NotAllowedError"}
    for name in core.__all__:
        assert getattr(core, name) is not None


def test_every_raised_error_is_exported():
    """Every ParleyError a public method can raise is importable from core (only the
    abandoned-stream marker is recorded, never raised)."""
    raised = {name for name in errors.__all__
              if inspect.isclass(getattr(errors, name))
              and issubclass(getattr(errors, name), errors.ParleyError)}
    assert raised - set(core.__all__) == {"StreamAbandonedError"}


def test_importing_every_module_changes_nothing_global():
    """No environment variable set, litellm, streamlit and pandas not loaded, by importing
    every module of core (a subprocess, so this test's own imports do not count)."""
    script = """
import json, os, pkgutil, importlib, sys
before = dict(os.environ)
import core
for info in pkgutil.walk_packages(core.__path__, "core."):
    if info.name != "core.__main__":
        importlib.import_module(info.name)
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(json.dumps({"changed": changed, "loaded": sorted(
    m for m in ("litellm", "streamlit", "llama_cpp", "psycopg", "supabase") if m in sys.modules)}))
"""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"changed": [], "loaded": []}


def test_stream_rejects_unknown_arguments_as_generate_does():
    svc = AIService(load_settings(env={}))
    with pytest.raises(TypeError, match="temprature"):
        svc.stream("hi", temprature=0.2)
    with pytest.raises(TypeError, match="temprature"):
        svc.generate("hi", temprature=0.2)
    generate = inspect.signature(AIService.generate).parameters
    stream = inspect.signature(AIService.stream).parameters
    assert list(generate) == list(stream)


class _CountingServer:
    """A TCP listener that counts the connections made to it (an Ollama that never answers)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


def test_loading_settings_connects_to_nothing(tmp_path):
    server = _CountingServer()
    try:
        env = {"OLLAMA_BASE_URL": server.url}
        settings = load_settings(env=env)
        config = tmp_path / "parley.yaml"
        config.write_text(f"parley:\n  endpoints: {{ollama: {server.url}}}\n")
        from_file = load_settings(config, env={})
        assert server.connections == 0
        assert any(m.name == "ollama" and not m.key_present for m in settings.models)
        assert server.connections == 1  # asked when the model list was first read, once
        assert [m.name for m in from_file.models] == ["ollama"]
        assert server.connections == 2
    finally:
        server.close()
