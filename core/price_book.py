"""The dated price book: what each model cost per token class, from when.

    book = PriceBook(store_opener, catalog)
    book.sync()                          # a new entry where LiteLLM's map or model_info changed
    book.set_price("claude", {"input": 3.0, "output": 15.0}, actor="ann@example.com")  # $/1M
    book.apply(result)                   # on the call path: price_id, and a manual price's cost

Contract:
- Entries are only ever added. The current entry of a model is the one with the latest
  ``valid_from`` that is not in the future (ties: the last added).
- ``sync`` compares each configured model's prices (every token class and tier) with its
  latest entry taken from configuration (``litellm`` or ``model_info``) and adds one when
  they differ; ``db upgrade`` runs it, and so does the first priced call of a process.
- A call is priced by LiteLLM (tiers and token classes) while the current entry comes from
  configuration; when it is a ``manual`` entry (``prices set``), the call is priced at that
  entry's rates instead. Either way the call records the entry's id, and a recorded cost is
  never recomputed.
- ``apply`` never raises: a store without a price book leaves ``price_id`` None.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any, Callable

from core.audit import record_change
from core.errors import BadRequestError
from core.pricing import TokenUsage, entry_rates, has_price_override, price_tokens

__all__ = ["PriceBook", "current_entry", "cost_at", "public_entry", "CLASSES"]

log = logging.getLogger("parley.prices")

CLASSES = ("input", "output", "cache_read", "cache_write", "reasoning", "image")
_PER_MILLION = 1_000_000


def _stamp(moment: dt.datetime | None = None) -> str:
    return (moment or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).isoformat()


def _parse(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def current_entry(entries: list[dict[str, Any]], at: dt.datetime | None = None) -> dict | None:
    """The entry in force at ``at`` (default now) among one model's ``entries``."""
    at = at or dt.datetime.now(dt.timezone.utc)
    valid = [e for e in entries if _parse(e["valid_from"]) <= at]
    return max(valid, key=lambda e: (_parse(e["valid_from"]), e["id"])) if valid else None


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def close(x, y):
        return (x is None and y is None) or (x is not None and y is not None
                                             and abs(float(x) - float(y)) <= 1e-15)
    return all(close(a.get(c), b.get(c)) for c in CLASSES) and \
        set((a.get("tiers") or {}).items()) == set((b.get("tiers") or {}).items())


class PriceBook:
    """The price book in one store, cached in memory for ``ttl`` seconds."""

    def __init__(self, store_opener: Callable[[], Any], catalog, *, ttl: float = 5.0):
        self._open, self.catalog, self._ttl = store_opener, catalog, ttl
        self._entries: dict[str, list[dict[str, Any]]] = {}
        self._loaded_at = -1e9
        self._synced = False
        self._refreshing = False
        self._lock, self._flag = threading.Lock(), threading.Lock()

    def _store(self):
        return self._open()

    def entries(self, model: str | None = None) -> list[dict[str, Any]]:
        """Every entry (or ``model``'s), oldest first, read from the store now."""
        return self._store().price_entries(model)

    def sync(self, actor: str | None = None) -> list[dict[str, Any]]:
        """Add an entry for each configured, priced model whose configuration differs from
        its latest configured entry; returns the entries added (audited as ``prices.seed``)."""
        store = self._store()
        latest: dict[str, dict[str, Any]] = {}
        for entry in store.price_entries():
            if entry["source"] != "manual":
                latest[entry["model"]] = entry
        added = []
        for model in self.catalog:
            if not model.price_known:
                continue
            wanted = {**entry_rates(model), "tiers": dict(model.tiers), "model": model.name,
                      "provider_model": model.provider_model, "valid_from": _stamp(),
                      "source": "model_info" if has_price_override(model) else "litellm",
                      "created_by": actor or "system"}
            if model.name not in latest or not _same(latest[model.name], wanted):
                added.append(wanted)
        for entry, new_id in zip(added, store.add_prices(added)):
            entry["id"] = new_id
            record_change(store, actor, "prices.seed", entry["model"], None, public_entry(entry))
        self._loaded_at = -1e9
        self._synced = True
        return added

    def set_price(self, model: str, per_million: dict[str, float | None], *,
                  valid_from: dt.datetime | None = None, actor: str | None = None) -> dict:
        """Add a manual entry for ``model`` (a configured name) at ``per_million`` USD per 1M
        tokens by class, in force from ``valid_from`` (default now). Audited as ``prices.set``
        with the entry it replaces."""
        entry = self.catalog.get(model)
        if per_million.get("input") is None or per_million.get("output") is None:
            raise BadRequestError("A price needs at least --input and --output ($ per 1M tokens).")
        if any(v is not None and v < 0 for v in per_million.values()):
            raise BadRequestError("A price cannot be negative.")
        store = self._store()
        before = current_entry(store.price_entries(model))
        row = {c: None if per_million.get(c) is None else per_million[c] / _PER_MILLION
               for c in CLASSES}
        row.update(model=model, provider_model=entry.provider_model, tiers={}, source="manual",
                   valid_from=_stamp(valid_from), created_by=actor or "system")
        row["id"] = store.add_prices([row])[0]
        record_change(store, actor, "prices.set", model, before and public_entry(before), public_entry(row))
        self.refresh()  # this process prices its next call at the new rate
        return row

    def current(self, model: str, at: dt.datetime | None = None) -> dict[str, Any] | None:
        """The entry in force for ``model`` at ``at`` (None when the book has none), from
        memory. Only a process's first read waits for the store (``refresh``, which servers do
        at start); after that, a book older than ``ttl`` is read again on a background thread,
        so a call never waits for the database."""
        if not self._synced:
            self.refresh()
        elif time.monotonic() - self._loaded_at > self._ttl:
            self._refresh_in_background()
        return current_entry(self._entries.get(model, []), at)

    def refresh(self) -> None:
        """Sync the book with the configuration (once per process), then read it."""
        with self._lock:
            if not self._synced:
                self.sync()
            grouped: dict[str, list[dict[str, Any]]] = {}
            for entry in self._store().price_entries():
                grouped.setdefault(entry["model"], []).append(entry)
            self._entries, self._loaded_at = grouped, time.monotonic()

    def _refresh_in_background(self) -> None:
        with self._flag:  # not the read's lock: a caller never waits for a read in progress
            if self._refreshing:
                return
            self._refreshing = True

        def run() -> None:
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - the book in memory serves meanwhile
                log.warning("the price book could not be read again (%s); the last read serves",
                            type(exc).__name__)
            finally:
                self._refreshing = False

        threading.Thread(target=run, name="parley-prices", daemon=True).start()

    def apply(self, result) -> None:
        """Stamp ``result`` (a ``GenerationResult`` that was answered) with the entry in force
        and, for a manual entry, its cost at that entry's rates. Never raises."""
        if not result.ok:
            return
        try:
            entry = self.current(result.served_by or result.model)
        except Exception as exc:  # noqa: BLE001 - pricing history must never fail a call
            log.warning("the price book could not be read (%s); the call is recorded without "
                        "a price id", type(exc).__name__)
            return
        if entry is None:
            return
        result.price_id = entry["id"]
        if entry["source"] == "manual" and not result.cache_hit:
            result.cost = cost_at(entry, result)
            result.price_known = result.cost is not None


def cost_at(entry: dict[str, Any], result) -> float | None:
    """``result``'s tokens priced at ``entry``'s rates (any object with the token fields)."""
    usage = TokenUsage(result.input_tokens or 0, result.output_tokens or 0,
                       result.cache_read_tokens or 0, result.cache_write_tokens or 0,
                       result.reasoning_tokens or 0)
    return price_tokens({c: entry.get(c) for c in CLASSES}, usage, entry.get("tiers") or {})


def public_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as the audit log and ``prices --json`` show it: $ per 1M tokens."""
    shown = {c: None if entry.get(c) is None else round(entry[c] * _PER_MILLION, 6) for c in CLASSES}
    return {"id": entry.get("id"), "model": entry["model"], "valid_from": entry["valid_from"],
            "source": entry["source"], **shown}
