"""The LiteLLM API core/llm/runtime.py relies on: these fail when LiteLLM changes it."""
from __future__ import annotations

import inspect

from core.config import LOCAL_PROVIDER
from core.llm import runtime


def test_router_per_deployment_call_is_still_what_parley_overrides():
    """Private: ``Router._acompletion(model, messages, **kwargs)``, awaited once per deployment
    attempt (retries and fallbacks included)."""
    litellm = runtime.load()
    method = litellm.Router._acompletion
    assert inspect.iscoroutinefunction(method)
    params = list(inspect.signature(method).parameters.values())
    assert [p.name for p in params[:3]] == ["self", "model", "messages"]
    assert params[-1].kind is inspect.Parameter.VAR_KEYWORD
    assert issubclass(runtime.observed_router_class(), litellm.Router)


def test_router_generic_per_deployment_call_is_still_what_parley_overrides():
    """Private: ``Router._ageneric_api_call_with_fallbacks_helper(model,
    original_generic_function, **kwargs)``, awaited once per deployment attempt of
    ``aresponses`` (core/llm/responses_native.py)."""
    litellm = runtime.load()
    method = litellm.Router._ageneric_api_call_with_fallbacks_helper
    assert inspect.iscoroutinefunction(method)
    params = list(inspect.signature(method).parameters.values())
    assert [p.name for p in params[:3]] == ["self", "model", "original_generic_function"]
    assert params[-1].kind is inspect.Parameter.VAR_KEYWORD


def test_the_bundled_provider_is_known_through_the_public_registration():
    litellm = runtime.load()
    assert any(item["provider"] == LOCAL_PROVIDER for item in litellm.custom_provider_map)
    model, provider, _, _ = litellm.get_llm_provider(f"{LOCAL_PROVIDER}/smollm2-135m-instruct")
    assert (model, provider) == ("smollm2-135m-instruct", LOCAL_PROVIDER)


async def test_attempts_are_observed_per_call(emulator):
    """Each deployment attempt lands in the current call's own list, not a global one."""
    litellm = runtime.load()
    router = runtime.observed_router_class()(model_list=[{
        "model_name": "m", "litellm_params": {"model": "openai/gpt-4.1-mini", "api_key": "sk-test",
                                               "api_base": emulator.openai_base}}])
    seen: list = []
    token = runtime.ATTEMPTS.set(seen)
    try:
        response = await router.acompletion(model="m", messages=[{"role": "user", "content": "hi"}])
    finally:
        runtime.ATTEMPTS.reset(token)
    assert isinstance(response, litellm.ModelResponse)
    assert [(a.model, a.ok) for a in seen] == [("m", True)]


async def test_a_stream_keeps_the_providers_own_chunks(emulator):
    """Private: ``CustomStreamWrapper.chunks`` holds what the provider sent, its own finish
    reason included (the gateway tells a cut answer from a finished one by it)."""
    litellm = runtime.load()
    stream = await litellm.acompletion(
        model="openai/gpt-4.1-mini", api_key="sk-test", api_base=emulator.openai_base,
        messages=[{"role": "user", "content": "hi"}], stream=True)
    async for _ in stream:
        pass
    chunks = runtime.provider_chunks(stream)
    assert chunks and any(c.choices and c.choices[0].finish_reason for c in chunks)


def test_a_closed_service_leaves_no_callback_in_litellms_lists(emulator):
    """LiteLLM keeps at most 30 callbacks per list; each Router adds its own (cooldowns
    included). Closing the service must take them out, or the 31st Router has no cooldowns."""
    from tests.emulated import make_service

    litellm = runtime.load()
    before = len(litellm.failure_callback)
    svc = make_service(emulator)
    svc.generate_sync("hi", model="gpt")
    assert len(litellm.failure_callback) == before + 1
    svc.close()
    assert len(litellm.failure_callback) == before


PRELOAD = """
import sys, threading
from core.llm import runtime
assert "litellm" not in sys.modules
thread = runtime.preload()
assert thread is not None and thread.daemon
assert runtime.preload() is None  # loading already: no second thread
callers = [threading.Thread(target=runtime.load) for _ in range(4)]  # first calls, meanwhile
for t in callers:
    t.start()
for t in [thread, *callers]:
    t.join(timeout=120)
import litellm
mine = [p for p in litellm.custom_provider_map if p["provider"] == "parley-local"]
assert len(mine) == 1, mine  # set up once, however many threads asked at the same time
assert runtime.preload() is None  # loaded: nothing more to start
print("ok")
"""


def test_litellm_preloads_on_a_background_thread_and_is_set_up_once():
    """The app preloads litellm after a page paints, so the first send does not wait seconds
    for the import; a call arriving meanwhile waits for the same load, not a second one."""
    import os
    import subprocess
    import sys

    from tests.paths import REPO

    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    done = subprocess.run([sys.executable, "-c", PRELOAD], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
