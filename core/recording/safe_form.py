"""A record that JSON cannot hold, made storable instead of dropped.

A call that was answered is paid for, so its record is kept whatever its user id, service type
or metadata hold. ``made_safe`` returns a copy in which every value is plain JSON and says, in
its metadata, that this was done.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from core.results import CallRecord

__all__ = ["made_safe"]

_FIELDS = tuple(f.name for f in dataclasses.fields(CallRecord))


def made_safe(rec: CallRecord, reason: str) -> CallRecord:
    """``rec`` with every value JSON can hold: text that is not Unicode is backslash-escaped,
    keys become text, a cycle becomes ``"<cycle>"``, anything else its ``repr``; the metadata
    says so (``parley_recording_note``)."""
    fields = {name: _safe(getattr(rec, name), set()) for name in _FIELDS if name != "created_at"}
    meta = fields.get("metadata") if isinstance(fields.get("metadata"), dict) else {}
    fields["metadata"] = {**meta, "parley_recording_note":
                          f"some values could not be stored as given ({reason}); kept as text"}
    return CallRecord(created_at=rec.created_at, **fields)


def _safe(value: Any, open_: set[int]) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else repr(value)
    if isinstance(value, (dict, list, tuple)):
        if id(value) in open_:
            return "<cycle>"
        open_.add(id(value))
        try:
            if isinstance(value, dict):
                return {_safe(k if isinstance(k, str) else repr(k), open_): _safe(v, open_)
                        for k, v in value.items()}
            return [_safe(v, open_) for v in value]
        finally:
            open_.discard(id(value))
    return _safe(repr(value), open_)
