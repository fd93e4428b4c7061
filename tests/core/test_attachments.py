"""Attachments through AIService, LiteLLM and the provider emulator: images and a PDF reach every
protocol, a model that cannot see is refused (or its compare column says so), and bad files are
refused with one sentence before anything is sent or recorded."""
from __future__ import annotations

import base64
import json

import pytest

from core.attachments import MAX_IMAGE_BYTES
from core.errors import BadRequestError
from tests.emulated import Collected, make_service
from tests.fakes.parts import png

EXTRA = {"o3": ("openai/o3-mini", {}), "o3-seeing": ("openai/o3-mini", {"supports_vision": True})}
PNG = png("fox")
PDF = b"%PDF-1.4\n1 0 obj<</Type /Page>>endobj\n%%EOF"


def image_part(data: bytes = PNG, media_type: str = "image/png") -> dict:
    return {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{base64.b64encode(data).decode()}"}}


def pdf_part(data: bytes = PDF) -> dict:
    return {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{base64.b64encode(data).decode()}",
                                     "filename": "report.pdf"}}


@pytest.fixture
def svc(emulator):
    recorder = Collected()
    service = make_service(emulator, recorder=recorder, **EXTRA)
    service.recorded = recorder.records
    yield service
    service.close()


@pytest.mark.parametrize("model", ["claude", "gemini", "gpt"])
async def test_an_image_and_a_pdf_reach_the_model(svc, emulator, model):
    result = await svc.generate("What is in these?", model=model, attachments=[image_part(), pdf_part()])
    assert result.content == "Echo: What is in these? [seen: image/png, application/pdf]"
    assert result.input_tokens == emulator.requests[-1].usage.input_tokens == 4 + 4 + 2 * 258
    [record] = svc.recorded
    parts = record.messages[-1]["content"]
    assert parts[0] == {"type": "text", "text": "What is in these?"}
    assert parts[1]["attachment"].startswith("image/png, ") and "base64" not in json.dumps(record.messages)


async def test_a_model_that_cannot_see_is_refused_before_anything_is_sent(svc, emulator):
    with pytest.raises(BadRequestError, match="o3 cannot read images; pick a model that can"):
        await svc.generate("What is this?", model="o3", attachments=[image_part()])
    assert emulator.requests == [] and svc.recorded == []
    seeing = await svc.generate("What is this?", model="o3-seeing", attachments=[image_part()])
    assert seeing.content.endswith("[seen: image/png]")  # model_info overrides the cost map


async def test_compare_says_which_column_cannot_see(svc, emulator):
    results = await svc.compare("Describe it", ["claude", "gemini", "o3"], attachments=[image_part()])
    assert [r.content for r in results[:2]] == ["Echo: Describe it [seen: image/png]"] * 2
    assert results[2].error.startswith("o3 cannot read images")
    assert len(emulator.requests) == 2


@pytest.mark.parametrize("attachments, message", [
    ([image_part()] * 5, "Attach at most 4 images, not 5."),
    ([pdf_part(), pdf_part()], "Attach at most one PDF."),
    ([image_part(b"PK\x03\x04 not an image")], "image 1 is not a PNG, JPEG, WebP, GIF or PDF file."),
    ([image_part(PNG + b"\0" * MAX_IMAGE_BYTES)], "image 1 is 5.0 MB; an image may be at most 5 MB."),
    ([{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}],
     "Attachment 1 must carry its data as a base64 data: URL; Parley does not fetch remote files."),
    ([{"type": "input_audio"}], "Attachment 1 must be an OpenAI content part of type image_url or file."),
])
async def test_bad_attachments_get_one_sentence_and_change_nothing(svc, emulator, attachments, message):
    with pytest.raises(BadRequestError) as caught:
        await svc.generate("Look", model="claude", attachments=attachments)
    assert str(caught.value) == message
    assert emulator.requests == [] and svc.recorded == []
