"""Finding 6: a client dripping its headers or its body held a connection for over 100 s.
Now ``python -m core serve`` answers 408 and closes when the headers have not arrived within
``HEADER_SECONDS`` or the body within ``BODY_SECONDS``. Printed: how long each was held."""
from __future__ import annotations

import socket
import time

from core.api.app import BODY_SECONDS
from core.api.slow_clients import HEADER_SECONDS

GIVE_UP = 45.0


def _drip(host: str, port: int, head: bytes, drip: bytes) -> tuple[float, bytes]:
    """Send ``head``, then ``drip`` one byte a second until the server answers or closes (or
    ``GIVE_UP`` s pass); how long that took and what it answered."""
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=1.0) as conn:
        conn.sendall(head)
        answered = b""
        for byte in drip * 100:
            if time.monotonic() - started > GIVE_UP:
                break
            try:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                answered += chunk
                if b"\r\n\r\n" in answered:
                    break
            except TimeoutError:
                pass
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                break
    return time.monotonic() - started, answered


def test_dripped_headers_are_cut_off(served):
    host, port = served.base_url.removeprefix("http://").split(":")
    took, answered = _drip(host, int(port), b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n",
                           b"X-Slow: a")
    print(f"\nheaders dripped: the server cut the connection after {took:.1f} s "
          f"(limit {HEADER_SECONDS:g} s): {answered[:40]!r}")
    assert took < GIVE_UP
    assert answered.startswith(b"HTTP/1.1 408") or answered == b""


def test_a_dripped_body_is_cut_off(served):
    host, port = served.base_url.removeprefix("http://").split(":")
    key = served.make_key("mallory")
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n").encode()
    took, answered = _drip(host, int(port), head, b"{")
    print(f"\nbody dripped: the server answered after {took:.1f} s (limit {BODY_SECONDS:g} s): "
          f"{answered.splitlines()[:1]!r}")
    assert took < GIVE_UP
    assert answered.startswith(b"HTTP/1.1 408")
