"""Recognisable fake keys driven through every way a call can fail, then looked for
everywhere a user or an operator could see them: CLI output and errors (with --debug
tracebacks too), Parley's log lines, the SQLite database file, the spool directory and the
exports. Finding one anywhere is a leak.

Real providers and proxies sometimes echo the key they were sent in an error; the emulator
does not, so ``EchoingProvider`` below (OpenAI's protocol) does it on purpose, for every
fault, with a key no generic pattern recognises: only Parley's own masking stands between it
and the user."""
from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.cli import main
from tests.emulated import KEYS, PROVIDER_MODELS, write_config
from tests.fakes import Fault

ECHO_KEY = "parley-test-SECRET-eeee5555"
DB_PASSWORD = "pw-SECRET-dddd4444"
SECRETS = (*KEYS.values(), ECHO_KEY, DB_PASSWORD, "SECRET-aaaa1111", "SECRET-bbbb2222",
           "SECRET-cccc3333", "SECRET-eeee5555")
FAULTS = {"auth": (401, "invalid_request_error"), "ratelimit": (429, "rate_limit_error"),
          "server": (500, "server_error"), "bad": (400, "invalid_request_error"),
          "hang": (None, None)}


class _Echo(BaseHTTPRequestHandler):
    """Fails as the model's name says, quoting the Authorization header it received."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        kind = body["model"]
        sent = self.headers.get("Authorization", "")
        if kind == "hang":
            time.sleep(3)
            return
        message = f"Request with header {sent!r} failed ({kind}); the key {sent[7:]} is wrong."
        status, error_type = FAULTS[kind]
        payload = json.dumps({"error": {"message": message, "type": error_type,
                                        "code": kind}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture(scope="module")
def echoing_provider():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def leaky(emulator, echoing_provider, tmp_path, monkeypatch, caplog):
    """Config on the emulator with the fake keys as os.environ/ references, plus one model per
    fault on the echoing provider (``echo-auth``, ...), a limit of three calls per user per
    minute, claude and echo-auth falling back to gemini, short timeouts."""
    for name, var in (("claude", "ANTHROPIC_API_KEY"), ("gemini", "GEMINI_API_KEY"),
                      ("gpt", "OPENAI_API_KEY")):
        monkeypatch.setenv(var, KEYS[name])
    monkeypatch.setenv("ECHO_KEY", ECHO_KEY)
    echo = [{"model_name": f"echo-{kind}",
             "litellm_params": {"model": f"openai/{kind}", "api_key": "os.environ/ECHO_KEY",
                                "api_base": echoing_provider}} for kind in FAULTS]
    config = write_config(emulator, tmp_path / "parley.yaml", extra=echo,
                          router={"num_retries": 0, "timeout": 2,
                                  "fallbacks": [{"claude": ["gemini"]}, {"echo-auth": ["gemini"]}]},
                          parley={"rate_limit_per_minute": 3, "privacy": "store"})
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    caplog.set_level(logging.DEBUG, logger="parley")
    return tmp_path


def cli(capsys, *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return f"[exit {code}]\n{out}\n{err}"


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def assert_nowhere(texts: dict[str, str | bytes]) -> None:
    found = [(where, secret) for where, text in texts.items() for secret in SECRETS
             if (secret.encode() if isinstance(text, bytes) else secret) in text]
    assert not found, f"secrets found: {found}"


def test_no_failure_path_leaks_a_key(leaky, emulator, capsys, caplog):
    claude, gemini, gpt = (PROVIDER_MODELS[n] for n in ("claude", "gemini", "gpt"))
    outputs: dict[str, str] = {}

    def drive(path: str, model: str, fault: Fault, *argv: str) -> None:
        emulator.enqueue(model, fault)
        outputs[path] = cli(capsys, *argv)

    drive("auth (gemini: key in the URL)", gemini, Fault("401"), "ask", "hi", "--model", "gemini",
          "--json")
    drive("auth, --debug", gpt, Fault("401"), "--debug", "ask", "hi", "--model", "gpt", "--json")
    drive("provider rate limit", gpt, Fault("429", retry_after=0), "ask", "hi", "--model", "gpt")
    drive("5xx", gemini, Fault("500"), "ask", "hi", "--model", "gemini", "--json")
    drive("timeout", gpt, Fault("hang", max_hang=4), "ask", "hi", "--model", "gpt", "--json")
    drive("bad request", gpt, Fault("context_length"), "ask", "hi", "--model", "gpt")
    drive("malformed", gemini, Fault("malformed"), "--debug", "ask", "hi", "--model", "gemini")
    drive("fallback", claude, Fault("503"), "ask", "hi", "--model", "claude", "--json")
    drive("stream cut", gpt, Fault("cut", after_pieces=2), "ask", "tell me more", "--model", "gpt")
    for kind in FAULTS:
        outputs[f"echo {kind}"] = cli(capsys, "ask", "hi", "--model", f"echo-{kind}", "--json")
        outputs[f"echo {kind} streamed"] = cli(capsys, "--debug", "ask", "hi", "--model",
                                               f"echo-{kind}")
    outputs["user rate limit"] = cli(capsys, "compare", "hi", "--models", "claude,gemini,gpt,gemini",
                                     "--json")
    outputs["flush"] = cli(capsys, "db", "flush")
    exits = {path: outputs[path].split("]")[0] + "]" for path in outputs}
    assert exits == {**dict.fromkeys(outputs, "[exit 1]"), "bad request": "[exit 2]",
                     "echo bad": "[exit 2]", "echo bad streamed": "[exit 2]",
                     "fallback": "[exit 0]", "echo auth": "[exit 0]", "echo auth streamed": "[exit 0]",
                     "user rate limit": "[exit 0]", "flush": "[exit 0]"}
    assert "the most allowed per user" in outputs["user rate limit"]
    outputs["usage export"] = cli(capsys, "usage", "--by", "model", "--csv")
    outputs["usage json"] = cli(capsys, "usage", "--by", "user", "--json")
    outputs["parley log"] = caplog.text
    assert_nowhere({**outputs, **files_under(leaky / ".parley")})
    assert_nowhere({"console export": console_export(leaky)})


def console_export(root: Path) -> str:
    from core.console.analytics import Filters, export_frame
    from core.config import load_settings
    from core.store import open_store

    settings = load_settings()
    store = open_store(settings.database_url, data_dir=settings.data_dir)
    try:
        frame = export_frame(store, Filters())
        assert len(frame), "the export should hold the calls just made"
        return frame.to_csv()
    finally:
        store.close()


def test_a_store_that_is_down_leaks_neither_keys_nor_its_password(leaky, emulator, capsys,
                                                                    monkeypatch, caplog):
    monkeypatch.setenv("PARLEY_DATABASE_URL",
                       f"postgresql://parley:{DB_PASSWORD}@127.0.0.1:1/parley?connect_timeout=1")
    outputs = {"ask": cli(capsys, "ask", "hi", "--model", "gemini", "--json"),
               "failed ask": None, "status": cli(capsys, "db", "status")}
    outputs["failed ask"] = cli(capsys, "ask", "hi", "--model", "echo-server")
    assert "[exit 0]" in outputs["ask"] and "[exit 1]" in outputs["status"]
    outputs["parley log"] = caplog.text
    spool = files_under(leaky / ".parley")
    assert any(b"echo-server" in data for data in spool.values()), "the failure waits in the spool"
    assert_nowhere({**outputs, **spool})


def test_a_failed_chat_shows_no_key_on_the_page(leaky, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from ui.deps import parts

    parts.clear()
    at = AppTest.from_file("../app_pages/chat.py", default_timeout=30)
    at.session_state["chat_model"] = "echo-bad"
    at.run()
    at.chat_input[0].set_value("hi").run()
    parts.clear()
    assert at.error and "echo-bad" in at.error[0].value
    assert_nowhere({"chat page": repr(at._tree) + " ".join(e.value for e in at.error)})
