"""Local mode is for the machine it runs on: the app started as scripts/app starts it listens
on loopback only, and a browser on another address gets a refusal page and nothing else."""
from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.paths import REPO

ALL_PAGES = ("Compare", "Chat", "Preferences", "Your usage", "Providers", "Cost console")


@pytest.fixture
def client_address(monkeypatch):
    """Set the address Streamlit reports for the browser (``st.context.ip_address``): None is
    loopback, as Streamlit reports it."""
    from ui.deps import parts

    parts.clear()

    def use(address: str | None) -> None:
        monkeypatch.setattr(type(st.context), "ip_address", property(lambda self: address))
    yield use
    parts.clear()


def run_app(auth: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    if auth:
        at.secrets["auth"] = auth
    return at.run()


@pytest.mark.parametrize("address", ["203.0.113.7", "192.168.1.20", "10.0.0.5", "2001:db8::1",
                                     "fe80::1%eth0", "::ffff:192.168.1.20", "not-an-address"])
def test_local_mode_refuses_a_browser_that_is_not_on_this_machine(client_address, address):
    client_address(address)
    at = run_app()
    assert [t.value for t in at.title] == ["Parley is in local mode"]
    assert "answers only browsers on the machine it runs on" in at.error[0].value
    assert "team mode" in at.error[0].value
    assert not at.sidebar.caption, "the identity line (and so the admin role) was shown"
    assert not at.text_area and not at.button and not at.dataframe


@pytest.mark.parametrize("address", [None, "127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"])
def test_local_mode_serves_a_browser_on_this_machine(client_address, address):
    client_address(address)
    at = run_app()
    assert [t.value for t in at.title] == ["Compare"]
    assert "Local mode" in at.sidebar.caption[0].value


def test_team_mode_serves_remote_browsers_through_its_sign_in(client_address):
    client_address("203.0.113.7")
    at = run_app(auth={"client_id": "x", "client_secret": "y", "cookie_secret": "z",
                       "redirect_uri": "http://localhost:8501/oauth2callback",
                       "server_metadata_url": "https://id.example.com/.well-known/openid-configuration"})
    assert [t.value for t in at.title] == ["Parley"]
    assert at.button[0].label == "Log in"


# -- the listening socket of the app started as scripts/app starts it --------------------

def scripts_app_command() -> list[str]:
    """The command scripts/app runs once set up (its ``exec`` line)."""
    line = next(text for text in (REPO / "scripts/app").read_text().splitlines() if text.startswith("exec "))
    return [arg for arg in shlex.split(line)[1:] if arg != "$@"]


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket ``pid`` listens on, from /proc (no traffic sent)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                found.add((_address(local.split(":")[0], family), int(local.split(":")[1], 16)))
    return found


def _address(hex_ip: str, family: int) -> str:
    raw = bytes.fromhex(hex_ip)
    # /proc prints each 32-bit word in host (little-endian) order
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, raw)


def test_scripts_app_listens_on_loopback_only(tmp_path):
    command = scripts_app_command()
    assert command[:5] == [".venv/bin/python", "-m", "streamlit", "run", "server.py"]
    assert not any(arg.startswith("--server.address") for arg in command)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PARLEY_DATA_DIR": str(tmp_path / ".parley")}
    env.pop("STREAMLIT_SERVER_ADDRESS", None)
    process = subprocess.Popen([sys.executable, *command[1:], "--server.port", str(port),
                                "--server.headless", "true"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, bound = time.monotonic() + 60, set()
        while time.monotonic() < deadline and not any(p == port for _, p in bound):
            assert process.poll() is None, "streamlit exited"
            time.sleep(0.3)
            bound = listening_addresses(process.pid)
        print(f"scripts/app listens on {sorted(bound)}")
        assert any(p == port for _, p in bound), "the app never listened"
        assert {address for address, _ in bound} <= {"127.0.0.1", "::1"}
    finally:
        process.terminate()
        process.wait(timeout=20)
