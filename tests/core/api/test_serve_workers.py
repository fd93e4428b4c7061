"""``serve --workers N``: each worker accepts on a socket of its own (core/api/workers.py), so
a burst of connections is spread over the workers instead of landing on whichever woke first;
a dead worker is replaced; a port in use or a worker that cannot start stops the server with
one message; SIGTERM stops every worker."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.core.api.conftest import _keyring, free_port, server_env, start_server, stop_server
from tests.core.api.test_worker_killed import worker_pids

CONNECTIONS = 50


def sockets_of(pid: int, port: int, state: str) -> set[str]:
    """The inodes of process ``pid``'s TCP sockets on ``port`` in ``state`` (``01``
    established, ``0A`` listening): its sockets, found in the machine's table."""
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:  # gone, or a zombie
        return set()
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == state and fields[9] in inodes:
            found.add(fields[9])
    return found


def wait_for_both(proc: subprocess.Popen, port: int, deadline: float) -> list[int]:
    """Until two workers listen (uvicorn listens once the app has started): their pids."""
    while time.monotonic() < deadline:
        pids = [pid for pid in worker_pids(proc.pid) if sockets_of(pid, port, "0A")]
        if len(pids) == 2:
            return pids
        time.sleep(0.2)
    raise AssertionError(f"two workers did not listen: {worker_pids(proc.pid)}")


@pytest.fixture
def two_workers(api_env, tmp_path):
    port = free_port()
    proc = start_server([sys.executable, "-m", "core", "serve", "--port", str(port), "--workers", "2"],
                        server_env(api_env), f"http://127.0.0.1:{port}/api/openapi.json",
                        tmp_path / "serve.log", timeout=90)
    wait_for_both(proc, port, time.monotonic() + 90)  # the second may start after the first
    yield proc, port
    stop_server(proc)


def test_a_burst_of_connections_is_spread_over_the_workers(two_workers):
    proc, port = two_workers
    # each listens on a socket of its own (uvicorn's workers share one: whichever wakes first
    # accepts all that wait, which a burst may or may not show)
    first, second = (sockets_of(pid, port, "0A") for pid in worker_pids(proc.pid))
    assert first and second and not first & second
    burst = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNECTIONS)]
    try:
        time.sleep(1)  # every connection accepted
        held = {pid: len(sockets_of(pid, port, "01")) for pid in worker_pids(proc.pid)}
        assert len(held) == 2 and sum(held.values()) == CONNECTIONS
        # by the kernel's hash of the addresses: 25 each on average; under 10 is odds of 1e-5
        assert min(held.values()) >= 10, held
    finally:
        for sock in burst:
            sock.close()


def test_a_killed_worker_is_replaced_and_the_port_keeps_answering(two_workers, api_env, emulator):
    proc, port = two_workers
    keyring = _keyring(api_env)
    secret, _ = keyring.create("lee", created_by="test")
    try:
        victim = worker_pids(proc.pid)[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while victim in worker_pids(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # reaped by the supervisor
        assert victim not in wait_for_both(proc, port, time.monotonic() + 90)
        for _ in range(6):  # new connections each, so both workers answer
            r = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=30,
                           headers={"Authorization": f"Bearer {secret}"},
                           json={"model": "gemini", "messages": [{"role": "user", "content": "hi"}]})
            assert r.status_code == 200, r.text
    finally:
        keyring.close()


def test_sigterm_stops_every_worker(two_workers):
    proc, _ = two_workers
    workers = worker_pids(proc.pid)
    assert len(workers) == 2
    proc.send_signal(signal.SIGTERM)  # the supervisor alone, as a process manager would
    assert proc.wait(timeout=30) == 0
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                and "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]]


def test_a_port_in_use_stops_the_server_at_once_with_one_message(api_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "core", "serve", "--port", str(port), "--workers", "2"],
                             env=server_env(api_env), capture_output=True, text=True, timeout=60)
    assert run.returncode == 3
    assert f"Cannot serve on 127.0.0.1:{port}: Address already in use" in run.stderr


def test_a_worker_that_cannot_start_stops_the_server(api_env, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("model_list: [this is not: a list of models\n")
    run = subprocess.run([sys.executable, "-m", "core", "serve", "--port", str(free_port()),
                          "--workers", "2"], env=server_env(api_env, PARLEY_CONFIG=str(broken)),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 3
    assert "A worker could not start" in run.stderr
