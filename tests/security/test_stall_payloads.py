"""Finding 7: one user's hostile payload must not stall the others. A real ``python -m core
serve`` on the provider emulator; two bystanders keep sending small requests while an attacker
sends each payload of findings 1-4. Printed: the bystanders' worst latency per payload (no
timing assertion: the machine is shared). Asserted: the attacker got a clear refusal (4xx, or
for the catastrophic pattern an answer marked invalid) and every bystander request was answered.
Then SIGTERM in the middle of an attack: the server must exit (printed: how long it took)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest

from tests.core.api.conftest import (
    _keyring,
    free_port,
    server_env,
    start_server,
    stop_server,
)
from tests.emulated import PROVIDER_MODELS
from tests.fakes.script import Reply
from tests.security.conftest import Recorder

CATASTROPHIC = "a" * 30 + "!"
TEMPLATES = {
    "loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "slow_loops": "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
    "huge": "{{ 'a' * 200000000 }}",
}


def _chat(model: str, **extra) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "Answer please"}], **extra}


def _schema(schema: dict) -> dict:
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}


def _nested(depth: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "array", "items": schema}
    return schema


def payloads(slow_ref_url: str) -> dict[str, tuple[str, dict]]:
    """name -> (path, body) of each hostile request."""
    tools = [{"type": "function", "function": {"name": f"tool_{t}", "parameters": {
        "type": "object", "properties": {f"p{p}": {"type": "string", "description": "x" * 40}
                                         for p in range(600)}}}} for t in range(70)]
    return {
        "catastrophic pattern": ("/v1/chat/completions", _chat("gpt", response_format=_schema(
            {"type": "string", "pattern": "^(a+)+$"}))),
        "slow $ref URL": ("/v1/chat/completions", _chat("gpt", response_format=_schema(
            {"type": "object", "properties": {"n": {"$ref": slow_ref_url}}}))),
        "nested range(100000) template": ("/api/v1/ai/chat", {"template": "loops", "model": "gemini"}),
        "nested range(10000) template": ("/api/v1/ai/chat", {"template": "slow_loops", "model": "gemini"}),
        "'a'*200000000 template": ("/api/v1/ai/chat", {"template": "huge", "model": "gemini"}),
        "70 tools x 600 properties": ("/v1/chat/completions", _chat("gpt", tools=tools)),
        "schema 300 deep": ("/v1/chat/completions", _chat("gpt", response_format=_schema(_nested(300)))),
    }


@dataclass
class Bystanders:
    """Threads sending small requests in a loop; ``latencies`` is (start, seconds, status)."""

    base_url: str
    key: str
    latencies: list[tuple[float, float, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self, count: int = 2) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._loop, args=(m,), daemon=True)
                   for m in ("claude", "gemini")[:count]]
        for thread in threads:
            thread.start()
        return threads

    def _loop(self, model: str) -> None:
        with httpx.Client(base_url=self.base_url, timeout=120,
                          headers={"Authorization": f"Bearer {self.key}"}) as http:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    status = http.post("/api/v1/ai/chat", json={"prompt": "hello", "model": model}).status_code
                except httpx.HTTPError:
                    status = 0
                self.latencies.append((started, time.monotonic() - started, status))
                time.sleep(0.05)

    def worst_between(self, start: float, end: float) -> float:
        overlapping = [s for t, s, _ in list(self.latencies) if t <= end and t + s >= start]
        return max(overlapping, default=0.0)


@pytest.fixture
def slow_ref():
    server = Recorder(delay=20.0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def attacked(api_env, emulator, tmp_path):
    """``python -m core serve`` with the attack's templates stored and gpt scripted to answer
    30 a's and a '!'; yields (base_url, proc, key of mallory, key of the bystanders)."""
    from core.config import load_settings
    from core.store import open_store

    settings = load_settings(api_env["PARLEY_CONFIG"], api_env)
    store = open_store(settings.database_url, data_dir=settings.data_dir, env=api_env)
    for name, text in TEMPLATES.items():
        store.evals().save_template({"name": name, "template": text, "system": None,
                                     "service_type": None, "variables": [], "settings": {},
                                     "created_by": "mallory"})
    store.close()
    emulator.set_default(PROVIDER_MODELS["gpt"], Reply(text=json.dumps(CATASTROPHIC)))
    port = free_port()
    proc = start_server([sys.executable, "-m", "core", "serve", "--port", str(port)],
                        server_env(api_env), f"http://127.0.0.1:{port}/api/openapi.json",
                        tmp_path / "serve.log")
    keyring = _keyring(api_env)
    keys = (keyring.create("mallory", created_by="test")[0], keyring.create("bob", created_by="test")[0])
    yield f"http://127.0.0.1:{port}", proc, *keys
    stop_server(proc)
    keyring.close()


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)


def _refused(name: str, response: httpx.Response) -> bool:
    if name == "catastrophic pattern":
        parley = response.json().get("parley", {}) if response.status_code == 200 else {}
        return parley.get("json_valid") is False and "does not match" in json.dumps(parley)
    return 400 <= response.status_code < 500 and "error" in response.json()


def test_hostile_payloads_do_not_stall_other_users(attacked, slow_ref):
    base_url, _proc, mallory, bob = attacked
    bystanders = Bystanders(base_url, bob)
    threads = bystanders.start()
    with httpx.Client(base_url=base_url, timeout=120, headers={"Authorization": f"Bearer {mallory}"}) as http:
        http.post("/v1/chat/completions", json=_chat("gpt"))  # warm: LiteLLM loads each provider's modules once
        _wait_for(lambda: len(bystanders.latencies) >= 6)
        calm = time.monotonic()
        time.sleep(2.0)
        baseline = bystanders.worst_between(calm, time.monotonic())
        report, answers = [f"bystanders' worst latency with no attack: {baseline * 1000:.0f} ms"], {}
        for name, (path, body) in payloads(f"{slow_ref.url}/slow.json").items():
            started = time.monotonic()
            response = http.post(path, json=body)
            took = time.monotonic() - started
            time.sleep(0.3)
            worst = bystanders.worst_between(started, time.monotonic())
            answers[name] = response
            message = (response.json().get("error") or {}).get("message") or response.json().get("parley", {}).get("json_errors")
            report.append(f"{name}: attacker got {response.status_code} in {took:.2f} s "
                          f"({str(message)[:110]}); bystanders' worst latency {worst * 1000:.0f} ms")
    bystanders.stop.set()
    for thread in threads:
        thread.join(timeout=130)
    print("\n" + "\n".join(report))
    assert slow_ref.hits == []
    for name, response in answers.items():
        assert _refused(name, response), (name, response.status_code, response.text[:300])
    statuses = [status for _, _, status in bystanders.latencies]
    assert statuses and set(statuses) == {200}, statuses


def test_sigterm_in_the_middle_of_an_attack_stops_the_server(attacked, slow_ref):
    base_url, proc, mallory, bob = attacked
    bystanders = Bystanders(base_url, bob)
    threads = bystanders.start()
    attacks = payloads(f"{slow_ref.url}/slow.json")
    stop = threading.Event()

    def attack() -> None:
        with httpx.Client(base_url=base_url, timeout=60, headers={"Authorization": f"Bearer {mallory}"}) as http:
            while not stop.is_set():
                for path, body in (attacks["nested range(10000) template"], attacks["catastrophic pattern"]):
                    try:
                        http.post(path, json=body)
                    except httpx.HTTPError:
                        return

    attacker = threading.Thread(target=attack, daemon=True)
    attacker.start()
    time.sleep(3.0)
    sent = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    took = time.monotonic() - sent
    stop.set()
    bystanders.stop.set()
    print(f"\nSIGTERM during an attack: the server {'exited' if proc.poll() is not None else 'was still running'} "
          f"after {took:.2f} s (exit code {proc.poll()})")
    assert proc.poll() is not None, "the server ignored SIGTERM for 30 s"
    attacker.join(timeout=60)
    for thread in threads:
        thread.join(timeout=60)
