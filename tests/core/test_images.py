"""AIService.generate_image through LiteLLM and the emulator: images back, priced per image (or per
image token) from LiteLLM's bundled map by hand, recorded as kind=image; unknown prices stay unknown."""
from __future__ import annotations

import base64
import functools
import json
import os
from pathlib import Path

import pytest

from core.errors import BadRequestError, RateLimitError
from tests.emulated import Collected, make_service
from tests.fakes import Fault, Reply

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import litellm  # noqa: E402

EXTRA = {"gpt-image": ("openai/gpt-image-1", {}), "imagen": ("gemini/imagen-3.0-generate-001", {}),
         "imagen-4": ("gemini/imagen-4.0-generate-001", {"mode": "image_generation"})}


@functools.cache
def bundled_map() -> dict:
    path = Path(litellm.__file__).parent / "model_prices_and_context_window_backup.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def svc(emulator):
    recorder = Collected()
    service = make_service(emulator, recorder=recorder, **EXTRA)
    service.recorded = recorder.records
    yield service
    service.close()


async def test_imagen_is_priced_per_image(svc, emulator):
    result = await svc.generate_image("a lighthouse at dusk", model="imagen", n=2)
    price = bundled_map()["gemini/imagen-3.0-generate-001"]["output_cost_per_image"]
    assert price == 0.04
    assert result.cost == pytest.approx(2 * price)  # $0.08: two images at $0.04, no tokens billed
    assert (result.kind, result.input_tokens, result.output_tokens) == ("image", 0, 0)
    assert len(result.images) == 2
    assert base64.b64decode(result.images[0]["b64_json"]).startswith(b"\x89PNG")
    assert emulator.requests[-1].body["parameters"]["sampleCount"] == 2
    [record] = svc.recorded
    assert (record.kind, record.status, record.model) == ("image", "success", "imagen")
    assert record.total_cost == pytest.approx(0.08)
    assert record.metadata["images"] == 2 and record.messages == [{"role": "user", "content": "a lighthouse at dusk"}]


async def test_gpt_image_is_priced_by_its_image_tokens(svc, emulator):
    emulator.enqueue("gpt-image-1", Reply("a red fox in the snow, soft light"))
    result = await svc.generate_image("a red fox", model="gpt-image", n=2, size="1024x1024", quality="low")
    p = bundled_map()["gpt-image-1"]
    assert (p["input_cost_per_token"], p["output_cost_per_image_token"]) == (5e-06, 4e-05)
    # OpenAI bills the prompt's 7 text tokens and 272 image tokens per low-quality 1024x1024 image.
    expected = 7 * p["input_cost_per_token"] + 2 * 272 * p["output_cost_per_image_token"]  # $0.021795
    assert expected == pytest.approx(0.021795, abs=1e-12)
    assert result.cost == pytest.approx(expected, rel=1e-9)
    assert (result.input_tokens, result.output_tokens) == (7, 544)
    assert result.content == "a red fox in the snow, soft light"
    assert svc.recorded[0].total_cost == pytest.approx(expected, rel=1e-9)
    assert emulator.requests[-1].body == {"prompt": "a red fox", "model": "gpt-image-1", "n": 2,
                                          "size": "1024x1024", "quality": "low"}


async def test_an_image_model_without_a_price_records_unknown(svc, emulator):
    assert "gemini/imagen-4.0-generate-001" not in bundled_map()
    result = await svc.generate_image("a bridge", model="imagen-4")
    assert len(result.images) == 1
    assert (result.cost, result.price_known) == (None, False)
    assert svc.recorded[0].total_cost is None


async def test_the_first_image_model_is_the_default_and_chat_models_are_refused(svc):
    result = await svc.generate_image("a kite")
    assert result.model == "gpt-image"
    with pytest.raises(BadRequestError, match="claude does not make images; pick one of: gpt-image, imagen"):
        await svc.generate_image("a kite", model="claude")


@pytest.mark.parametrize("options, message", [
    ({"n": 5}, "Ask for 1 to 4 images, not 5."),
    ({"size": "huge"}, "Size is WIDTHxHEIGHT"),
    ({"quality": "ultra"}, "Quality is one of"),
])
async def test_bad_image_requests_change_nothing(svc, emulator, options, message):
    with pytest.raises(BadRequestError, match=message):
        await svc.generate_image("a kite", model="imagen", **options)
    assert emulator.requests == [] and svc.recorded == []


async def test_a_provider_failure_is_raised_and_recorded_as_an_image_call(svc, emulator):
    emulator.enqueue("imagen-3.0-generate-001", *[Fault("429", retry_after=0)] * 3)
    with pytest.raises(RateLimitError):
        await svc.generate_image("a kite", model="imagen")
    assert svc.recorded and all(r.kind == "image" and r.status == "failure" for r in svc.recorded)
    assert svc.recorded[-1].call_id and svc.recorded[-1].total_cost in (0.0, None)


async def test_gemini_flash_image_is_priced_by_its_image_tokens(emulator):
    svc = make_service(emulator, recorder=Collected(), nano=("gemini/gemini-2.5-flash-image", {}))
    try:
        result = await svc.generate_image("a red fox", model="nano")
    finally:
        svc.close()
    p = bundled_map()["gemini/gemini-2.5-flash-image"]
    assert (p["input_cost_per_token"], p["output_cost_per_image_token"]) == (3e-07, 3e-05)
    # Google bills 1,290 output tokens per 1024x1024 image (≈ the map's $0.039 per image).
    expected = 7 * p["input_cost_per_token"] + 1_290 * p["output_cost_per_image_token"]  # $0.0387021
    assert result.cost == pytest.approx(expected, rel=1e-9)
    assert len(result.images) == 1 and (result.input_tokens, result.output_tokens) == (7, 1_290)
