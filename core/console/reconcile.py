"""The provider's bill against what Parley recorded, per day x model.

    import_bill(store, path, "anthropic", actor="ann@example.com")  # stored, audited
    rows = reconcile(store, since=dt.date(2025, 11, 1))

Each row: ``day``, ``provider``, ``model`` (bare: no prefix, no snapshot date, see
``core.console.bills.bare_model``), ``billed`` (USD, the provider's figure), ``recorded``
(Parley's cost of the successful, non-demo calls), ``difference`` (billed - recorded),
``percent`` (of billed; None when nothing was billed), ``calls``, ``billed_classes``
(``{token class: USD}``), ``billed_tokens`` and ``recorded_tokens`` (``{class: tokens}``),
and ``provider_reported`` (the sum of what the provider said on each response, where it
says: OpenRouter's ``usage.cost``). Only providers with an imported bill are compared, on
the days their bills cover. ``drifted(rows, pct)`` keeps the rows off by more than ``pct``.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from core.audit import record_change
from core.console.bills import bare_model, read_bill
from core.errors import BadRequestError

__all__ = ["import_bill", "reconcile", "drifted", "provider_family"]

_FAMILY = {"vertex_ai": "gemini", "vertex_ai_beta": "gemini", "azure": "openai"}
_RECORDED_CLASSES = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                     "reasoning_tokens")


def provider_family(provider: str) -> str:
    """The bill a recorded provider's calls appear on (``vertex_ai`` -> ``gemini``)."""
    return _FAMILY.get(provider, provider)


def import_bill(store, path: str | Path, provider: str, *, actor: str | None = None) -> dict:
    """Read ``path`` as ``provider``'s export and store its lines (a line already imported
    for the same day, model and class is replaced). Audited as ``reconcile.import``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise BadRequestError(f"Cannot read {path}: {exc.strerror}.") from None
    lines = read_bill(text, provider)
    if not lines:
        raise BadRequestError(f"{path} has no {provider} cost lines to import.")
    count = store.import_bills(lines, Path(path).name)
    summary = {"provider": provider, "file": Path(path).name, "lines": count,
               "days": sorted({line["day"] for line in lines}),
               "billed": round(sum(line["billed"] for line in lines), 6)}
    record_change(store, actor, "reconcile.import", provider, None, summary)
    return summary


def reconcile(store, since: dt.date | None = None) -> list[dict[str, Any]]:
    """Billed against recorded per day x provider x model (see the module docstring)."""
    since_text = since.isoformat() if since else None
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    spans: dict[str, tuple[str, str]] = {}
    for line in store.bills(since_text):
        row = _row(rows, line["day"], line["provider"], line["model"])
        row["billed"] += line["billed"]
        kind = line["token_class"]
        row["billed_classes"][kind] = row["billed_classes"].get(kind, 0.0) + line["billed"]
        if line["tokens"] is not None:
            row["billed_tokens"][kind] = row["billed_tokens"].get(kind, 0) + int(line["tokens"])
        first, last = spans.get(line["provider"], (line["day"], line["day"]))
        spans[line["provider"]] = (min(first, line["day"]), max(last, line["day"]))
    for rec in store.recorded_by_day(since_text):
        family = provider_family(rec["provider"])
        day = str(rec["day"])[:10]
        if family not in spans or not spans[family][0] <= day <= spans[family][1]:
            continue
        row = _row(rows, day, family, bare_model(rec["provider_model"]))
        row["recorded"] += rec["cost"] or 0.0
        row["calls"] += int(rec["calls"])
        if rec.get("provider_cost") is not None:
            row["provider_reported"] = (row["provider_reported"] or 0.0) + rec["provider_cost"]
        for name in _RECORDED_CLASSES:
            key = name.removesuffix("_tokens")
            row["recorded_tokens"][key] = row["recorded_tokens"].get(key, 0) + int(rec[name] or 0)
    for row in rows.values():
        row["difference"] = row["billed"] - row["recorded"]
        row["percent"] = None if not row["billed"] else 100.0 * row["difference"] / row["billed"]
    return sorted(rows.values(), key=lambda r: (r["day"], r["provider"], r["model"]))


def drifted(rows: list[dict[str, Any]], pct: float) -> list[dict[str, Any]]:
    """Rows whose recorded cost is off the bill by more than ``pct`` percent (or billed with
    nothing recorded, or recorded with nothing billed)."""
    return [r for r in rows if (r["percent"] is None and r["recorded"] > 0)
            or (r["percent"] is not None and abs(r["percent"]) > pct)]


def _row(rows: dict, day: str, provider: str, model: str) -> dict[str, Any]:
    key = (day, provider, model)
    if key not in rows:
        rows[key] = {"day": day, "provider": provider, "model": model, "billed": 0.0,
                     "recorded": 0.0, "calls": 0, "billed_classes": {}, "billed_tokens": {},
                     "recorded_tokens": {}, "provider_reported": None}
    return rows[key]
