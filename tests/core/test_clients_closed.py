"""LiteLLM keeps an HTTP client per provider and event loop; whoever owns the loop closes them
before it ends, so no aiohttp session is left open ("Unclosed client session"). The calls here
go through LiteLLM (``PARLEY_FAST_PATH=off``): its clients are what is under test."""
from __future__ import annotations

import sys

import httpx

from core.llm.clients import close_loop_clients
from tests.emulated import KEYS, make_service


def open_clients() -> list[httpx.AsyncClient]:
    """The open httpx clients of LiteLLM's cached HTTP handlers (a handler makes a new client
    when asked for a closed one: keep the clients themselves)."""
    litellm = sys.modules.get("litellm")  # loaded by the first call
    cache = litellm.in_memory_llm_clients_cache.cache_dict if litellm else {}
    clients = [getattr(handler, "client", None) for handler in cache.values()]
    return [c for c in clients if isinstance(c, httpx.AsyncClient) and not c.is_closed]


def test_a_closed_service_leaves_no_client_of_its_loop_open(emulator, monkeypatch):
    for name, key in (("ANTHROPIC_API_KEY", "claude"), ("GEMINI_API_KEY", "gemini"),
                      ("OPENAI_API_KEY", "gpt")):
        monkeypatch.setenv(name, KEYS[key])
    monkeypatch.setenv("PARLEY_FAST_PATH", "off")
    service = make_service(emulator)
    before = open_clients()
    for model in ("claude", "gemini", "gpt"):
        assert service.generate_sync("hi", model=model, user_id="u1").error is None
    made = [client for client in open_clients() if client not in before]
    assert made, "the calls went through LiteLLM's cached clients"
    service.close()
    assert [client for client in made if not client.is_closed] == []


def test_a_service_closed_twice_leaves_no_coroutine_unawaited(emulator, monkeypatch):
    """Streamlit's cache closes the service it lets go of, after a page (or a test) may have
    closed it already: the second close does nothing, and warns of nothing."""
    import gc
    import warnings

    monkeypatch.setenv("GEMINI_API_KEY", KEYS["gemini"])
    service = make_service(emulator)
    assert service.generate_sync("hi", model="gemini", user_id="u1").error is None
    service.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        service.close()
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []


async def test_an_async_callers_loop_closes_what_it_made(emulator, monkeypatch):
    for name, key in (("ANTHROPIC_API_KEY", "claude"), ("GEMINI_API_KEY", "gemini")):
        monkeypatch.setenv(name, KEYS[key])
    monkeypatch.setenv("PARLEY_FAST_PATH", "off")
    service = make_service(emulator)
    before = open_clients()
    for model in ("claude", "gemini"):
        assert (await service.generate("hi", model=model, user_id="u1")).error is None
    made = [client for client in open_clients() if client not in before]
    assert await close_loop_clients() >= 2
    assert [client for client in made if not client.is_closed] == []
    service.close()


async def test_the_module_level_client_of_litellms_streams_is_closed_with_its_loop(emulator,
                                                                                   monkeypatch):
    """LiteLLM's Anthropic streams share ``litellm.module_level_aclient``: it is cached under
    the loop that made it only the first time; once closed, it opens a new client on its next
    use, which no cache entry names. Closing a loop closes that one too."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEYS["claude"])
    monkeypatch.setenv("PARLEY_FAST_PATH", "off")
    service = make_service(emulator)
    for _ in range(2):  # the second stream reopens the shared client the first close closed
        pieces = [piece async for piece in service.stream("hi", model="claude", user_id="u1")]
        assert pieces[-1].error is None
        shared = vars(sys.modules["litellm"]).get("module_level_aclient")
        assert shared is not None and not shared._client.is_closed, "the stream used it"
        await close_loop_clients()
        assert shared._client.is_closed
    service.close()
