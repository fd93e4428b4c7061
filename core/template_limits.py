"""Jinja2's sandbox, bounded in time and size: a template from a user cannot stall the
server or fill its memory.

Jinja's ``SandboxedEnvironment`` keeps a template away from Python internals, but not from
``{% for i in range(100000) %}{% for j in range(100000) %}`` (ten billion steps) or
``{{ 'a' * 200000000 }}``. ``BoundedSandbox`` adds:

- time: ``generate_bounded`` traces the template's own code (its compiled frames, file
  ``<template>``) and calls ``core.bounded.check_deadline()`` on every line it runs, so every
  loop, however it is written, stops at the deadline the caller set (``Deadline``);
- size: every value the template builds (operators, filters, calls, ``~``) is checked against
  ``MAX_RENDERED_CHARS``, before it is built when its size can be known in advance (``'a' * n``,
  ``x ** n``, a width given to ``center``/``format``/``ljust``, ``replace``), after otherwise;
  the output is counted as it is generated;
- ``range`` gives at most ``MAX_RANGE`` numbers.

Each refusal is ``LimitExceeded`` naming the limit. The tracing is per thread (``sys.settrace``),
restored afterwards, and costs a few microseconds per template line.
"""
from __future__ import annotations

import functools
import inspect
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import SandboxedEnvironment

from core.bounded import LimitExceeded, check_deadline

__all__ = [
    "MAX_INT_DIGITS",
    "MAX_RANGE",
    "MAX_RENDERED_CHARS",
    "RENDER_SECONDS",
    "BoundedSandbox",
    "generate_bounded",
]

MAX_RENDERED_CHARS = 4_000_000  # about the API's 4 MB body limit; more than any context window
RENDER_SECONDS = 2.0
MAX_RANGE = 10_000
MAX_INT_DIGITS = 4_300  # Python's own limit for turning an int into text
_TEMPLATE_FILE = "<template>"
_HUGE_WIDTH = re.compile(r"%[-+ #0]*\d{7,}|\{[^{}]*:[^{}]*\d{7,}[^{}]*\}")


def _too_big(size: int) -> LimitExceeded:
    return LimitExceeded(f"the template would build text of {size:,} characters, over the "
                         f"{MAX_RENDERED_CHARS:,}-character limit.")


def _sized(value: Any) -> Any:
    """``value``, unless it is text or a collection over the size limit."""
    if isinstance(value, (str, list, tuple, dict, set)) and len(value) > MAX_RENDERED_CHARS:
        raise _too_big(len(value))
    if isinstance(value, int) and not isinstance(value, bool) \
            and value.bit_length() > MAX_INT_DIGITS * 3.33:
        raise LimitExceeded(f"the template built a number of more than {MAX_INT_DIGITS:,} digits.")
    return value


def _check_args(args: tuple, kwargs: Mapping[str, Any]) -> None:
    """Refuse a width or count above the size limit, before a call pads text to it."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_RENDERED_CHARS:
            raise _too_big(value)
        if isinstance(value, str) and _HUGE_WIDTH.search(value):
            raise LimitExceeded("the template asks for a field width over "
                                f"{MAX_RENDERED_CHARS:,} characters.")


def _check_replace(text: Any, old: Any, new: Any, count: Any = None) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        found = len(text) + 1 if old == "" else text.count(old)
        if isinstance(count, int) and count >= 0:
            found = min(found, count)
        size = len(text) + found * (len(new) - len(old))
        if size > MAX_RENDERED_CHARS:
            raise _too_big(size)


def _check_binop(operator: str, left: Any, right: Any) -> None:
    numbers = (int, float)
    if operator == "*":
        count, item = (right, left) if isinstance(right, int) else (left, right)
        if isinstance(item, (str, list, tuple)) and isinstance(count, int):
            _sized_estimate(len(item) * max(count, 0))
        elif isinstance(left, int) and isinstance(right, int):
            if abs(left).bit_length() + abs(right).bit_length() > MAX_INT_DIGITS * 3.33:
                raise LimitExceeded(f"the template would build a number of more than "
                                    f"{MAX_INT_DIGITS:,} digits.")
    elif operator == "**" and isinstance(left, numbers) and isinstance(right, numbers):
        if isinstance(left, int) and isinstance(right, int) and right > 0 \
                and abs(left).bit_length() * right > MAX_INT_DIGITS * 3.33:
            raise LimitExceeded(f"the template would build a number of more than "
                                f"{MAX_INT_DIGITS:,} digits.")
    elif operator == "%" and isinstance(left, str) and _HUGE_WIDTH.search(left):
        raise LimitExceeded("the template asks for a field width over "
                            f"{MAX_RENDERED_CHARS:,} characters.")
    elif operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, type(left)):
        _sized_estimate(len(left) + len(right))


def _sized_estimate(size: int) -> None:
    if size > MAX_RENDERED_CHARS:
        raise _too_big(size)


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise LimitExceeded(f"range() in a template gives at most {MAX_RANGE:,} numbers, "
                            f"not {len(numbers):,}.")
    return numbers


def _bounded_filter(name: str, fn: Callable) -> Callable:
    """``fn`` with its arguments and result checked; Jinja's pass_* markers kept."""
    @functools.wraps(fn)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        check_deadline()
        _check_args(args, kwargs)
        if name == "replace":
            plain = [a for a in args if not isinstance(a, (jinja2.runtime.Context, jinja2.Environment))]
            _check_replace(*plain[:4])
        return _sized(fn(*args, **kwargs))

    return bounded


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with ``a ~ b`` (concatenation) size-checked like the rest."""

    def visit_Concat(self, node, frame) -> None:
        self.write("environment.sized(")
        super().visit_Concat(node, frame)
        self.write(")")


class BoundedSandbox(SandboxedEnvironment):
    """The sandbox with size checks on every operator, filter, call and concatenation; see the
    module docstring. Time is bounded by ``generate_bounded``, which renders with it."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.globals["range"] = _bounded_range
        self.filters = {name: _bounded_filter(name, fn) for name, fn in self.filters.items()}

    @staticmethod
    def sized(value: Any) -> Any:
        return _sized(value)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        check_deadline()
        _check_binop(operator, left, right)
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args: Any, **kwargs: Any) -> Any:
        check_deadline()
        _check_args(args, kwargs)
        bound_to = getattr(inspect.unwrap(__obj), "__self__", None)
        if isinstance(bound_to, str) and getattr(__obj, "__name__", "") == "replace":
            _check_replace(bound_to, *args[:3])
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any):
        bound_to = getattr(value, "__self__", None)
        if isinstance(bound_to, str) and _HUGE_WIDTH.search(bound_to):
            raise LimitExceeded("the template asks for a field width over "
                                f"{MAX_RENDERED_CHARS:,} characters.")
        return super().wrap_str_format(value)


def generate_bounded(template: jinja2.Template, variables: Mapping[str, Any]) -> str:
    """The rendered text, generated piece by piece: ``LimitExceeded`` past
    ``MAX_RENDERED_CHARS`` or past this thread's ``Deadline`` (checked on every line of the
    template's code)."""
    previous = sys.gettrace()
    sys.settrace(_trace_template_frames)
    try:
        pieces, size = [], 0
        for piece in _pieces(template, variables):
            size += len(piece)
            if size > MAX_RENDERED_CHARS:
                raise _too_big(size)
            pieces.append(piece)
        return "".join(pieces)
    finally:
        sys.settrace(previous)


def _pieces(template: jinja2.Template, variables: Mapping[str, Any]) -> Iterator[str]:
    yield from template.generate(**variables)


def _trace_template_frames(frame, event: str, arg: Any):
    """The global trace: only the template's own code is traced line by line."""
    if frame.f_code.co_filename == _TEMPLATE_FILE:
        check_deadline()
        return _trace_lines
    return None


def _trace_lines(frame, event: str, arg: Any):
    if event == "line":
        check_deadline()
    return _trace_lines
