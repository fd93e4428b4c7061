"""Fan-out of one prompt to two to four column configurations, concurrently.

A column is a ``core.validation.ColumnConfig``: a configured model and its settings
(temperature, max tokens, system prompt); the same model may appear in several columns with
different settings. ``AIService.compare`` answers every column at once, awaitably; for a
synchronous UI, ``FanOut(service, prompt, columns, ...).start()`` streams them. Every column
  streams on the service's loop thread at the same time; ``events()`` yields
  ``ColumnEvent``s from a thread-safe queue in the order they arrive (text deltas, then one
  ``result`` or ``error`` per column), so one slow column never holds back another.
  ``cancel()`` stops the columns still running (their calls are recorded as abandoned).

Every call is recorded by the service like any other, with ``service_type="playground"``
unless told otherwise, and ``metadata`` naming the comparison and the column.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import time
from dataclasses import dataclass
from typing import Iterator

from core.attachments import check_attachments
from core.validation import ColumnConfig, check_call, check_columns
from core.errors import BadRequestError, ParleyError
from core.results import GenerationResult

__all__ = ["ColumnEvent", "FanOut", "continue_with_tool_results"]

log = logging.getLogger("parley")


def _failed(column: ColumnConfig, err: ParleyError) -> GenerationResult:
    return GenerationResult.failed(column.model, err)


@dataclass
class ColumnEvent:
    """Something that happened in one column: ``kind`` is ``delta`` (``text`` arrived),
    ``result`` (the column finished; ``result`` set), ``error`` (the column failed;
    ``result.error`` is its one-line message) or ``tick`` (column -1: time passed, see
    ``FanOut.events``). ``elapsed_ms`` counts from the fan-out's start."""

    column: int
    kind: str
    elapsed_ms: float
    text: str = ""
    result: GenerationResult | None = None

    @property
    def final(self) -> bool:
        return self.kind in ("result", "error")


class FanOut:
    """Every column streaming at once on the service's loop thread, read through ``events()``.

    ``histories[i]`` is column i's earlier turns (``[{"role", "content"}, ...]``), so each
    column keeps its own conversation. ``results[i]`` is set when column i has finished."""

    def __init__(self, service, prompt: str, columns: list, *, user_id: str,
                 histories: list[list[dict]] | None = None, service_type: str = "playground",
                 metadata: dict | None = None, fallbacks: bool = True,
                 attachments: list | None = None):
        self.columns = check_columns(columns, service.catalog)
        check_call(prompt, None, None, user_id)
        self.attachments = check_attachments(attachments)
        if histories is not None and len(histories) != len(self.columns):
            raise BadRequestError("Give one history per column (an empty list for none).")
        self.service, self.prompt, self.user_id = service, prompt, user_id
        self.histories = histories or [[] for _ in self.columns]
        self.service_type, self.metadata, self.fallbacks = service_type, dict(metadata or {}), fallbacks
        self.results: list[GenerationResult | None] = [None] * len(self.columns)
        self._events: queue.Queue[ColumnEvent] = queue.Queue()
        self._future = None
        self._started = 0.0

    def start(self) -> "FanOut":
        """Start every column now; returns at once."""
        self._started = time.perf_counter()
        self._future = self.service.submit(self._run_all())
        return self

    def events(self, poll_seconds: float = 0.5, *, ticks: bool = False) -> Iterator[ColumnEvent]:
        """Events as they arrive, until every column has finished. With ``ticks``, a
        ``tick`` event (column -1) comes whenever ``poll_seconds`` pass without one, so a
        reader can show time passing (and a Streamlit script can be interrupted). Safe to
        stop early (then call ``cancel()``). Raises whatever broke the fan-out itself."""
        remaining = len(self.columns)
        while remaining:
            try:
                event = self._events.get(timeout=poll_seconds)
            except queue.Empty:
                if self._future is not None and self._future.done() and self._events.empty():
                    self._future.result()  # raises what ended the run early
                    return
                if ticks:
                    yield ColumnEvent(-1, "tick", self._elapsed())
                continue
            remaining -= event.final
            yield event
        if self._future is not None:
            self._future.result()  # every column has reported; let the run itself end

    def wait(self) -> list[GenerationResult]:
        """Drain every event; the results, one per column."""
        for _ in self.events():
            pass
        return [r for r in self.results if r is not None]

    def cancel(self) -> None:
        """Stop the columns still streaming; each is recorded as abandoned."""
        if self._future is not None and not self._future.done():
            self._future.cancel()

    # -- on the loop thread --------------------------------------------------------------

    def _elapsed(self) -> float:
        return (time.perf_counter() - self._started) * 1000

    def _emit(self, column: int, kind: str, text: str = "",
              result: GenerationResult | None = None) -> None:
        if result is not None:
            self.results[column] = result
        self._events.put(ColumnEvent(column, kind, self._elapsed(), text, result))

    async def _run_all(self) -> None:
        await asyncio.gather(*(self._run_column(i) for i in range(len(self.columns))))

    async def _run_column(self, index: int) -> None:
        column = self.columns[index]
        stream = self.service.stream(
            self.prompt, self.user_id, self.service_type, model=column.model,
            system_prompt=column.system_prompt, metadata={**self.metadata, "column": index},
            temperature=column.temperature, max_tokens=column.max_tokens,
            history=self.histories[index], fallbacks=self.fallbacks,
            attachments=self.attachments, **column.structured())
        try:
            async for item in stream:
                if isinstance(item, str):
                    self._emit(index, "delta", item)
                else:
                    self._emit(index, "result", result=item)
        except ParleyError as err:
            self._emit(index, "error", result=_failed(column, err))
        except Exception as exc:  # one broken column must not take the others down
            log.exception("compare column %s (%s) failed unexpectedly", index, column.model)
            self._emit(index, "error", result=_failed(column, ParleyError(
                f"{column.model} failed unexpectedly ({type(exc).__name__}); try again.")))


def continue_with_tool_results(service, comparison, column: int, results: dict[str, str], *,
                               user_id: str, metadata: dict | None = None) -> GenerationResult:
    """Send ``column``'s tool results (call id -> text) to its model with the column's settings,
    keep them and the answer that follows on the comparison, and return that answer (a failed
    one carries ``.error``). ``BadRequestError`` if a call has no result."""
    config = comparison.columns[column]
    history = comparison.tool_history(column, results)
    try:
        result = service.generate_sync(
            None, user_id=user_id, service_type="playground", model=config.model,
            system_prompt=config.system_prompt, temperature=config.temperature,
            max_tokens=config.max_tokens, history=history, fallbacks=False,
            metadata={**(metadata or {}), "column": column, "tool_results": len(results)},
            **config.structured())
    except ParleyError as err:
        result = GenerationResult.failed(config.model, err)
    comparison.add_tool_results(column, results, result)
    return result
