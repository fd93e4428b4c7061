"""How much of a request a model can take: the request's token bound, chat history trimmed to
the model's window, and a cache of token counts.

Counting is the one costly step before a call (a tokenizer over up to 2M characters), so
``CountCache`` remembers recent counts (a page that re-estimates the same prompt on every
rerun counts it once), and ``AIService`` runs these checks on a worker thread for large
requests, so the event loop every session shares keeps streaming other users' answers.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict

from core.catalog import ModelEntry
from core.errors import BadRequestError

__all__ = ["CountCache", "check_request_tokens", "fit_history", "byte_ceiling"]

_TOKENS_PER_MESSAGE = 8  # as core.routing._tokens_over
_TEMPLATE_TOKENS = 64


def byte_ceiling(messages: list[dict]) -> int:
    """An upper bound of the tokens ``messages`` can hold (no tokenizer makes more tokens than
    UTF-8 bytes, plus each message's framing): below a limit, nothing needs counting."""
    return _TEMPLATE_TOKENS + sum(_TOKENS_PER_MESSAGE + len(str(m.get("content") or "").encode())
                                  for m in messages)


def check_request_tokens(entry: ModelEntry, messages: list[dict], limit: int | None,
                         count) -> None:
    """``BadRequestError`` naming ``parley.max_request_tokens`` when the whole request (system
    prompt, history and prompt) is more tokens than ``limit``; None: no limit of Parley's own
    (the model's context window still applies)."""
    if limit is None or byte_ceiling(messages) <= limit:
        return
    tokens = count(entry, messages)
    if tokens > limit:
        raise BadRequestError(f"This request is {tokens:,} tokens (system prompt, history and "
                              f"prompt together); the limit is {limit:,} "
                              "(parley.max_request_tokens). Shorten it or start a new conversation.")


def fit_history(messages: list[dict], entry: ModelEntry, count) -> tuple[list[dict], int]:
    """``messages`` with the oldest earlier turns left out until they fit ``entry``'s context
    window, and how many turns were left out. The system prompt and the new prompt are always
    kept (if they alone do not fit, the context check says so); a model with an unknown window
    is passed through."""
    window = entry.context_window
    if not window or byte_ceiling(messages) <= window:
        return messages, 0
    head = messages[:1] if messages[0]["role"] == "system" else []
    turns, prompt = messages[len(head):-1], messages[-1:]
    dropped = 0
    while turns and count(entry, head + turns + prompt) > window:
        cut = 2 if len(turns) > 1 and turns[0]["role"] == "user" else 1  # a question and its answer
        turns, dropped = turns[cut:], dropped + cut
    return head + turns + prompt, dropped


class CountCache:
    """Token counts by (model, messages), the ``size`` most recent kept; thread-safe. Keys are
    digests, so a 2M-character prompt is not held twice."""

    def __init__(self, count, size: int = 256):
        self._count, self._size = count, size
        self._seen: OrderedDict[tuple[str, bytes], int] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, entry: ModelEntry, messages: list[dict]) -> int:
        text = json.dumps(messages, ensure_ascii=False, sort_keys=True)
        key = (entry.provider_model,
               hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest())
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return self._seen[key]
        tokens = self._count(entry, messages)
        with self._lock:
            self._seen[key] = tokens
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
        return tokens
