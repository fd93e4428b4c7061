"""Evaluations on the emulator, with a real SQLite store and recorder under the test's temp dir."""
from __future__ import annotations

import pytest

from core.config import build_settings
from core.service import AIService
from tests.emulated import three_models


def evals_service(emulator, tmp_path, database_url: str | None = None, **parley) -> AIService:
    """An AIService on the emulator's claude/gemini/gpt, recording to ``database_url``
    (default: ``tmp_path``'s SQLite)."""
    common = {"data_dir": tmp_path / ".parley",
              "database_url": database_url or f"sqlite:///{tmp_path / '.parley' / 'parley.db'}"}
    settings = build_settings(tuple(three_models(emulator)), {"num_retries": 0, "timeout": 5},
                              {"default_model": "gemini", "privacy": "store",
                               "service_types": ["xray", "answer_builder"], **parley},
                              "test", common)
    return AIService.from_settings(settings, {})


@pytest.fixture
def svc(emulator, tmp_path):
    service = evals_service(emulator, tmp_path)
    yield service
    service.close()


@pytest.fixture
def bench(svc):
    from core.evals.workbench import Workbench

    return Workbench(svc)
