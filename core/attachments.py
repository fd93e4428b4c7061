"""Images and PDFs sent with a prompt, as OpenAI content parts, and which models can read them.

An attachment arrives as an OpenAI content part (``{"type": "image_url", "image_url": {"url":
"data:image/png;base64,..."}}`` or ``{"type": "file", "file": {"file_data":
"data:application/pdf;base64,...", "filename": ...}}``), or as an ``Attachment`` (what
``load_attachment(path)`` reads from a file). ``check_attachments`` accepts 1 to ``MAX_IMAGES``
images (PNG, JPEG, WebP, GIF) and at most one PDF, each within its size limit, and identifies each
by its bytes, not its name; anything else is refused with one sentence before anything is sent.
Remote URLs are refused: Parley does not fetch what a caller points at.

``missing_capability(settings, model, attachments)`` names what a model lacks to read them
(LiteLLM's ``supports_vision`` / ``supports_pdf_input`` from its cost map, overridable in
``model_info``), or None. The cost map is read as JSON: this module never imports litellm.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from core.catalog import cost_map_entry
from core.errors import BadRequestError

__all__ = ["Attachment", "identify", "load_attachment", "check_attachments", "content_parts",
           "missing_capability", "redacted", "MAX_IMAGES", "MAX_IMAGE_BYTES", "MAX_PDF_BYTES"]

MAX_IMAGES = 4
MAX_PDFS = 1
MAX_IMAGE_BYTES = 5 * 1024 * 1024   # Anthropic's per-image limit, the tightest of the three
MAX_PDF_BYTES = 20 * 1024 * 1024    # Gemini's inline request limit
IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP", "image/gif": "GIF"}
PDF = "application/pdf"


@dataclass(frozen=True)
class Attachment:
    """One file to send: its media type (from its bytes), the bytes, and a name for messages."""

    media_type: str
    data: bytes
    name: str = "attachment"

    @property
    def is_image(self) -> bool:
        return self.media_type in IMAGE_TYPES

    def to_part(self) -> dict:
        """The OpenAI content part LiteLLM translates for every provider."""
        url = f"data:{self.media_type};base64,{base64.b64encode(self.data).decode()}"
        if self.is_image:
            return {"type": "image_url", "image_url": {"url": url}}
        return {"type": "file", "file": {"file_data": url, "filename": self.name}}


def sniff(data: bytes) -> str | None:
    """The media type these bytes really are, among the accepted ones; None otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def load_attachment(path: str | Path) -> Attachment:
    """Read a file to attach; ``BadRequestError`` if it cannot be read or is not accepted."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadRequestError(f"Cannot read {path.name}: {exc.strerror or exc}.") from None
    return identify(data, path.name)


def check_attachments(items: list | None) -> list[Attachment]:
    """The attachments as checked ``Attachment``s (an empty list for None)."""
    if items is None:
        return []
    if not isinstance(items, (list, tuple)):
        raise BadRequestError("attachments must be a list of content parts or files.")
    checked = [item if isinstance(item, Attachment) else _from_part(item, n)
               for n, item in enumerate(items, start=1)]
    checked = [identify(a.data, a.name) for a in checked]
    images = sum(a.is_image for a in checked)
    if images > MAX_IMAGES:
        raise BadRequestError(f"Attach at most {MAX_IMAGES} images, not {images}.")
    if len(checked) - images > MAX_PDFS:
        raise BadRequestError("Attach at most one PDF.")
    return checked


def content_parts(prompt: str, attachments: list[Attachment]) -> str | list[dict]:
    """The user message's content: the prompt alone, or the prompt then each attachment."""
    if not attachments:
        return prompt
    return [{"type": "text", "text": prompt}, *(a.to_part() for a in attachments)]


def missing_capability(settings, model: str, attachments: list[Attachment]) -> str | None:
    """What ``model`` cannot read among ``attachments`` ("images", "PDFs"), or None."""
    if not attachments:
        return None
    config = next((m for m in settings.models if m.name == model), None)
    if config is None:
        return None
    known = {**(cost_map_entry(config.provider_model) or {}), **config.litellm_params, **config.model_info}
    if any(a.is_image for a in attachments) and not known.get("supports_vision"):
        return "images"
    if any(not a.is_image for a in attachments) and not known.get("supports_pdf_input"):
        return "PDFs"
    return None


def redacted(request):
    """``request`` with each attachment's data replaced by its type and size, for the call log:
    the log keeps what was asked, not megabytes of base64."""
    messages = request.messages
    if not any(isinstance(m.get("content"), list) for m in messages):
        return request
    return dataclasses.replace(request, messages=[
        {**m, "content": [_summary(part) for part in m["content"]]} if isinstance(m.get("content"), list) else m
        for m in messages])


def _summary(part: dict) -> dict:
    url = (part.get("image_url") or {}).get("url") or (part.get("file") or {}).get("file_data")
    if part.get("type") not in ("image_url", "file") or not isinstance(url, str) or ";base64," not in url:
        return part
    header, data = url.split(";base64,", 1)
    size = len(data) * 3 // 4
    return {"type": part["type"], "attachment": f"{header[5:]}, {size / 1024:.1f} KB"}


def _from_part(part: object, n: int) -> Attachment:
    if not isinstance(part, dict) or part.get("type") not in ("image_url", "file"):
        raise BadRequestError(f"Attachment {n} must be an OpenAI content part of type image_url or file.")
    if part["type"] == "image_url":
        url = (part.get("image_url") or {}).get("url") if isinstance(part.get("image_url"), dict) else None
        name = f"image {n}"
    else:
        file = part.get("file") if isinstance(part.get("file"), dict) else {}
        url, name = file.get("file_data"), str(file.get("filename") or f"file {n}")
    if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
        raise BadRequestError(f"Attachment {n} must carry its data as a base64 data: URL; "
                              "Parley does not fetch remote files.")
    try:
        data = base64.b64decode(url.split(";base64,", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequestError(f"Attachment {n} is not valid base64.") from None
    return Attachment("", data, name)


def identify(data: bytes, name: str) -> Attachment:
    """``data`` as an ``Attachment`` of the type its bytes are (``name`` only labels it), or
    ``BadRequestError`` if it is not an accepted type or is over its size limit."""
    media_type = sniff(data)
    if media_type is None:
        raise BadRequestError(f"{name} is not a PNG, JPEG, WebP, GIF or PDF file.")
    limit, what = (MAX_PDF_BYTES, "a PDF") if media_type == PDF else (MAX_IMAGE_BYTES, "an image")
    if len(data) > limit:
        raise BadRequestError(f"{name} is {len(data) / 2**20:.1f} MB; {what} may be at most "
                              f"{limit // 2**20} MB.")
    return Attachment(media_type, data, name)
