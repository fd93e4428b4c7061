"""Fan-out of one prompt to two to four column configurations, concurrently.

A column is a ``ColumnConfig``: a configured model and its settings (temperature, max
tokens, system prompt); the same model may appear in several columns with different
settings. Two ways to run one:

- ``compare_columns(service, prompt, columns)``: awaitable, one ``GenerationResult`` per
  column (``AIService.compare`` uses it); a failed column's result carries ``.error``.
- ``FanOut(service, prompt, columns, ...).start()``: for a synchronous UI. Every column
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
from typing import Any, Iterable, Iterator

from core.attachments import check_attachments
from core.calls import check_call
from core.errors import BadRequestError, ParleyError
from core.results import GenerationResult
from core.structured import check_structured

__all__ = ["ColumnConfig", "ColumnEvent", "FanOut", "compare_columns", "check_columns",
           "MAX_COLUMNS"]

log = logging.getLogger("parley")

MAX_COLUMNS = 4
_STRUCTURED = ("tools", "tool_choice", "response_format", "reasoning_effort")


@dataclass(frozen=True)
class ColumnConfig:
    """One column of a comparison: which model, with which settings (None = the model's own)."""

    model: str
    temperature: float | None = None
    max_tokens: int | None = None
    system_prompt: str | None = None
    tools: list | None = None  # core/structured.py: what this column's model may call
    tool_choice: Any = None
    response_format: dict | None = None
    reasoning_effort: str | None = None

    @classmethod
    def of(cls, value: "str | dict | ColumnConfig", **defaults: Any) -> "ColumnConfig":
        """A column from a model name, a dict of these fields, or a column; ``defaults``
        fill the settings the value leaves unset."""
        if isinstance(value, ColumnConfig):
            fields = value.to_json()
        elif isinstance(value, str):
            fields = {"model": value}
        elif isinstance(value, dict):
            unknown = set(value) - {"model", "temperature", "max_tokens", "system_prompt", *_STRUCTURED}
            if unknown:
                raise BadRequestError(f"A column has no setting {', '.join(sorted(unknown))}; "
                                      "use model, temperature, max_tokens, system_prompt, "
                                      f"{', '.join(_STRUCTURED)}.")
            fields = dict(value)
        else:
            raise BadRequestError(f"A column is a model name or its settings, not {value!r}.")
        for key, default in defaults.items():
            if fields.get(key) is None:
                fields[key] = default
        if not isinstance(fields.get("model"), str) or not fields["model"]:
            raise BadRequestError("Each column needs a model name.")
        return cls(fields["model"], fields.get("temperature"), fields.get("max_tokens"),
                   fields.get("system_prompt") or None, *(fields.get(key) for key in _STRUCTURED))

    def label(self) -> str:
        """``gemini · t=0.7 · max 512 · system prompt``: the settings that differ from defaults."""
        parts = [self.model]
        if self.temperature is not None:
            parts.append(f"t={self.temperature:g}")
        if self.max_tokens is not None:
            parts.append(f"max {self.max_tokens}")
        if self.system_prompt:
            parts.append("system prompt")
        if self.tools:
            parts.append(f"{len(self.tools)} tool{'s' if len(self.tools) > 1 else ''}")
        if self.response_format:
            parts.append("schema")
        if self.reasoning_effort:
            parts.append(f"reasoning {self.reasoning_effort}")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        fields = {"model": self.model, "temperature": self.temperature,
                  "max_tokens": self.max_tokens, "system_prompt": self.system_prompt}
        fields.update({key: getattr(self, key) for key in _STRUCTURED if getattr(self, key) is not None})
        return fields

    def structured(self) -> dict[str, Any]:
        """This column's tools, tool_choice, response_format and reasoning_effort, as keywords."""
        return {key: getattr(self, key) for key in _STRUCTURED}


def check_columns(columns: Iterable, catalog, **defaults: Any) -> list[ColumnConfig]:
    """The columns as ``ColumnConfig``s, or ``BadRequestError`` (one to ``MAX_COLUMNS``
    columns, each a configured model, settings in range); nothing is sent on error."""
    unknown = set(defaults) - {"temperature", "max_tokens", "system_prompt"}
    if unknown:
        raise BadRequestError(f"Compare takes no option {', '.join(sorted(unknown))}; columns "
                              "set temperature, max_tokens and system_prompt.")
    checked = [ColumnConfig.of(value, **defaults) for value in columns]
    if not 1 <= len(checked) <= MAX_COLUMNS:
        raise BadRequestError(f"Compare one to {MAX_COLUMNS} columns, not {len(checked)}.")
    for column in checked:
        catalog.get(column.model)
        check_call("-", column.temperature, column.max_tokens, "-")  # the settings' checks only
        if column.system_prompt is not None and not isinstance(column.system_prompt, str):
            raise BadRequestError("A column's system prompt must be text.")
        check_structured(**column.structured())
    return checked


def _failed(column: ColumnConfig, err: ParleyError) -> GenerationResult:
    return GenerationResult(model=column.model, served_by=column.model, error=str(err),
                            error_kind=err.kind)


async def compare_columns(service, prompt: str, columns: list, user_id: str = "anonymous",
                          service_type: str = "playground", *, fallbacks: bool = False,
                          metadata: dict | None = None, attachments: list | None = None,
                          **defaults: Any) -> list[GenerationResult]:
    """One result per column, all requested at once; a column that fails carries ``.error``
    (a column whose model cannot read the ``attachments`` says so). Bad input (no columns, an
    unknown model, an empty prompt, a bad attachment) raises before anything is sent."""
    checked = check_columns(columns, service.catalog, **defaults)
    check_call(prompt, None, None, user_id)
    attachments = check_attachments(attachments)

    async def one(index: int, column: ColumnConfig) -> GenerationResult:
        try:
            return await service.generate(
                prompt, user_id, service_type, model=column.model,
                system_prompt=column.system_prompt, temperature=column.temperature,
                max_tokens=column.max_tokens, fallbacks=fallbacks,
                metadata={**(metadata or {}), "column": index}, attachments=attachments,
                **column.structured())
        except ParleyError as err:
            return _failed(column, err)
    return list(await asyncio.gather(*(one(i, c) for i, c in enumerate(checked))))


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

    def __init__(self, service, prompt: str | None, columns: list, *, user_id: str,
                 histories: list[list[dict]] | None = None, service_type: str = "playground",
                 metadata: dict | None = None, fallbacks: bool = True,
                 attachments: list | None = None):
        self.columns = check_columns(columns, service.catalog)
        if prompt is not None or not histories:  # None: every column continues after tool results
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
