"""Datasets built from the call log: a selection of calls, or the recent calls of a service
type. Each call becomes a row: ``prompt`` (its last user message), ``system`` (its system
prompt, or empty) and ``expected`` (the answer it got, to compare new answers with).

Only calls recorded with ``parley.privacy: store`` kept their prompt; any other call is
refused by name, so a dataset never holds a hash where a prompt should be.
"""
from __future__ import annotations

from typing import Any, Iterable

from core.errors import BadRequestError
from core.store.call_pages import CallQuery

__all__ = ["rows_from_calls", "call_ids_for_service", "COLUMNS", "MAX_CALLS"]

COLUMNS = ("prompt", "system", "expected")
MAX_CALLS = 500


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal: the text parts
        return "\n".join(part.get("text", "") for part in content
                         if isinstance(part, dict) and part.get("type") == "text")
    return ""


def rows_from_calls(store, call_ids: Iterable[str], *, as_user: str | None = None) -> list[dict[str, str]]:
    """One row per call id, in the order given; ``BadRequestError`` naming the first call
    that cannot become a row (unknown, not yours, or recorded without its prompt)."""
    ids = list(dict.fromkeys(call_ids))
    if not ids:
        raise BadRequestError("Select at least one call to build a dataset from.")
    if len(ids) > MAX_CALLS:
        raise BadRequestError(f"A dataset from calls holds at most {MAX_CALLS} calls; select fewer.")
    rows = []
    for call_id in ids:
        call = store.call(call_id, as_user=as_user)
        if call is None:
            raise BadRequestError(f"There is no call {call_id!r} you can see.")
        messages = call.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequestError(
                f"Call {call_id} kept no prompt (it was recorded with parley.privacy none or "
                "hash); only calls recorded with privacy: store can become dataset rows.")
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        systems = [m for m in messages if isinstance(m, dict) and m.get("role") == "system"]
        rows.append({"prompt": _text(users[-1]["content"]) if users else "",
                     "system": _text(systems[0]["content"]) if systems else "",
                     "expected": call.get("response") or ""})
    return rows


def call_ids_for_service(store, service_type: str, *, limit: int = 100,
                         as_user: str | None = None) -> list[str]:
    """The most recent successful calls of ``service_type`` (answers, not eval or judge calls)."""
    page = store.calls(CallQuery(services=(service_type,), status="success", limit=limit),
                       as_user=as_user)
    ids = [c["litellm_call_id"] for c in page["calls"]]
    if not ids:
        raise BadRequestError(f"No successful calls of service type {service_type!r} are recorded.")
    return ids
