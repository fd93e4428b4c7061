"""`python -m core ask --complexity` and `--model auto`, as a user runs them, with the route
recorded in the call log."""
from __future__ import annotations

import json
import sqlite3

import pytest

from core.cli import main
from tests.emulated import KEYS, PROVIDER_MODELS, write_config

ROUTES = {"simple": "gemini", "moderate": "gpt", "complex": "claude", "search": "gpt"}


@pytest.fixture
def configured(tmp_path, emulator, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEYS["claude"])
    monkeypatch.setenv("GEMINI_API_KEY", KEYS["gemini"])
    monkeypatch.setenv("OPENAI_API_KEY", KEYS["gpt"])
    config = write_config(emulator, tmp_path / "parley.yaml", parley={"routes": ROUTES})
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    return tmp_path / ".parley" / "parley.db"  # the default SQLite call log under PARLEY_DATA_DIR


def ask(capsys, *argv):
    code = main(["ask", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def logged_metadata(db) -> list[dict]:
    with sqlite3.connect(db) as conn:
        return [json.loads(row[0]) for row in conn.execute("SELECT metadata FROM request_logs")]


def test_ask_complexity_uses_the_route(configured, emulator, capsys):
    code, out, _ = ask(capsys, "Hello", "--complexity", "complex", "--json")
    result = json.loads(out)
    assert code == 0 and result["model"] == "claude" and result["route"] == "complex"
    assert emulator.requests[-1].model == PROVIDER_MODELS["claude"]
    assert logged_metadata(configured)[-1]["route"] == "complex"


def test_ask_model_auto_routes_and_records_the_reason(configured, emulator, capsys):
    code, out, _ = ask(capsys, "Explain how tides work.", "--model", "auto", "--json")
    result = json.loads(out)
    assert code == 0 and result["model"] == "gpt" and result["route"] == "moderate"
    assert "moderate because it asks for an explanation" in result["route_reason"]
    assert logged_metadata(configured)[-1] == {"route": "moderate", "route_source": "auto",
                                               "route_reason": result["route_reason"],
                                               "client": "parley-cli"}


def test_ask_auto_in_text_mode_says_why_on_stderr(configured, capsys):
    code, out, err = ask(capsys, "Prove that 17 is prime.", "--model", "auto")
    assert code == 0 and out.startswith("Echo: Prove")
    assert "-- The prompt is complex because it asks for careful reasoning" in err


def test_ask_with_an_unknown_complexity_is_one_line_and_exit_2(configured, emulator, capsys):
    code, out, err = ask(capsys, "Hello", "--complexity", "hard")
    assert code == 2 and out == ""
    assert err == "error: Complexity 'hard' is not one of: simple, moderate, complex, search.\n"
    assert emulator.requests == []


def test_a_user_id_is_one_user_however_it_is_capitalised(configured, capsys):
    """``--user`` takes the app's spelling (trimmed, lower case), so the preference set for
    Ann@Example.com is the one ann@example.com's calls get, and her calls are counted once."""
    assert main(["prefs", "set", "--user", " Ann@Example.COM ", "--model", "gpt"]) == 0
    assert main(["prefs", "get", "--user", "ann@example.com", "--json"]) == 0
    capsys.readouterr()
    assert main(["prefs", "get", "--user", "ANN@example.com", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "gpt"
    code, _, _ = ask(capsys, "hello", "--user", "Ann@Example.com")
    assert code == 0
    assert main(["usage", "--by", "user", "--json"]) == 0
    users = [row["key"] for row in json.loads(capsys.readouterr().out)]
    assert users == ["ann@example.com"]
