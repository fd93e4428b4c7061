"""A call record as one spool line (JSON), and back: what the recorder writes to disk before
the call returns and ships later.

``encode_record`` applies the privacy setting (``none`` drops prompt and answer text, ``hash``
keeps digests, ``store`` keeps the text) and scrubs secrets; ``decode_records`` turns spool
lines back into records, setting aside (with the reason) any line that cannot be read.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from typing import Any

from core.errors import redact
from core.results import CallRecord
from core.store.base import utc_iso

__all__ = ["encode_record", "decode_records"]

_FIELDS = tuple(f.name for f in dataclasses.fields(CallRecord))
_SECRET_KEY = re.compile(r"(?i)^(api[_-]?key|key|secret|password|passwd|token|authorization|"
                         r"bearer|cookie|.*[_-](key|secret|password|token))$")
# "This data is wrong" as opposed to "the database is unreachable": the stores' own
# BadRequestError, and the DB-API names a driver error may carry (drivers are not imported here).

_to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str,
                            allow_nan=False).encode
_to_canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                      default=str).encode


def encode_record(rec: CallRecord, privacy: str, secrets: tuple[str, ...] = ()) -> bytes:
    """One spool line: the record as compact JSON with privacy applied and secrets masked."""
    row = {name: getattr(rec, name) for name in _FIELDS}
    row["created_at"] = utc_iso(rec.created_at)  # as every store keeps it, naive = UTC
    if rec.error:
        row["error"] = redact(rec.error, secrets)
    if rec.metadata:
        row["metadata"] = _scrub(rec.metadata, secrets)
    if privacy == "none":
        row["messages"] = row["response"] = None
    elif privacy == "hash":
        row["messages"], row["response"] = _digest(rec.messages), _digest(rec.response)
    else:
        row["messages"], row["response"] = _scrub(rec.messages, secrets), _scrub(rec.response, secrets)
    return _to_json(row).encode() + b"\n"


def decode_records(lines: list[bytes]) -> tuple[list[tuple[CallRecord, bytes]], list[tuple[bytes, str]]]:
    """Spool lines back into records, each with its line; lines that cannot be read come
    back apart, each with the reason."""
    good, bad = [], []
    for row, line in zip(_parse_lines(lines), lines):
        try:
            good.append((_record_from_row(row), line))
        except (ValueError, TypeError, KeyError) as exc:
            bad.append((line, f"{type(exc).__name__}: {exc}"))
    return good, bad


def _parse_lines(lines: list[bytes]) -> list[Any]:
    # One parse for the whole batch is several times faster than one per line; a damaged
    # line makes it fail (or miscount), and then each line is parsed on its own.
    try:
        rows = json.loads(b"[" + b",".join(lines) + b"]")
        if len(rows) == len(lines):
            return rows
    except ValueError:
        pass
    return [_parse_line(line) for line in lines]


def _parse_line(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError as exc:
        return exc


def _record_from_row(row: Any) -> CallRecord:
    if isinstance(row, Exception):
        raise row
    if not isinstance(row, dict):
        raise ValueError("a spool line is not a record")
    row["created_at"] = dt.datetime.fromisoformat(row["created_at"])
    try:
        return CallRecord(**row)
    except TypeError:  # written by another version: keep the fields this one knows
        return CallRecord(**{name: row[name] for name in _FIELDS if name in row})


def _digest(value: Any) -> str | None:
    if value is None:
        return None
    return hashlib.sha256(_to_canonical_json(value).encode()).hexdigest()


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: "***" if isinstance(k, str) and _SECRET_KEY.match(k) else _scrub(v, secrets)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, secrets) for v in value]
    return value
