"""The rooms' rules hold: the import-linter contracts in pyproject.toml pass, and they bite."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.paths import REPO

LINT = [str(Path(sys.executable).parent / "lint-imports")]


def _lint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*LINT, "--no-cache", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_the_import_contracts_are_kept():
    done = _lint()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    kept = re.findall(r"^(.+?) KEPT", done.stdout, re.M)
    assert len(kept) >= 8, done.stdout  # streamlit, layers, litellm, psycopg, supabase, plotly, llama, cycles


def test_removing_an_exception_breaks_its_contract(tmp_path):
    """Only core.store.postgres may import psycopg: without that exception the contract fails,
    so the contracts really are checked (not vacuously kept)."""
    config = (REPO / "pyproject.toml").read_text()
    exception = 'ignore_imports = ["core.store.postgres -> psycopg"]'
    assert exception in config
    stricter = tmp_path / "pyproject.toml"
    stricter.write_text(config.replace(exception, ""))
    done = _lint("--config", str(stricter))
    assert done.returncode != 0
    assert "Only core.store.postgres imports psycopg BROKEN" in done.stdout
    assert "core.store.postgres -> psycopg" in done.stdout
