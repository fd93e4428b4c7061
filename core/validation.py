"""What a call may ask for, checked before anything is sent or recorded.

``check_call`` rejects bad arguments with one sentence; ``messages_for`` builds the chat
messages a call sends; ``ColumnConfig``/``check_columns`` are a comparison's columns (a model
and its settings) checked the same way. Nothing here connects to anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from core.errors import BadRequestError

__all__ = ["check_call", "messages_for", "ColumnConfig", "check_columns", "MAX_PROMPT_CHARS",
           "MAX_COLUMNS"]

MAX_PROMPT_CHARS = 2_000_000
MAX_OUTPUT_TOKENS = 1_000_000


def check_call(prompt: Any, temperature: Any, max_tokens: Any, user_id: Any) -> None:
    """Raise ``BadRequestError`` for input no provider should be sent."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequestError("The prompt is empty; type something to send.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequestError(f"The prompt is {len(prompt):,} characters; the limit is "
                              f"{MAX_PROMPT_CHARS:,}. Shorten it.")
    if temperature is not None and (isinstance(temperature, bool)
                                    or not isinstance(temperature, (int, float))
                                    or not 0 <= temperature <= 2):
        raise BadRequestError(f"Temperature must be a number from 0 to 2, not {temperature!r}.")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                   or not 1 <= max_tokens <= MAX_OUTPUT_TOKENS):
        raise BadRequestError(f"max_tokens must be a whole number from 1 to {MAX_OUTPUT_TOKENS:,}, "
                              f"not {max_tokens!r}.")
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 256:
        raise BadRequestError("user_id must be a non-empty string of at most 256 characters.")


def messages_for(prompt: str | None, system_prompt: str | None = None,
                 history: list[dict] | None = None) -> list[dict[str, Any]]:
    """Chat messages: the system prompt, earlier turns, then the prompt (None: no new user
    turn, for a conversation continuing after tool results). A history turn is a user or
    assistant turn with text, an assistant turn with OpenAI ``tool_calls``, or a ``tool``
    result (``tool_call_id`` and text content)."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.extend(_history_turn(turn) for turn in history or [])
    if prompt is not None:
        messages.append({"role": "user", "content": prompt})
    return messages


def _history_turn(turn: Any) -> dict[str, Any]:
    role = turn.get("role") if isinstance(turn, dict) else None
    content = turn.get("content") if isinstance(turn, dict) else None
    if role == "assistant" and isinstance(turn.get("tool_calls"), list) and turn["tool_calls"]:
        return {"role": role, "content": content if isinstance(content, str) else None,
                "tool_calls": turn["tool_calls"]}
    if role == "tool" and isinstance(turn.get("tool_call_id"), str) and isinstance(content, str):
        return {"role": role, "tool_call_id": turn["tool_call_id"], "content": content}
    if role not in ("user", "assistant") or not isinstance(content, str):
        raise BadRequestError("Each history turn needs role 'user' or 'assistant' and text content "
                              "(or assistant tool_calls, or a tool result with its tool_call_id).")
    return {"role": role, "content": content}


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
        from core.structured import check_structured  # jsonschema loads with the first column

        check_structured(**column.structured())
    return checked
