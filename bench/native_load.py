"""Load and an upstream that cost the machine almost nothing, for bench/api.py's two-worker
measure: ``wrk`` (C) sends the requests, and ``nginx`` answers each with a recorded copy of
the emulator's own answer.

On a 2-core machine, the Python client and emulator of the other measures take about a
third of a core at one worker's full load: a second worker would find little of the second
core left, and the figure would say more of the bench than of Parley. Here they take a few
hundredths of a core (wrk's and nginx's CPU time is printed beside the servers').

Needs ``wrk`` and ``nginx`` (Debian: ``apt-get install -y wrk nginx-light``); ``ensure()``
installs them when it can (as root, with apt-get) and says what is missing otherwise.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

__all__ = ["ensure", "StaticUpstream", "wrk"]


def ensure() -> str | None:
    """None when wrk and nginx are here (installed now if need be), else why not."""
    missing = [tool for tool in ("wrk", "nginx") if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists()]
    if missing and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk", "nginx-light"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        missing = [tool for tool in missing if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists()]
    return f"{', '.join(missing)} not found (apt-get install -y wrk nginx-light)" if missing else None


def _nginx_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


class StaticUpstream:
    """nginx on a free port answering ``/plain/<route>`` and ``/stream/<route>`` with the
    answers ``emulator`` gave to ``plain_body`` and ``stream_body`` (recorded once, byte for
    byte). A deployment's ``api_base`` is ``{url}/plain`` or ``{url}/stream``."""

    def __init__(self, emulator: str, route: str, headers: dict[str, str], plain_body: dict,
                 stream_body: dict, port: int):
        self.dir = Path(tempfile.mkdtemp(prefix="parley-nginx-"))
        self.url = f"http://127.0.0.1:{port}"
        plain = httpx.post(f"{emulator}{route}", json=plain_body, headers=headers, timeout=30)
        stream = httpx.post(f"{emulator}{route}", json=stream_body, headers=headers, timeout=30)
        for answer in (plain, stream):
            answer.raise_for_status()
        (self.dir / "nginx.conf").write_text(f"""
daemon off; worker_processes 1; pid {self.dir}/nginx.pid; error_log {self.dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off; client_body_temp_path {self.dir}/body; keepalive_requests 10000000;
  server {{
    listen 127.0.0.1:{port};
    location = /plain{route} {{ default_type {plain.headers['content-type'].split(';')[0]};
                               return 200 {_nginx_string(plain.text)}; }}
    location = /stream{route} {{ default_type text/event-stream; return 200 {_nginx_string(stream.text)}; }}
  }}
}}""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.post(f"{self.url}/plain{route}", content=b"{}", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"nginx did not start: {(self.dir / 'error.log').read_text(errors='replace')[-1000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def wrk(url: str, body: dict, headers: dict[str, str], seconds: int, connections: int) -> float:
    """Requests/s wrk got from ``url`` with ``connections`` open, each request ``body``; every
    answer must be a 200 and every connection must hold."""
    script = Path(tempfile.mktemp(suffix=".lua", prefix="parley-wrk-"))
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body))}",
             'wrk.headers["Content-Type"] = "application/json"']
    lines += [f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}" for name, value in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
                             capture_output=True, text=True, check=True).stdout
    finally:
        script.unlink(missing_ok=True)
    for failure in ("Non-2xx or 3xx responses", "Socket errors"):
        if failure in out:
            raise SystemExit(f"wrk against {url}: {out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
