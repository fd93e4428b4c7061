"""Helpers for the security tests: work run in a child process with a time limit (a finding
that freezes the interpreter then fails instead of hanging the suite), a local HTTP server
that records what it was asked (was anything fetched?), the API fixtures, and the tenancy
fixtures: a workbench on the emulator whose store knows one admin (root), and Postgres
databases prepared as Supabase has them (``tests/core/store/conftest.py``)."""
from __future__ import annotations

import http.server
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from core.identity import sync_admins
from tests.core.api.conftest import api_env, in_process, served  # noqa: F401 - fixtures
from tests.core.evals.conftest import evals_service
from tests.core.store.conftest import create_database, fresh_pg_url, pg_url  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[2]


def run_isolated(code: str, timeout: float = 20.0) -> str:
    """Run ``code`` in a fresh interpreter; its stdout. Fails the test if it takes more than
    ``timeout`` seconds (the finding froze it) or exits non-zero."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    try:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout:g} s: the work is not bounded")
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


class Recorder(http.server.ThreadingHTTPServer):
    """Answers every GET with a JSON schema carrying ``LEAKED`` (after ``delay`` seconds) and
    keeps the paths asked for in ``hits``."""

    daemon_threads = True
    LEAKED = "LEAKED-FROM-THE-SERVER-SIDE"

    def __init__(self, delay: float = 0.0):
        self.hits: list[str] = []
        self.delay = delay
        super().__init__(("127.0.0.1", 0), _RecorderHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _RecorderHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append(self.path)
        time.sleep(self.server.delay)
        body = ('{"type": "integer", "description": "%s"}' % Recorder.LEAKED).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    server = Recorder()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


ALICE, BOB, ROOT = "alice@example.com", "bob@example.com", "root@example.com"
ROWS = b"question,expected\nsay a,Echo: say a\nsay b,Echo: say b\n"


def make_bench(emulator, tmp_path, database_url=None, **parley):
    """A ``Workbench`` whose store lists ROOT as its one admin."""
    from core.evals.workbench import Workbench

    svc = evals_service(emulator, tmp_path, database_url, admins=[ROOT], **parley)
    sync_admins(svc.settings, svc.store)
    return Workbench(svc)


def alices_run(bench) -> str:
    """Alice's template ``qa``, dataset ``qs`` and a finished run on them; its id."""
    bench.save_template("qa", "{{ question }}", user=ALICE, service_type="xray")
    data = bench.upload_dataset(ROWS, "qs.csv", user=ALICE)
    run_id = bench.runner.start(bench.runner.plan("qa", data, ["claude", "gemini"], user_id=ALICE))
    bench.runner.execute_sync(run_id)
    return run_id


@pytest.fixture
def bench(emulator, tmp_path):
    made = make_bench(emulator, tmp_path)
    yield made
    made.service.close()
