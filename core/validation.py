"""What a call may ask for, checked before anything is sent or recorded.

``check_call`` rejects bad arguments with one sentence; ``messages_for`` builds the chat
messages a call sends; ``ColumnConfig``/``check_columns`` are a comparison's columns (a model
and its settings) checked the same way. Nothing here connects to anything.
"""
from __future__ import annotations

import json

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from core.errors import BadRequestError

__all__ = ["check_call", "check_arguments", "check_text", "check_metadata", "check_request_size",
           "messages_for", "ColumnConfig", "check_columns", "MAX_PROMPT_CHARS", "MAX_COLUMNS"]

MAX_PROMPT_CHARS = 2_000_000
MAX_OUTPUT_TOKENS = 1_000_000


def check_call(prompt: Any, temperature: Any, max_tokens: Any, user_id: Any) -> None:
    """Raise ``BadRequestError`` for input no provider should be sent."""
    if prompt is not None and not isinstance(prompt, str):
        raise BadRequestError(f"The prompt must be text, not {type(prompt).__name__}.")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequestError("The prompt is empty; type something to send.")
    check_text(prompt, "The prompt")
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
    check_text(user_id, "user_id")


def check_text(text: str, what: str) -> None:
    """``BadRequestError`` when ``text`` cannot be stored as UTF-8: a lone surrogate, which is
    how Python carries invalid UTF-8 from a shell or a file (``surrogateescape``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequestError(f"{what} holds text that is not valid Unicode (character "
                              f"{exc.start + 1} is {text[exc.start]!a}); save or paste it as "
                              "UTF-8.") from None


def check_arguments(*, service_type: Any, model: Any, provider: Any, system_prompt: Any,
                    metadata: Any, history: Any, fallbacks: Any, complexity: Any) -> None:
    """The rest of ``generate``'s arguments, by type and content; one sentence on the first fault."""
    if not isinstance(service_type, str) or not service_type.strip() or len(service_type) > 128:
        raise BadRequestError(f"service_type must be a non-empty name of at most 128 characters, "
                              f"not {_shown(service_type)}.")
    check_text(service_type, "service_type")
    for name, value in (("model", model), ("provider", provider), ("complexity", complexity)):
        if value is not None and not isinstance(value, str):
            raise BadRequestError(f"{name} must be one model name (text), not {_shown(value)}.")
    if system_prompt is not None:
        if not isinstance(system_prompt, str):
            raise BadRequestError(f"The system prompt must be text, not {_shown(system_prompt)}.")
        check_text(system_prompt, "The system prompt")
    if not isinstance(fallbacks, bool):
        raise BadRequestError(f"fallbacks must be true or false, not {_shown(fallbacks)}.")
    if history is not None and not isinstance(history, (list, tuple)):
        raise BadRequestError(f"history must be a list of {{'role', 'content'}} turns, "
                              f"not {_shown(history)}.")
    check_metadata(metadata)


MAX_METADATA_BYTES = 64_000


def check_metadata(metadata: Any) -> None:
    """``metadata`` is None or a mapping that is plain JSON (text keys; text, numbers, true/false,
    null, lists and mappings; no cycles), at most ``MAX_METADATA_BYTES`` once encoded."""
    if metadata is None:
        return
    if not isinstance(metadata, Mapping):
        raise BadRequestError(f"metadata must be a mapping of names to values, not "
                              f"{_shown(metadata)}.")
    size = _json_size(metadata, "metadata", set())
    if size > MAX_METADATA_BYTES:
        raise BadRequestError(f"metadata is {size:,} bytes as JSON; the limit is "
                              f"{MAX_METADATA_BYTES:,}.")


def _json_size(value: Any, where: str, open_: set[int]) -> int:
    if value is None or isinstance(value, bool):
        return 5
    if isinstance(value, (int, float)):
        if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
            raise BadRequestError(f"{where} is {value!r}, which JSON cannot hold.")
        return len(repr(value))
    if isinstance(value, str):
        check_text(value, where)
        return len(value.encode("utf-8")) + 2
    if not isinstance(value, (Mapping, list, tuple)):
        raise BadRequestError(f"{where} is a {type(value).__name__}; metadata holds only text, "
                              "numbers, true/false, null, lists and mappings.")
    if id(value) in open_:
        raise BadRequestError(f"{where} contains itself; metadata must be plain JSON.")
    open_.add(id(value))
    try:
        if isinstance(value, Mapping):
            size = 2
            for key, item in value.items():
                if not isinstance(key, str):
                    raise BadRequestError(f"{where} has the key {_shown(key)}; metadata keys "
                                          "must be text.")
                check_text(key, f"{where} key")
                size += _json_size(item, f"{where}.{key}"[:80], open_) + len(key.encode()) + 4
            return size
        return 2 + sum(_json_size(item, f"{where}[{i}]", open_) + 1 for i, item in enumerate(value))
    finally:
        open_.discard(id(value))


def check_request_size(messages: list[dict[str, str]], max_bytes: int) -> None:
    """The whole request (system prompt, history and prompt) within ``max_bytes`` of UTF-8."""
    size = sum(_utf8_size(m.get("content")) for m in messages)
    if size > max_bytes:
        raise BadRequestError(f"This request is {size:,} bytes (system prompt, history and prompt "
                              f"together); the limit is {max_bytes:,} bytes "
                              "(parley.max_request_bytes). Shorten it or start a new conversation.")


def _utf8_size(content: Any) -> int:
    """Bytes a message's content takes: its text, or its parts (attachments included) as JSON."""
    if isinstance(content, str):
        return len(content.encode("utf-8", "surrogatepass"))
    return 0 if content is None else len(json.dumps(content, default=str).encode("utf-8"))


def _shown(value: Any) -> str:
    text = ascii(value)
    return text if len(text) <= 40 else text[:37] + "..."


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
    role = turn.get("role") if isinstance(turn, Mapping) else None
    content = turn.get("content") if isinstance(turn, Mapping) else None
    if isinstance(content, str):
        check_text(content, "A history turn")
    thinking = _thinking_blocks(turn.get("thinking_blocks")) if role == "assistant" else {}
    if role == "assistant" and isinstance(turn.get("tool_calls"), list) and turn["tool_calls"]:
        return {"role": role, "content": content if isinstance(content, str) else None,
                "tool_calls": turn["tool_calls"], **thinking}
    if role == "tool" and isinstance(turn.get("tool_call_id"), str) and isinstance(content, str):
        return {"role": role, "tool_call_id": turn["tool_call_id"], "content": content}
    if role not in ("user", "assistant") or not isinstance(content, str):
        raise BadRequestError("Each history turn needs role 'user' or 'assistant' and text content "
                              "(or assistant tool_calls, or a tool result with its tool_call_id).")
    return {"role": role, "content": content, **thinking}


def _thinking_blocks(blocks: Any) -> dict[str, Any]:
    """An assistant turn's ``thinking_blocks`` (Claude's signed reasoning, sent back as it
    came: with thinking on, Anthropic refuses a tool-calling turn without them), checked."""
    if blocks is None:
        return {}
    if not isinstance(blocks, list) or not all(
            isinstance(b, Mapping) and b.get("type") in ("thinking", "redacted_thinking")
            and all(isinstance(v, str) for k, v in b.items() if k != "type") for b in blocks):
        raise BadRequestError("thinking_blocks are a list of thinking or redacted_thinking blocks "
                              "with text fields.")
    return {"thinking_blocks": [dict(b) for b in blocks]} if blocks else {}


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
