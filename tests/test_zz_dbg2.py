from tests.emulated import make_service, PROVIDER_MODELS
from tests.fakes import Fault
import pytest
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", ["gemini", "gpt", "claude"])
def test_dbg(emulator, stream, model):
    svc = make_service(emulator, router={"fallbacks": []})
    emulator.enqueue(PROVIDER_MODELS[model], Fault("401"))
    try:
        if stream: list(svc.stream_sync("hi", model=model))
        else: svc.generate_sync("hi", model=model)
    except Exception as e: print(type(e).__name__)
    print(model, stream, [(r.model, r.outcome) for r in emulator.requests])
