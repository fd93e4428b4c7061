"""Tools, tool choice, structured output and reasoning effort: checked before a call is sent,
and the answer judged against them after.

``check_structured(...)`` returns a ``Structured`` (or raises ``BadRequestError`` with one
sentence): tools in OpenAI's shape (``{"type": "function", "function": {"name", "description",
"parameters"}}``, each ``parameters`` a valid JSON schema), ``tool_choice`` ("auto", "none",
"required" or ``{"type": "function", "function": {"name"}}`` naming an offered tool),
``response_format`` (``{"type": "json_schema", "json_schema": {"name", "schema"}}``,
``{"type": "json_object"}`` or ``{"type": "text"}``) and ``reasoning_effort``. LiteLLM
translates each for Anthropic and Gemini.

``judge(result, structured)`` fills the result: each tool call's arguments parsed and marked
``valid`` against its tool's schema (``errors`` say why not), and ``json_valid`` /
``json_errors`` for the answer against the requested schema. ``await judge_bounded(...)`` does
the same on a worker thread, off the event loop.

Schemas come from callers, so they are bounded (core/bounded.py): together a call's schemas
hold at most ``MAX_SCHEMA_NODES`` JSON values and ``MAX_SCHEMA_PROPERTIES`` properties, nest at
most ``MAX_SCHEMA_DEPTH`` deep, and refer (``$ref``) only inside themselves (``#/...``):
nothing is ever fetched. ``pattern`` and ``patternProperties`` are matched by RE2 in linear
time. Checking an answer stops after ``CHECK_SECONDS`` and says so in its errors.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from core.bounded import Deadline, LimitExceeded, run_off_loop
from core.errors import BadRequestError
from core.schema_limits import SchemaBudget, schema_errors, validate_schema

__all__ = ["Structured", "check_structured", "check_schema", "judge", "judge_bounded",
           "schema_errors", "REASONING_EFFORTS", "MAX_TOOLS", "MAX_SCHEMA_NODES",
           "MAX_SCHEMA_PROPERTIES", "MAX_SCHEMA_DEPTH", "CHECK_SECONDS"]

REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high")
MAX_TOOLS = 128  # OpenAI's own limit
MAX_SCHEMA_NODES = 20_000  # JSON values in all of a call's schemas together
MAX_SCHEMA_PROPERTIES = 2_000  # properties in all of a call's schemas together
MAX_SCHEMA_DEPTH = 32  # nested objects and arrays in one schema
CHECK_SECONDS = 2.0  # judging one answer and its tool calls
MAX_ERRORS = 5
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Structured:
    """What a call asks beyond text; ``litellm_kwargs()`` is what the gateway sends."""

    tools: list[dict] = field(default_factory=list)
    tool_choice: Any = None
    response_format: dict | None = None
    reasoning_effort: str | None = None

    def litellm_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.tools:
            kwargs["tools"] = self.tools
        if self.tool_choice is not None:
            kwargs["tool_choice"] = self.tool_choice
        if self.response_format is not None:
            kwargs["response_format"] = self.response_format
        if self.reasoning_effort is not None:
            kwargs["reasoning_effort"] = self.reasoning_effort
        return kwargs

    @property
    def schema(self) -> dict | None:
        """The JSON schema the answer must match (None when none was asked)."""
        if (self.response_format or {}).get("type") == "json_schema":
            return self.response_format["json_schema"]["schema"]
        return None


def check_structured(tools: Any = None, tool_choice: Any = None, response_format: Any = None,
                     reasoning_effort: Any = None) -> Structured:
    """The options as a ``Structured``, or ``BadRequestError`` naming the first problem
    (``LimitExceeded`` for schemas over the size limits)."""
    budget = _budget()
    checked = _check_tools(tools, budget)
    if tool_choice is not None:
        _check_tool_choice(tool_choice, {t["function"]["name"] for t in checked})
    if response_format is not None:
        _check_response_format(response_format, budget)
    with Deadline(CHECK_SECONDS, "checking the call's schemas"):
        for schema, what in budget.taken:  # every schema was measured first: cheap refusals first
            validate_schema(schema, what)
    if reasoning_effort is not None and reasoning_effort not in REASONING_EFFORTS:
        raise BadRequestError(f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)}, "
                              f"not {reasoning_effort!r}.")
    return Structured(checked, tool_choice, response_format, reasoning_effort)


def judge(result, structured: Structured) -> None:
    """Mark ``result``'s tool calls and JSON answer valid or not (in place), within
    ``CHECK_SECONDS`` (past it, the errors say so). Runs on the calling thread: from a
    coroutine, await ``judge_bounded`` instead."""
    with Deadline(CHECK_SECONDS, "checking the answer against its schema"):
        _judge(result, structured)


async def judge_bounded(result, structured: Structured) -> None:
    """``judge`` on a worker thread, off the event loop. Never raises for a costly schema: an
    answer that could not be checked in time is marked invalid, saying so."""
    if not structured.tools and structured.schema is None \
            and (structured.response_format or {}).get("type") != "json_object":
        return
    try:
        await run_off_loop(judge, result, structured, seconds=CHECK_SECONDS,
                           what="checking the answer against its schema")
    except LimitExceeded as exc:
        result.json_valid, result.json_errors = False, [str(exc)]


def _judge(result, structured: Structured) -> None:
    schemas = {t["function"]["name"]: t["function"].get("parameters") or {} for t in structured.tools}
    result.tool_calls = [_judged_call(call, schemas) for call in result.tool_calls]
    kind = (structured.response_format or {}).get("type")
    if kind not in ("json_schema", "json_object") or not result.ok:
        return
    try:
        answer = json.loads(result.content)
    except ValueError:
        result.json_valid, result.json_errors = False, ["The answer is not JSON."]
        return
    if kind == "json_object":
        ok = isinstance(answer, dict)
        result.json_valid, result.json_errors = ok, [] if ok else ["The answer is JSON but not an object."]
        return
    result.json_errors = _errors(answer, structured.schema)
    result.json_valid = not result.json_errors


def _judged_call(call: dict, schemas: dict[str, dict]) -> dict:
    raw = call.get("arguments")
    judged = {"id": call.get("id"), "name": call.get("name"), "arguments": raw, "valid": False, "errors": []}
    if call.get("name") not in schemas:
        judged["errors"] = [f"The model called {call.get('name')!r}, a tool it was not offered."]
        return judged
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        judged["errors"] = ["The arguments are not JSON."]
        return judged
    judged["arguments"] = arguments
    judged["errors"] = _errors(arguments, schemas[call["name"]])
    judged["valid"] = not judged["errors"]
    return judged


def _errors(instance: Any, schema: dict) -> list[str]:
    return schema_errors(instance, schema, MAX_ERRORS)


def _budget() -> SchemaBudget:
    return SchemaBudget(MAX_SCHEMA_NODES, MAX_SCHEMA_PROPERTIES, MAX_SCHEMA_DEPTH)


def check_schema(schema: Any, what: str, budget: SchemaBudget | None = None, *,
                 sentence: str = "{what} is not a valid JSON schema: {problem}.") -> None:
    """``BadRequestError`` unless ``schema`` is a valid JSON schema within the limits, its
    patterns usable by RE2 and its references all inside itself. With a ``budget`` (shared by
    a call's schemas) it is only measured and kept in ``budget.taken`` for validating later."""
    if not isinstance(schema, dict):
        raise BadRequestError(f"{what} must be a JSON schema (an object).")
    (budget or _budget()).take(schema, what)
    if budget is None:
        with Deadline(CHECK_SECONDS, f"checking {what}"):
            validate_schema(schema, what, sentence)


def _check_tools(tools: Any, budget: SchemaBudget) -> list[dict]:
    if tools is None:
        return []
    if not isinstance(tools, list) or not 1 <= len(tools) <= MAX_TOOLS:
        raise BadRequestError(f"tools must be a list of 1 to {MAX_TOOLS} tool definitions.")
    names: set[str] = set()
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if not isinstance(function, dict):
            raise BadRequestError('Each tool is {"type": "function", "function": {"name", "parameters"}}.')
        name = function.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            raise BadRequestError(f"Tool name {name!r} must be 1-64 letters, digits, _ or -.")
        if name in names:
            raise BadRequestError(f"Two tools are named {name}.")
        names.add(name)
        check_schema(function.get("parameters", {"type": "object", "properties": {}}),
                     f"The parameters of tool {name}", budget)
    return tools


def _check_tool_choice(choice: Any, names: set[str]) -> None:
    if not names:
        raise BadRequestError("tool_choice needs tools to choose from.")
    if choice in ("auto", "none", "required"):
        return
    name = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    if name not in names:
        raise BadRequestError('tool_choice is "auto", "none", "required" or '
                              '{"type": "function", "function": {"name": <an offered tool>}}.')


def _check_response_format(response_format: Any, budget: SchemaBudget) -> None:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind in ("text", "json_object"):
        return
    if kind != "json_schema" or not isinstance(response_format.get("json_schema"), dict):
        raise BadRequestError('response_format is {"type": "json_schema", "json_schema": {"name", '
                              '"schema"}}, {"type": "json_object"} or {"type": "text"}.')
    spec = response_format["json_schema"]
    if not isinstance(spec.get("name"), str) or not spec["name"]:
        raise BadRequestError("response_format.json_schema needs a name.")
    check_schema(spec.get("schema"), "response_format.json_schema.schema", budget)
