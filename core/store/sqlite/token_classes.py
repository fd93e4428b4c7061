"""SQLite's ``usage_classes_daily`` (core/store/token_classes.py): folding new calls in, and the
console's read of it. The table itself is migration m011's."""
from __future__ import annotations

import sqlite3
from typing import Any, Sequence

from core.results import CallRecord
from core.store.rollups import RollupQuery
from core.store.sqlite.rollups import rollup_where
from core.store.token_classes import CLASS_MEASURES, class_increments, class_totals

__all__ = ["fold_token_classes", "token_class_totals"]

_KEYS = ("day", "user_id", "provider", "model", "service_type", "is_demo")
_UPSERT = (f"INSERT INTO usage_classes_daily ({', '.join(_KEYS + CLASS_MEASURES)}) "
           f"VALUES ({', '.join('?' * (len(_KEYS) + len(CLASS_MEASURES)))}) "
           f"ON CONFLICT ({', '.join(_KEYS)}) DO UPDATE SET "
           + ", ".join(f"{m} = {m} + excluded.{m}" for m in CLASS_MEASURES))


def fold_token_classes(conn: sqlite3.Connection, records: Sequence[CallRecord],
                       stamps: Sequence[str]) -> None:
    """Add the records (just inserted, in the caller's transaction) to the sums."""
    conn.executemany(_UPSERT, class_increments(records, stamps))


def token_class_totals(conn: sqlite3.Connection, query: RollupQuery) -> dict[str, Any]:
    """The sums over ``query``'s days and filters."""
    where, params = rollup_where(query, "day")
    sums = ", ".join(f"sum({m}) AS {m}" for m in CLASS_MEASURES)
    cursor = conn.execute(f"SELECT {sums} FROM usage_classes_daily WHERE {' AND '.join(where)}", params)
    row = cursor.fetchone()
    return class_totals(dict(zip(CLASS_MEASURES, row)))
