"""A service on the emulator for the core tests (the emulator itself is in tests/conftest.py)."""
from __future__ import annotations

import pytest

from tests.emulated import KEYS, PROVIDER_MODELS, make_service, three_models  # noqa: F401


@pytest.fixture
def service(emulator):
    svc = make_service(emulator)
    yield svc
    svc.close()
