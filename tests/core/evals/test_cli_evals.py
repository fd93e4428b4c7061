"""``python -m core templates ...`` / ``eval ...`` as a user runs them, and the resume promise:
a run killed with SIGKILL mid-way, started again, answers and records each pair once."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from core.cli import main
from tests.emulated import KEYS, write_config
from tests.fakes import Reply

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def config(tmp_path, emulator, monkeypatch):
    for var, name in (("ANTHROPIC_API_KEY", "claude"), ("GEMINI_API_KEY", "gemini"),
                      ("OPENAI_API_KEY", "gpt")):
        monkeypatch.setenv(var, KEYS[name])
    path = write_config(emulator, tmp_path / "parley.yaml", parley={"privacy": "store"})
    monkeypatch.setenv("PARLEY_CONFIG", str(path))
    return path


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_templates_save_list_show(config, capsys):
    code, out, _ = _cli(capsys, "templates", "save", "qa", "--template", "Q: {{ question }}",
                        "--system", "Be brief.", "--service", "xray", "--json")
    assert code == 0 and json.loads(out)["ref"] == "qa@1"
    _cli(capsys, "templates", "save", "qa", "--template", "Question: {{ question }}")
    code, out, _ = _cli(capsys, "templates", "list", "--json")
    assert [(t["ref"], t["versions"]) for t in json.loads(out)] == [("qa@2", 2)]
    code, out, _ = _cli(capsys, "templates", "show", "qa@1", "--json")
    assert json.loads(out)["template"] == "Q: {{ question }}" and json.loads(out)["system"] == "Be brief."
    code, _, err = _cli(capsys, "templates", "show", "qa@7")
    assert code == 2 and err == "error: There is no template 'qa@7'.\n"


def test_eval_run_prints_totals_per_model_and_show_repeats_them(config, capsys, tmp_path):
    _cli(capsys, "templates", "save", "qa", "--template", "{{ question }}", "--service", "xray")
    data = tmp_path / "qs.csv"
    data.write_text("question,expected\nsay one,Echo: say one\nsay two,Echo: say three\n")
    code, out, err = _cli(capsys, "eval", "run", "--template", "qa", "--dataset", str(data),
                          "--models", "claude,gemini", "--checks", "equals", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert "estimated cost at most $" in err
    assert report["run"]["status"] == "done" and report["progress"]["answered"] == 4
    assert [(t["model"], t["pass_rate"]) for t in report["totals"]] == [("claude", 0.5), ("gemini", 0.5)]
    code, out, _ = _cli(capsys, "eval", "show", report["run"]["id"], "--json")
    assert json.loads(out)["totals"] == report["totals"]
    code, out, _ = _cli(capsys, "eval", "show", report["run"]["id"])
    assert out.splitlines()[1].split()[:3] == ["model", "pass", "judge"]
    assert out.splitlines()[2].startswith("claude  50%")
    code, out, _ = _cli(capsys, "eval", "show", report["run"]["id"], "--csv")
    assert out.splitlines()[0].startswith("question,expected,row,model,status,answer,passed")
    assert len(out.splitlines()) == 5


def test_a_malformed_csv_is_one_line_and_stores_nothing(config, capsys, tmp_path):
    _cli(capsys, "templates", "save", "qa", "--template", "{{ question }}")
    data = tmp_path / "bad.csv"
    data.write_text('question,expected\n"unclosed,4\n')
    code, out, err = _cli(capsys, "eval", "run", "--template", "qa", "--dataset", str(data),
                          "--models", "claude,gemini")
    assert code == 2 and out == ""
    assert err == "error: bad.csv, row 2: the CSV is malformed (a quoted value is never closed).\n"
    _, out, _ = _cli(capsys, "eval", "show", "--json")
    assert json.loads(out) == []


def _counts(db: Path) -> tuple[Counter, Counter]:
    conn = sqlite3.connect(db)
    results = Counter(conn.execute("SELECT row_index, model FROM eval_results").fetchall())
    logs = Counter(conn.execute("SELECT json_extract(metadata, '$.eval_row'), model "
                                "FROM request_logs WHERE eval_run_id IS NOT NULL").fetchall())
    conn.close()
    return results, logs


def test_a_run_killed_with_sigkill_resumes_and_pays_for_no_answered_row_twice(config, tmp_path, emulator):
    emulator.set_default("*", Reply(ttft=0.15))
    data = tmp_path / "rows.csv"
    data.write_text("question\n" + "".join(f"row number {i}\n" for i in range(30)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "core", "templates", "save", "qa", "--template",
                    "{{ question }}"], check=True, env=env, cwd=tmp_path, capture_output=True)
    command = [sys.executable, "-m", "core", "eval", "run", "--template", "qa", "--dataset",
               str(data), "--models", "claude,gemini", "--concurrency", "4", "--json"]
    db = tmp_path / ".parley" / "parley.db"
    first = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None:
        if db.exists() and sum(_counts(db)[0].values()) >= 16:
            break
        time.sleep(0.05)
    assert first.poll() is None, "the run finished before it could be killed"
    first.send_signal(signal.SIGKILL)
    first.wait()
    answered_before, _ = _counts(db)
    asked_before = Counter(_asked(r) for r in emulator.requests)
    assert 16 <= sum(answered_before.values()) < 60

    second = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "resuming with" in second.stderr
    report = json.loads(second.stdout)
    assert report["run"]["status"] == "done" and report["progress"]["answered"] == 60
    results, logs = _counts(db)
    pairs = {(i, m) for i in range(30) for m in ("claude", "gemini")}
    assert set(results) == pairs and set(results.values()) == {1}
    assert set(logs) == pairs and set(logs.values()) == {1}  # each answer recorded once
    asked_after = Counter(_asked(r) for r in emulator.requests) - asked_before
    for row_index, model in answered_before:  # what was answered before the kill: never asked again
        assert asked_after[(f"row number {row_index}", model)] == 0


def _asked(request) -> tuple[str, str]:
    body = json.dumps(request.body)
    row = next(f"row number {i}" for i in range(30) if f"row number {i}\"" in body)
    return row, "claude" if request.protocol == "anthropic" else "gemini"


def test_one_model_twice_or_named_configurations_make_a_run_of_the_local_user(
        config, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PARLEY_USER", "Ana@Example.com")
    _cli(capsys, "templates", "save", "qa", "--template", "{{ question }}")
    data = tmp_path / "qs.csv"
    data.write_text("question\nsay one\n")
    code, out, err = _cli(capsys, "eval", "run", "--template", "qa", "--dataset", str(data),
                          "--models", "gemini,gemini")
    assert code == 0, err
    assert "x gemini · t=0.2, gemini · t=0.9;" in err
    assert "No judge: the bundled model is not configured; name one with --judge." in err
    lines = out.splitlines()
    assert [line.split("  ")[0] for line in lines[2:4]] == ["gemini · t=0.2", "gemini · t=0.9"]
    assert " ms" in lines[2] and "$0.000000" not in out
    code, out, err = _cli(capsys, "eval", "run", "--template", "qa", "--dataset", str(data),
                          "--config", "cool=gemini,temperature=0", "--config", "warm=claude,max_tokens=9",
                          "--no-judge", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["run"]["models"] == [
        {"label": "cool", "model": "gemini", "temperature": 0.0, "max_tokens": None},
        {"label": "warm", "model": "claude", "temperature": None, "max_tokens": 9}]
    assert report["run"]["created_by"] == "ana@example.com"
    code, _, err = _cli(capsys, "eval", "run", "--template", "qa", "--dataset", str(data),
                        "--config", "gemini")
    assert code == 2 and "write LABEL=MODEL" in err
