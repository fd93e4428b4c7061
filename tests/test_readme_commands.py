"""Every command and Python example the README shows runs on a default install: no
parley.yaml, the provider keys in the environment (their base URLs pointed at the emulator,
as LiteLLM reads ``ANTHROPIC_API_BASE``, ``GEMINI_API_BASE`` and ``OPENAI_BASE_URL``), the
bundled model, SQLite under the test's directory. Setup and app-launch lines are not run
(``scripts/...``, ``npm``, ``bench/``, ``claude``); placeholders are filled the way a reader
fills them (``RUN``: the run just made; ``pk-...``: the key just made; optional ``[...]``
parts left out)."""
from __future__ import annotations

import asyncio
import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from core.cli import main
from tests.emulated import KEYS
from tests.paths import REPO

PREFIX = ".venv/bin/python -m core "
README = (REPO / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def readme_cli_lines() -> list[str]:
    """The ``python -m core`` lines of the README's bash blocks, comments cut, in order."""
    lines = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            if line.startswith(PREFIX):
                lines.append(re.split(r"\s+# ", line)[0].strip())
    return lines


def _argv(line: str, filled: dict[str, str]) -> list[str]:
    line = re.sub(r"\s\[[^\]]*\]", "", line[len(PREFIX):])  # optional parts: left out
    return [filled.get(arg, arg) for arg in shlex.split(line)]


@pytest.fixture
def default_install(emulator, monkeypatch, tmp_path):
    """No config file; keys in the environment, each provider's base URL on the emulator."""
    env = {"ANTHROPIC_API_KEY": KEYS["claude"], "GEMINI_API_KEY": KEYS["gemini"],
           "OPENAI_API_KEY": KEYS["gpt"], "ANTHROPIC_API_BASE": emulator.anthropic_base,
           "GEMINI_API_BASE": emulator.gemini_base, "OPENAI_BASE_URL": emulator.openai_base,
           "PARLEY_USER": "reader@example.com"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "questions.csv").write_text(
        "question,expected\nWhat is 2+2?,4\nName a colour.,blue\n")
    shutil.copy(REPO / "tests" / "fixtures" / "bills" / "openai_costs.json", tmp_path / "costs.json")
    return env


def test_the_readme_shows_the_commands_this_test_runs():
    lines = readme_cli_lines()
    assert len(lines) >= 20
    assert any(" eval run " in f" {line} " for line in lines)
    assert any(line.startswith(PREFIX + "keys create") for line in lines)


def test_every_readme_cli_command_runs_on_a_default_install(default_install, capsys):
    filled: dict[str, str] = {}
    for line in readme_cli_lines():
        argv = _argv(line, filled)
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 0, f"{line}\n-> exit {code}: {err.strip()}"
        if argv[:2] == ["eval", "run"]:  # RUN: the first run (the one `eval use` picks from)
            filled.setdefault("RUN", re.search(r"run-[0-9a-f]{12}", out).group(0))
        if argv[:2] == ["keys", "create"]:
            filled["pk-AbCdEfGh"] = re.search(r"pk-[A-Za-z0-9_\-]{20,}", out).group(0)[:11]
    assert {"RUN", "pk-AbCdEfGh"} <= set(filled)
    main(["usage", "--by", "user", "--json"])  # no --user: the calls are the local user's
    users = {row["key"] for row in json.loads(capsys.readouterr().out)}
    assert "reader@example.com" in users and "cli" not in users


def test_the_readme_python_service_example_runs(default_install):
    first = next(b for b in _blocks("python") if "AIService.from_env()" in b)
    namespace: dict = {}
    source = "async def _example():\n" + textwrap.indent(first, "    ") + "\n    return locals()"
    exec(compile(source, "README.md", "exec"), namespace)  # noqa: S102 (the README's own code)
    found = asyncio.run(namespace["_example"]())
    assert found["r"].content and found["plan"].model == found["r"].model
    found["svc"].close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(default_install, tmp_path):
    """``python -m core serve`` on a default install, and a key made as the README says."""
    import os

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    made = subprocess.run([sys.executable, "-m", "core", "keys", "create", "--user", "u1"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    secret = re.search(r"pk-[A-Za-z0-9_\-]{20,}", made.stdout).group(0)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "core", "serve", "--port", str(port)],
                              env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/", timeout=2):
                break
        except OSError:
            time.sleep(0.3)
    yield url, secret
    server.terminate()
    server.wait(timeout=15)


def test_the_readme_http_examples_run_against_parley_serve(served):
    url, secret = served
    examples = [b for b in _blocks("python") if "api_key=\"pk-...\"" in b]
    assert len(examples) >= 2  # the OpenAI SDK and the Agents SDK
    for example in examples:
        code = (example.replace("http://localhost:8501", url).replace("http://localhost:8000", url)
                .replace('"pk-..."', repr(secret)))
        namespace: dict = {}
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (the README's own code)
