"""A worker killed with SIGKILL during 100 concurrent streams: every call that was answered
(its stream reached ``[DONE]``) is in the store exactly once, shipped by the surviving or
restarted worker from the dead one's spool."""
from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.core.api.conftest import _keyring, free_port, server_env, start_server, stop_server
from tests.fakes import Reply

STREAMS = 100


def worker_pids(supervisor: int) -> list[int]:
    """uvicorn's worker processes under the ``serve`` process."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if int(stat[1]) == supervisor and "spawn_main" in cmdline:
            pids.append(int(entry.name))
    return pids


async def one_stream(client: httpx.AsyncClient, url: str, secret: str, delay: float,
                     done_ids: list) -> str | None:
    """The call id of a stream that reached [DONE] (also appended to ``done_ids``), else None.
    Streams start ``delay`` seconds in, so they end at different times."""
    await asyncio.sleep(delay)
    try:
        async with client.stream("POST", url, headers={"Authorization": f"Bearer {secret}"},
                                 json={"model": "gemini", "stream": True,
                                       "messages": [{"role": "user", "content": "tell me"}]}) as r:
            if r.status_code != 200:
                return None
            done = False
            async for line in r.aiter_lines():
                done = done or line == "data: [DONE]"
            if done:
                done_ids.append(r.headers["x-parley-call-id"])
            return r.headers["x-parley-call-id"] if done else None
    except httpx.HTTPError:
        return None


def test_every_answered_call_is_recorded_once_when_a_worker_is_killed(api_env, tmp_path, emulator):
    emulator.set_default("gemini-2.5-flash", Reply(" ".join(["word"] * 30), tokens_per_second=30))
    port = free_port()
    proc = start_server([sys.executable, "-m", "core", "serve", "--port", str(port), "--workers", "2"],
                        server_env(api_env), f"http://127.0.0.1:{port}/api/openapi.json",
                        tmp_path / "serve.log", timeout=90)
    keyring = _keyring(api_env)
    secret, _ = keyring.create("lee", created_by="test")
    url = f"http://127.0.0.1:{port}/v1/chat/completions"

    async def run() -> list[str | None]:
        limits = httpx.Limits(max_connections=STREAMS)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            return await asyncio.gather(*(one_stream(client, url, secret, i * 0.02, done_ids)
                                          for i in range(STREAMS)))

    killed, done_ids = [], []

    def kill_one():
        deadline = time.monotonic() + 60
        while len(done_ids) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)  # some streams answered, the rest under way on both workers
        victim = worker_pids(proc.pid)[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    try:
        killer = threading.Thread(target=kill_one)
        killer.start()
        answered = [c for c in asyncio.run(run()) if c]
        killer.join()
        assert killed and 0 < len(answered) < STREAMS  # some streams died with the worker
        db = Path(api_env["PARLEY_DATA_DIR"]) / "parley.db"
        deadline = time.monotonic() + 60
        while True:
            conn = sqlite3.connect(db)
            stored = [row[0] for row in conn.execute("SELECT litellm_call_id FROM request_logs")]
            conn.close()
            if set(answered) <= set(stored) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert set(answered) <= set(stored)
        assert len(stored) == len(set(stored))
    finally:
        stop_server(proc)
        keyring.close()
