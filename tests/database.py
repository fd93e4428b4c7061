"""A SQLite store's file, read and changed as an outside tool would: through a connection of
the test's own, never the store's private one (so a test sees what is committed, as every
other reader does)."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

__all__ = ["connect", "sql"]


def connect(store_or_path: Any) -> sqlite3.Connection:
    """A new autocommit connection to the file behind a ``SqliteStore`` (or a path)."""
    path = getattr(store_or_path, "path", store_or_path)
    return sqlite3.connect(Path(path), timeout=30, isolation_level=None)


def sql(store_or_path: Any, query: str, params: tuple = ()) -> list[tuple]:
    """Every row ``query`` returns (none for a change), committed at once."""
    conn = connect(store_or_path)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()
