"""The console's sums of what calls did beyond text, kept current on write like the usage rollups.

``usage_classes_daily`` holds, per day x user x provider x model x service type x demo: image
generations (``image_calls``, and the ``images`` they made), ``reasoning_tokens``,
``cache_read_tokens``, ``cache_write_tokens``, ``tool_calls`` and ``saved_cost`` (what prompt
caching saved; negative where cache writes cost more than reads saved). A console read sums it
for a ``RollupQuery``'s days and filters (its ``by`` is ignored: one total), so no console read
scans ``request_logs``. SQLite: ``core/store/sqlite/token_classes.py`` (m011); Postgres and
Supabase: ``20251201000300_parley_usage_classes.sql`` (a statement trigger on request_logs).
"""
from __future__ import annotations

from typing import Any, Sequence

from core.results import CallRecord

__all__ = ["CLASS_MEASURES", "class_increments", "class_totals"]

CLASS_MEASURES = ("image_calls", "images", "reasoning_tokens", "cache_read_tokens",
                  "cache_write_tokens", "tool_calls", "saved_cost")


def class_increments(records: Sequence[CallRecord], stamps: Sequence[str]) -> list[tuple]:
    """What new records add to ``usage_classes_daily``: (day, user, provider, model, service
    type, demo, *CLASS_MEASURES) rows, one per key; ``stamps`` are the stored ``created_at``."""
    sums: dict[tuple, list] = {}
    for record, stamp in zip(records, stamps):
        key = (stamp[:10], record.user_id, record.provider, record.model, record.service_type,
               int(record.is_demo))
        row = sums.setdefault(key, [0, 0, 0, 0, 0, 0, 0.0])
        if record.kind == "image" and record.status == "success":
            row[0] += 1
            row[1] += int((record.metadata or {}).get("images") or 1)
        row[2] += record.reasoning_tokens or 0
        row[3] += record.cache_read_tokens or 0
        row[4] += record.cache_write_tokens or 0
        row[5] += record.tool_calls or 0
        if not record.cache_hit:  # a response-cache hit's saving is the console's cache_savings
            row[6] += record.saved_cost or 0.0
    return [(*key, *sums[key]) for key in sorted(sums)]


def class_totals(row: dict[str, Any] | None) -> dict[str, Any]:
    """A read's totals with every measure present: counts as int, ``saved_cost`` as float."""
    row = row or {}
    totals = {name: int(row.get(name) or 0) for name in CLASS_MEASURES[:-1]}
    totals["saved_cost"] = float(row.get("saved_cost") or 0)
    return totals
