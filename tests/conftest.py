"""Every test runs isolated: no provider keys, no config file, data under a temp directory,
no network (providers are the local emulator in tests/fakes)."""
from __future__ import annotations

import inspect
import os
import sys

import pytest

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

_LEAKY = ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY",
          "OLLAMA_BASE_URL", "LM_STUDIO_BASE_URL", "VLLM_BASE_URL", "PARLEY_CONFIG",
          "PARLEY_DATABASE_URL", "PARLEY_DATA_DIR", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY",
          "PARLEY_USER")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    for name in _LEAKY:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / ".parley"))
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture(scope="session")
def emulator():
    """The provider emulator (tests/fakes), one per session; reset before each test using it."""
    from tests.fakes import ProviderEmulator

    with ProviderEmulator() as emu:
        yield emu


@pytest.fixture(autouse=True)
def fresh_emulator_script(request):
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset()


@pytest.fixture(autouse=True)
def no_response_cache_left_behind():
    """LiteLLM keeps the response cache in one process-wide ``litellm.cache``; a test whose
    service configured ``parley.cache`` must not leave it answering later tests' direct
    litellm calls (Parley's own calls say ``caching`` explicitly either way)."""
    yield
    litellm = sys.modules.get("litellm")
    if litellm is not None:
        litellm.cache = None


@pytest.fixture(autouse=True)
def no_router_callbacks_left_behind():
    """Each LiteLLM Router hooks its callbacks (its cooldowns among them) into process-wide
    lists that hold at most 30; a test that did not close its service must not leave them for
    the next tests (``AIService.close`` unhooks them in the app)."""
    yield
    litellm = sys.modules.get("litellm")
    if litellm is None:
        return
    for name in ("callbacks", "success_callback", "failure_callback", "_async_success_callback",
                 "_async_failure_callback", "input_callback", "service_callback"):
        hooks = getattr(litellm, name, None)
        if isinstance(hooks, list):
            hooks[:] = [h for h in hooks if not isinstance(getattr(h, "__self__", None), litellm.Router)]


def pytest_collection_modifyitems(items):
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, "function", None)):
            item.fixturenames.append("litellm_clients_closed")


@pytest.fixture
async def litellm_clients_closed():
    """Each async test runs on its own event loop: the HTTP clients LiteLLM made on it are
    closed before it ends (``AIService.close`` does the same for the service's own loop), or
    their aiohttp sessions would be collected open later, each saying "Unclosed client session"."""
    yield
    from core.llm.clients import close_loop_clients

    await close_loop_clients()
