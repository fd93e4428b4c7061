"""What the protocols share about non-text content: attachments and JSON-schema instances.

`Attachments` collects the media types of image and document parts as each protocol finds them
(a data URL, an Anthropic base64 source, a Gemini inline_data blob) and counts PDF pages, so the
emulator can answer with what it saw and bill image tokens per image and per page.
`png(seed)` is a small valid picture for image outputs. `instance_of(schema, text)` builds a small valid instance of a JSON schema: the default tool
arguments and the default structured answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
import zlib

_PAGE = re.compile(rb"/Type\s*/Page(?!s)")


class Attachments:
    """Media types seen so far, in order, and the image units (images + PDF pages) they bill."""

    def __init__(self) -> None:
        self.media_types: list[str] = []
        self.units = 0

    def add(self, media_type: str, data: str | None = None) -> None:
        self.media_types.append(media_type)
        self.units += pdf_pages(data) if media_type == "application/pdf" else 1

    def add_data_url(self, url: str) -> None:
        """A `data:<type>;base64,<data>` URL; a remote URL counts as one image of unknown type."""
        if url.startswith("data:") and ";base64," in url:
            header, data = url[5:].split(";base64,", 1)
            self.add(header or "application/octet-stream", data)
        else:
            self.add("image/url")


def pdf_pages(data: str | None) -> int:
    """Pages of a base64 PDF (its `/Type /Page` objects); at least 1."""
    try:
        raw = base64.b64decode(data or "", validate=False)
    except (binascii.Error, ValueError):
        return 1
    return max(1, len(_PAGE.findall(raw)))


def instance_of(schema: dict, text: str) -> object:
    """A value valid against a (simple) JSON schema: strings are `text`, numbers 1, booleans
    true, enums their first value, objects every property (required or not), arrays one item."""
    if not isinstance(schema, dict):
        return text
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return instance_of(schema[key][0], text)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {name: instance_of(sub, text) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [instance_of(schema.get("items") or {}, text)] * max(1, int(schema.get("minItems", 1)))
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return float(max(1, schema.get("minimum", 1)))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text


def png(seed: str, side: int = 8) -> bytes:
    """A valid side x side RGB PNG of one colour chosen by `seed`."""
    red, green, blue = hashlib.sha256(seed.encode()).digest()[:3]
    row = b"\x00" + bytes((red, green, blue)) * side
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * side))
            + chunk(b"IEND", b""))
