"""Providers' own cost exports, read into bill lines: ``{provider, day, model, token_class,
tokens, billed}`` with ``billed`` in USD and ``day`` the UTC day (YYYY-MM-DD).

``read_bill(text, provider)`` understands each provider's documented shape:

- ``openai``: the Costs API page (``GET /v1/organization/costs?group_by=line_item``):
  ``{"data": [{"start_time", "results": [{"amount": {"value", "currency"},
  "line_item": "gpt-4.1-mini-2025-04-14, input"}]}]}``; ``line_item`` is "model, class".
- ``anthropic``: the Admin API cost report (``GET /v1/organizations/cost_report`` grouped by
  description): ``{"data": [{"starting_at", "results": [{"amount": "123.45", "currency",
  "cost_type": "tokens", "model", "token_type"}]}]}``; ``amount`` is in cents, as a string.
- ``gemini``: Google Cloud Billing's BigQuery export rows (standard usage cost schema), as a
  JSON array or newline-delimited JSON: ``service.description``, ``sku.description`` (e.g.
  "Gemini 2.5 Flash Input token count"), ``usage_start_time``, ``cost``, ``currency``,
  ``usage.amount``; nested or with dotted column names.
- ``openrouter``: the activity export (``GET /api/v1/activity``): ``{"data": [{"date",
  "model", "usage", "requests", "prompt_tokens", "completion_tokens", "reasoning_tokens"}]}``
  (``usage`` is USD), or a list of generation records (``/api/v1/generation``:
  ``created_at``, ``model``, ``total_cost``, ``tokens_prompt``, ``tokens_completion``).

A file that is not one of these raises ``BadRequestError`` saying which shape was expected.
Only USD is accepted: a line in another currency is refused rather than mixed in.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Callable, Iterable

from core.errors import BadRequestError

__all__ = ["read_bill", "PROVIDERS", "bare_model"]

PROVIDERS = ("openai", "anthropic", "gemini", "openrouter")
_OPENAI_CLASSES = {"input": "input", "output": "output", "cached input": "cache_read",
                   "cached_input": "cache_read", "reasoning": "reasoning"}
_ANTHROPIC_CLASSES = {"uncached_input_tokens": "input", "output_tokens": "output",
                      "cache_read_input_tokens": "cache_read",
                      "cache_creation.ephemeral_5m_input_tokens": "cache_write",
                      "cache_creation.ephemeral_1h_input_tokens": "cache_write"}
_DATE_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-latest|-preview-\d{2}-\d{4})$")
_PREFIXES = ("openai/", "anthropic/", "gemini/", "vertex_ai/", "openrouter/", "models/")


def bare_model(model: str) -> str:
    """A model name both sides can meet on: no LiteLLM provider prefix, no snapshot date,
    lower case (``anthropic/claude-sonnet-4-5-20250929`` -> ``claude-sonnet-4-5``)."""
    name = (model or "").strip().lower()
    while name.startswith(_PREFIXES):  # openrouter/openai/gpt-4.1 -> gpt-4.1
        name = name.split("/", 1)[1]
    return _DATE_SUFFIX.sub("", name)


def _day(value: Any) -> str:
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc).date().isoformat()
    text = str(value).strip().replace("Z", "+00:00").replace(" UTC", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return dt.date.fromisoformat(text[:10]).isoformat()
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.date().isoformat()


def _usd(currency: Any, where: str) -> None:
    if currency and str(currency).lower() != "usd":
        raise BadRequestError(f"{where} is billed in {currency}; only USD bills can be reconciled.")


def _line(provider: str, day: str, model: str, token_class: str, billed: float,
          tokens: Any = None) -> dict[str, Any]:
    return {"provider": provider, "day": day, "model": bare_model(model),
            "token_class": token_class, "billed": float(billed),
            "tokens": None if tokens is None else int(float(tokens))}


def _openai(doc: Any) -> Iterable[dict[str, Any]]:
    for bucket in doc["data"]:
        day = _day(bucket["start_time"])
        for result in bucket.get("results") or []:
            amount = result.get("amount") or {}
            _usd(amount.get("currency"), "An OpenAI cost line")
            item = result.get("line_item") or ""
            model, _, kind = item.rpartition(",")
            if not model:  # not grouped by line item: one total, no model to compare with
                model, kind = "(all models)", "total"
            yield _line("openai", day, model, _OPENAI_CLASSES.get(kind.strip().lower(), "other"),
                        amount.get("value") or 0)


def _anthropic(doc: Any) -> Iterable[dict[str, Any]]:
    for bucket in doc["data"]:
        day = _day(bucket["starting_at"])
        for result in bucket.get("results") or []:
            _usd(result.get("currency"), "An Anthropic cost line")
            kind = _ANTHROPIC_CLASSES.get(result.get("token_type") or "", "other")
            if result.get("cost_type") not in (None, "tokens"):
                kind = str(result["cost_type"])
            yield _line("anthropic", day, result.get("model") or "(all models)", kind,
                        float(result.get("amount") or 0) / 100.0)


_GEMINI_SKU = re.compile(r"(gemini[\w .-]*?)\s+(cached\s+)?(input|output|text input|text output|"
                         r"thinking|cache storage)", re.I)


def _field(row: dict[str, Any], dotted: str) -> Any:
    if dotted in row:
        return row[dotted]
    value: Any = row
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _gemini(rows: Any) -> Iterable[dict[str, Any]]:
    for row in rows:
        sku = str(_field(row, "sku.description") or "")
        match = _GEMINI_SKU.search(sku)
        if not match:
            continue  # storage, support, other services: not model calls
        _usd(_field(row, "currency"), "A Google Cloud billing row")
        model = re.sub(r"\s+", "-", match.group(1).strip().lower())
        kind = match.group(3).lower().split()[-1]
        kind = {"thinking": "reasoning", "storage": "cache_storage"}.get(kind, kind)
        if match.group(2):
            kind = "cache_read"
        yield _line("gemini", _day(_field(row, "usage_start_time")), model, kind,
                    _field(row, "cost") or 0, _field(row, "usage.amount"))


def _openrouter(doc: Any) -> Iterable[dict[str, Any]]:
    rows = doc["data"] if isinstance(doc, dict) else doc
    for row in rows:
        if "total_cost" in row:  # generation records
            yield _line("openrouter", _day(row["created_at"]), row["model"], "total",
                        row["total_cost"] or 0,
                        (row.get("tokens_prompt") or 0) + (row.get("tokens_completion") or 0))
        else:
            yield _line("openrouter", _day(row["date"]), row["model"], "total", row["usage"] or 0,
                        (row.get("prompt_tokens") or 0) + (row.get("completion_tokens") or 0))


_READERS: dict[str, tuple[Callable[[Any], Iterable[dict[str, Any]]], str]] = {
    "openai": (_openai, "OpenAI's Costs API page (data[].results[].amount, line_item)"),
    "anthropic": (_anthropic, "Anthropic's cost report (data[].results[].amount, token_type)"),
    "gemini": (_gemini, "Google Cloud Billing export rows (sku.description, cost)"),
    "openrouter": (_openrouter, "OpenRouter's activity export (data[].date, model, usage)"),
}


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        try:  # newline-delimited JSON (BigQuery's export format)
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError:
            raise BadRequestError("The file is not JSON or newline-delimited JSON.") from None


def read_bill(text: str, provider: str) -> list[dict[str, Any]]:
    """The bill lines of ``text``, summed per day x model x token class."""
    if provider not in _READERS:
        raise BadRequestError(f"--provider must be one of {', '.join(PROVIDERS)}, not {provider!r}.")
    reader, shape = _READERS[provider]
    try:
        lines = list(reader(_parse(text)))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BadRequestError(f"The file is not {shape}.") from None
    summed: dict[tuple, dict[str, Any]] = {}
    for line in lines:
        key = (line["day"], line["model"], line["token_class"])
        if key in summed:
            summed[key]["billed"] += line["billed"]
            if line["tokens"] is not None:
                summed[key]["tokens"] = (summed[key]["tokens"] or 0) + line["tokens"]
        else:
            summed[key] = dict(line)
    return sorted(summed.values(), key=lambda line: (line["day"], line["model"], line["token_class"]))
