"""JSON schemas from users, checked and applied within limits (jsonschema, made safe).

``SchemaBudget.take(schema, what)`` walks a schema without recursion and refuses, with one
sentence, a schema over the size, property or depth limits, a ``$ref`` that leaves the
document, or a ``pattern`` RE2 cannot compile. ``validate_schema`` checks a schema against its
metaschema; ``schema_errors`` validates an instance. Both run jsonschema with:

- a ``referencing.Registry`` whose ``retrieve`` refuses every URI: only references inside the
  schema resolve (jsonschema's default retrieval would fetch ``http://`` and ``file://``);
- ``pattern``, ``patternProperties`` and ``additionalProperties`` matched by RE2 (linear time);
- ``uniqueItems`` in linear time (jsonschema compares pairs of objects: quadratic);
- every keyword checking the thread's ``Deadline`` (core/bounded.py) before it runs, so an
  exponential schema (``anyOf`` over ``$ref`` chains) stops at the deadline.
"""
from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import referencing
import referencing.exceptions
from jsonschema.exceptions import ValidationError, best_match

from core.bounded import LimitExceeded, check_deadline, compile_pattern
from core.errors import BadRequestError

__all__ = ["MAX_ERROR_CHARS", "SchemaBudget", "schema_errors", "validate_schema"]

MAX_ERROR_CHARS = 300
_REFS = ("$ref", "$dynamicRef", "$recursiveRef")
_DATA_KEYS = ("enum", "const", "default", "examples")  # values there are data, not schemas


def _refuse(uri: str):
    raise BadRequestError(f"Parley does not fetch {uri[:100]!r}: a schema may refer ($ref) "
                          "only to its own parts (#/...).")


_NO_REMOTE = referencing.Registry(retrieve=_refuse)


class SchemaBudget:
    """What is left of a call's allowance of schema nodes and properties; ``take`` spends it."""

    def __init__(self, nodes: int, properties: int, depth: int):
        self.max_nodes, self.max_properties, self.max_depth = nodes, properties, depth
        self.nodes = self.properties = 0
        self.taken: list[tuple[dict, str]] = []

    def take(self, schema: Any, what: str) -> None:
        """Walk ``schema`` (iteratively); ``LimitExceeded`` or ``BadRequestError`` naming the
        first problem."""
        self.taken.append((schema, what))
        stack: list[tuple[Any, int, str | None]] = [(schema, 1, None)]
        self._seen: set[str] = set()
        while stack:
            value, depth, key = stack.pop()
            self.nodes += 1
            if self.nodes > self.max_nodes:
                raise LimitExceeded(f"The call's schemas hold more than {self.max_nodes:,} JSON "
                                    "values together (the limit); send smaller schemas or fewer tools.")
            if depth > self.max_depth:
                raise LimitExceeded(f"{what}: the schema is nested more than {self.max_depth} "
                                    "levels deep (the limit); flatten it.")
            if isinstance(value, dict):
                self._check_keywords(value, key, what)
                stack.extend((v, depth + 1, k) for k, v in value.items())
            elif isinstance(value, list):
                stack.extend((v, depth + 1, key) for v in value)
        if {"unevaluatedProperties", "patternProperties"} <= self._seen:
            # jsonschema matches these two together with Python's backtracking re
            raise BadRequestError(f"{what} uses unevaluatedProperties with patternProperties, "
                                  "which Parley cannot check safely; use additionalProperties.")

    def _check_keywords(self, schema: dict, parent: str | None, what: str) -> None:
        if parent in _DATA_KEYS:
            return
        if isinstance(schema.get("properties"), dict) and parent != "properties":
            self.properties += len(schema["properties"])
            if self.properties > self.max_properties:
                raise LimitExceeded(f"The call's schemas define more than {self.max_properties:,} "
                                    "properties together (the limit); send smaller schemas or fewer tools.")
        if parent == "properties":
            return
        self._seen.update(k for k in ("unevaluatedProperties", "patternProperties") if k in schema)
        for ref in _REFS:
            target = schema.get(ref)
            if isinstance(target, str) and not target.startswith("#"):
                raise BadRequestError(f"{what}: the schema refers to {target[:100]!r} ({ref}); "
                                      "Parley resolves only references inside the schema "
                                      "(#/...) and fetches nothing.")
        if isinstance(schema.get("pattern"), str):
            compile_pattern(schema["pattern"], what)
        if isinstance(schema.get("patternProperties"), dict):
            for pattern in schema["patternProperties"]:
                compile_pattern(pattern, what)


def validate_schema(schema: dict, what: str, sentence: str = "{what} is not a valid JSON schema: {problem}.") -> None:
    """``BadRequestError`` (``sentence``, formatted) if ``schema`` does not follow its metaschema. Results are kept for
    the last 256 distinct schemas: clients send the same tools with every request, and the
    2020-12 metaschema costs about half a millisecond per property."""
    try:
        problem = _metaschema_problem(json.dumps(schema, sort_keys=True))
    except RecursionError:
        raise LimitExceeded(f"{what}: the schema is nested too deeply to check.") from None
    if problem is not None:
        raise BadRequestError(sentence.format(what=what, problem=problem))


@functools.lru_cache(maxsize=256)
def _metaschema_problem(text: str) -> str | None:
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    meta = _bounded(cls)(cls.META_SCHEMA, format_checker=cls.FORMAT_CHECKER, registry=_NO_REMOTE)
    error = best_match(meta.iter_errors(schema))
    return None if error is None else _short(error.message)


def schema_errors(instance: Any, schema: dict, limit: int) -> list[str]:
    """At most ``limit`` sentences saying where ``instance`` breaks ``schema`` ([] if valid);
    a schema that cannot be applied in time, or refers outside itself, gives one sentence."""
    try:
        validator = _bounded(jsonschema.validators.validator_for(schema))(schema, registry=_NO_REMOTE)
        found = list(itertools.islice(validator.iter_errors(instance), 100))
    except BadRequestError as exc:  # LimitExceeded, or a pattern RE2 cannot compile
        return [str(exc)]
    except RecursionError:
        return ["The answer or its schema is nested too deeply to check."]
    except referencing.exceptions.Unresolvable as exc:
        return [f"The schema refers to something that is not in it ({_short(str(exc))}); "
                "only references inside the schema (#/...) resolve."]
    found.sort(key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'/'.join(map(str, e.absolute_path)) or '(answer)'}: {_short(e.message)}"
            for e in found[:limit]]


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 1] + "…"


@functools.lru_cache(maxsize=16)
def _bounded(cls: type) -> type:
    """``cls`` with RE2 patterns, linear uniqueItems and a deadline check in every keyword."""
    keywords = dict(cls.VALIDATORS)
    for name, keyword in _SAFE_KEYWORDS.items():
        if name in keywords:
            keywords[name] = keyword
    return jsonschema.validators.extend(cls, {n: _checking_deadline(k) for n, k in keywords.items()})


def _checking_deadline(keyword: Callable) -> Callable:
    def checked(validator, value, instance, schema) -> Iterator[ValidationError]:
        check_deadline()
        errors = keyword(validator, value, instance, schema)
        if errors is not None:
            yield from errors

    return checked


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and \
            compile_pattern(pattern, "The schema").search(instance) is None:
        yield ValidationError(f"{_short(repr(instance))} does not match {pattern!r}")


def _pattern_properties(validator, patterns, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        regex = compile_pattern(pattern, "The schema")
        for key, value in instance.items():
            if regex.search(key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator, allowed, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = [compile_pattern(p, "The schema") for p in schema.get("patternProperties", {})]
    extras = [k for k in instance
              if k not in properties and not any(p.search(k) is not None for p in patterns)]
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        shown = ", ".join(repr(e) for e in sorted(extras, key=str)[:10])
        yield ValidationError(_short(f"Additional properties are not allowed ({shown} "
                                     f"{'was' if len(extras) == 1 else 'were'} unexpected)"))


def _unique_items(validator, unique, instance, schema):
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[str] = set()
    for item in instance:
        key = json.dumps(_canonical(item), sort_keys=True)
        if key in seen:
            yield ValidationError("The array has non-unique elements")
            return
        seen.add(key)


def _canonical(value: Any) -> Any:
    """JSON equality as jsonschema means it: 1 == 1.0, true != 1, key order ignored."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


_SAFE_KEYWORDS = {"pattern": _pattern, "patternProperties": _pattern_properties,
                  "additionalProperties": _additional_properties, "uniqueItems": _unique_items}
