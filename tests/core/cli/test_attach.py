"""`python -m core ask/compare --attach FILE`: files read, identified by their bytes, sent as
content parts; a bad file or a model that cannot see gets one line and a non-zero exit."""
from __future__ import annotations

import json

import pytest

from core.cli import main
from tests.emulated import KEYS, write_config
from tests.fakes.parts import png


@pytest.fixture
def config(tmp_path, emulator, monkeypatch):
    for name, value in (("ANTHROPIC_API_KEY", "claude"), ("GEMINI_API_KEY", "gemini"), ("OPENAI_API_KEY", "gpt")):
        monkeypatch.setenv(name, KEYS[value])
    blind = {"model_name": "blind", "litellm_params": {"model": "openai/o3-mini", "api_key": "os.environ/OPENAI_API_KEY",
                                                       "api_base": emulator.openai_base}}
    path = write_config(emulator, tmp_path / "parley.yaml", extra=[blind])
    monkeypatch.setenv("PARLEY_CONFIG", str(path))
    (tmp_path / "fox.png").write_bytes(png("fox"))
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<</Type /Page>>endobj\n%%EOF")
    (tmp_path / "photo.png").write_bytes(b"GIF89a... a GIF named .png")
    (tmp_path / "notes.txt").write_text("plain text")
    return tmp_path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_sends_each_attached_file(config, capsys, emulator):
    code, out, _ = run(capsys, "ask", "What are these?", "--model", "claude", "--attach", str(config / "fox.png"),
                       "--attach", str(config / "photo.png"), "--attach", str(config / "notes.pdf"), "--json")
    result = json.loads(out)
    assert code == 0 and result["content"] == "Echo: What are these? [seen: image/png, image/gif, application/pdf]"
    assert result["input_tokens"] == 3 + 4 + 3 * 258


def test_ask_refuses_a_file_that_is_not_an_image_or_pdf(config, capsys, emulator):
    code, out, err = run(capsys, "ask", "What is it?", "--model", "claude", "--attach", str(config / "notes.txt"))
    assert code == 2 and out == ""
    assert err == "error: notes.txt is not a PNG, JPEG, WebP, GIF or PDF file.\n"
    code, _, err = run(capsys, "ask", "What is it?", "--attach", str(config / "missing.png"))
    assert code == 2 and err.startswith("error: Cannot read missing.png")
    assert emulator.requests == []


def test_compare_with_an_attachment_says_which_model_cannot_see(config, capsys, emulator):
    code, out, _ = run(capsys, "compare", "Describe it", "--models", "claude,gemini,blind",
                       "--attach", str(config / "fox.png"), "--json")
    rows = {row["model"]: row for row in json.loads(out)}
    assert code == 0
    assert rows["claude"]["content"] == rows["gemini"]["content"] == "Echo: Describe it [seen: image/png]"
    assert rows["blind"]["error"] == ("blind cannot read images; pick a model that can, or send the prompt "
                                      "without them.")
