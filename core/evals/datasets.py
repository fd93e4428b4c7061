"""Datasets: the rows a template is run on. Columns are the template's variables, plus an
optional ``expected`` (what a good answer is, for the checks and the judge).

``parse_dataset(data, filename)`` reads CSV (header row first) or JSONL (one JSON object per
line) and refuses a bad file with one sentence naming the row and column, so nothing is
stored from it. Rows are numbered as a spreadsheet shows them: in a CSV the header is row 1
and the first data row is row 2; in JSONL the first line is row 1.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any, Sequence

from core.errors import BadRequestError

__all__ = ["Dataset", "parse_dataset", "check_columns", "EXPECTED", "MAX_ROWS"]

EXPECTED = "expected"
MAX_ROWS = 100_000
MAX_BYTES = 50_000_000


@dataclass(frozen=True)
class Dataset:
    """One stored version of a dataset; ``rows`` are dicts keyed by ``columns``."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    version: int = 0
    source: str = "upload"
    id: int | None = None
    created_by: str = ""
    created_at: str = ""
    digest: str = field(default="")

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c != EXPECTED)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Dataset":
        """From a stored row (``EvalStore.dataset``)."""
        return cls(row["name"], tuple(row["columns"]), tuple(row["rows"]), row["version"],
                   row["source"], row["id"], row["created_by"], row["created_at"], row["digest"])

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "ref": self.ref, "id": self.id,
                "columns": list(self.columns), "rows": len(self.rows), "source": self.source,
                "created_by": self.created_by, "created_at": self.created_at}


def parse_dataset(data: bytes | str, filename: str) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """``(columns, rows)`` from a CSV or JSONL file's content; ``BadRequestError`` otherwise."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise BadRequestError(f"{filename} is {len(data):,} bytes; the limit is {MAX_BYTES:,}.")
        text = _decode(data, filename)
    else:
        text = data
    lower = filename.lower()
    if lower.endswith((".jsonl", ".ndjson")):
        columns, rows = _parse_jsonl(text, filename)
    elif lower.endswith((".csv", ".tsv")):
        columns, rows = _parse_csv(text, filename, "\t" if lower.endswith(".tsv") else ",")
    else:
        raise BadRequestError(f"{filename}: upload a .csv or .jsonl file.")
    if not rows:
        raise BadRequestError(f"{filename} has a header but no rows; add at least one row.")
    if len(rows) > MAX_ROWS:
        raise BadRequestError(f"{filename} has {len(rows):,} rows; the limit is {MAX_ROWS:,}.")
    return columns, rows


def check_columns(dataset_columns: Sequence[str], variables: Sequence[str], what: str) -> None:
    """Refuse a dataset that lacks a column a template uses, naming the columns."""
    missing = [name for name in variables if name not in dataset_columns]
    if missing:
        raise BadRequestError(
            f"{what} uses {', '.join(repr(m) for m in missing)} but the dataset has no such "
            f"column (its columns: {', '.join(dataset_columns) or 'none'}).")


def _decode(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[:exc.start].count(b"\n") + 1
        raise BadRequestError(f"{filename}, row {row}: the file is not UTF-8 text "
                              f"(byte {exc.start + 1}); save it as UTF-8.") from None


def _check_header(header: list[str], where: str) -> tuple[str, ...]:
    """Column names usable as template variables; ``where`` is "file, row N"."""
    columns = [str(name).strip() for name in header]
    for number, name in enumerate(columns, start=1):
        if not name:
            raise BadRequestError(f"{where}, column {number}: the column has no name; "
                                  "name every column.")
        if not name.replace("_", "a").isalnum() or name[0].isdigit():
            raise BadRequestError(f"{where}, column {number}: {name!r} is not a "
                                  "variable name; use letters, digits and '_'.")
        if columns.index(name) != number - 1:
            raise BadRequestError(f"{where}, column {number}: {name!r} appears twice.")
    return tuple(columns)


def _parse_csv(text: str, filename: str, delimiter: str) -> tuple[tuple[str, ...], list[dict]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1  # the row the record being read begins on (a quoted value may span lines)
    try:
        header = next(reader, None)
        if not header:
            raise BadRequestError(f"{filename} is empty; the first row must name the columns.")
        columns = _check_header(header, f"{filename}, row 1")
        rows = []
        start = reader.line_num + 1
        for values in reader:
            if values and any(v.strip() for v in values):
                rows.append(_csv_row(values, columns, f"{filename}, row {start}"))
            start = reader.line_num + 1
    except csv.Error as exc:
        reason = ("a quoted value is never closed" if "unexpected end" in str(exc)
                  else str(exc))
        raise BadRequestError(f"{filename}, row {start}: the CSV is malformed ({reason}).") from None
    return columns, rows


def _csv_row(values: list[str], columns: tuple[str, ...], where: str) -> dict[str, str]:
    if len(values) != len(columns):
        column = columns[-1] if len(values) > len(columns) else columns[len(values)]
        raise BadRequestError(
            f"{where}, column {column!r}: the row has {len(values)} values but the header "
            f"names {len(columns)} columns (a comma inside a value needs quotes).")
    return dict(zip(columns, values))


def _parse_jsonl(text: str, filename: str) -> tuple[tuple[str, ...], list[dict]]:
    columns: tuple[str, ...] | None = None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadRequestError(f"{filename}, row {number}: not valid JSON at character "
                                  f"{exc.colno} ({exc.msg}).") from None
        if not isinstance(row, dict):
            raise BadRequestError(f"{filename}, row {number}: each line must be a JSON object "
                                  "of column -> value.")
        if columns is None:
            columns = _check_header(list(row), f"{filename}, row {number}")
        extra = [key for key in row if key not in columns]
        if extra:
            raise BadRequestError(f"{filename}, row {number}, column {extra[0]!r}: this column "
                                  "is not in the first row; every row needs the same columns.")
        lacking = [key for key in columns if key not in row]
        if lacking:
            raise BadRequestError(f"{filename}, row {number}, column {lacking[0]!r}: the row "
                                  "has no value for it; every row needs the same columns.")
        rows.append({key: row[key] for key in columns})
    return columns or (), rows
