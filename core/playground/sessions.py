"""A comparison as the playground keeps it: columns, turns, answers, blind order and votes.

``Comparison`` is plain data (``to_data``/``from_data`` round-trip through JSON, which is how
``Store.save_comparison`` keeps it per user). Each column keeps its own conversation
(``history(i)``). Blind comparisons show columns in a shuffled ``order`` under letters
(A, B, ...) until the latest turn is voted on; ``vote(...)`` returns the row for
``Store.record_vote``. ``to_markdown``/``to_json`` are the exports; ``word_diff`` compares
two answers word by word.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from core.validation import ColumnConfig
from core.errors import BadRequestError
from core.pricing import cost_label
from core.results import GenerationResult

__all__ = ["Comparison", "IDENTICAL", "OUTCOMES", "word_diff", "answer_stats", "shown_as"]

OUTCOMES = ("tie", "both_bad")  # besides a column letter
LETTERS = "ABCD"
IDENTICAL = " · identical, shown as "  # a contestant that another column's settings matched exactly


@dataclass
class Comparison:
    """One playground session: ``turns[i]`` = ``{"prompt", "answers": [per column],
    "vote": None | {"outcome", "winner"}}``; answers follow ``GenerationResult.to_json``."""

    user_id: str
    columns: list[ColumnConfig]
    blind: bool = False
    order: list[int] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat())

    @classmethod
    def new(cls, user_id: str, columns: list[ColumnConfig], *, blind: bool = False,
            rng: random.Random | None = None) -> "Comparison":
        """A fresh comparison; blind ones get a shuffled display order."""
        order = list(range(len(columns)))
        if blind:
            (rng or random.SystemRandom()).shuffle(order)
        return cls(user_id, list(columns), blind, order)

    # -- conversation ------------------------------------------------------------------

    def history(self, column: int) -> list[dict[str, Any]]:
        """Column ``column``'s conversation so far; a failed turn is left out of it. Tool calls
        that got results are part of it (the calls, the results, then the answer after them);
        tool calls left unanswered are not (a provider refuses calls without their results)."""
        messages: list[dict[str, Any]] = []
        for turn in self.turns:
            answer = turn["answers"][column]
            if answer.get("error") is not None:
                continue
            messages.append({"role": "user", "content": turn["prompt"]})
            final = answer.get("after_tools")
            if final and final.get("error") is None:
                messages += _tool_turns(answer)
                messages.append({"role": "assistant", "content": final.get("content", "")})
            else:
                messages.append({"role": "assistant", "content": answer.get("content", "")})
        return messages

    def pending_tool_calls(self, column: int) -> list[dict[str, Any]]:
        """The latest turn's tool calls in ``column`` still waiting for their results."""
        if not self.turns:
            return []
        answer = self.turns[-1]["answers"][column]
        if answer.get("error") is not None or answer.get("after_tools"):
            return []
        return list(answer.get("tool_calls") or [])

    def tool_history(self, column: int, results: dict[str, str]) -> list[dict[str, Any]]:
        """The conversation to continue ``column`` with: its history, the latest prompt, the
        model's tool calls and ``results`` (call id -> the result text), one per call."""
        calls = self.pending_tool_calls(column)
        missing = [c["name"] for c in calls if not str(results.get(c["id"], "")).strip()]
        if not calls or missing:
            raise BadRequestError(f"Give a result for every tool call ({', '.join(missing) or 'none'} "
                                  "left).")
        answer = dict(self.turns[-1]["answers"][column])
        answer["tool_results"] = [{"tool_call_id": c["id"], "name": c["name"], "content": results[c["id"]]}
                                  for c in calls]
        earlier = Comparison(self.user_id, self.columns, turns=self.turns[:-1]).history(column)
        return [*earlier, {"role": "user", "content": self.turns[-1]["prompt"]}, *_tool_turns(answer)]

    def add_tool_results(self, column: int, results: dict[str, str], result: GenerationResult) -> None:
        """Keep the results given to ``column``'s tool calls and the answer that followed."""
        answer = self.turns[-1]["answers"][column]
        answer["tool_results"] = [{"tool_call_id": c["id"], "name": c["name"], "content": results[c["id"]]}
                                  for c in self.pending_tool_calls(column)]
        answer["after_tools"] = result.to_json()

    def add_turn(self, prompt: str, results: list[GenerationResult | None],
                 attachments: list[str] | None = None) -> dict[str, Any]:
        """Append a turn with one result per column (None: the column never finished);
        ``attachments`` names the files sent with the prompt."""
        answers = [r.to_json() if r is not None else
                   {"model": c.model, "content": "", "error": "The answer was interrupted."}
                   for r, c in zip(results, self.columns)]
        turn = {"prompt": prompt, "answers": answers, "vote": None}
        if attachments:
            turn["attachments"] = list(attachments)
        self.turns.append(turn)
        return turn

    @property
    def title(self) -> str:
        first = self.turns[0]["prompt"] if self.turns else "(no prompt yet)"
        return re.sub(r"\s+", " ", first).strip()[:80]

    # -- blind mode --------------------------------------------------------------------

    @property
    def hidden(self) -> bool:
        """Names are hidden while the latest turn of a blind comparison has no vote."""
        return self.blind and bool(self.turns) and self.turns[-1]["vote"] is None

    def display_order(self) -> list[int]:
        return self.order if self.order else list(range(len(self.columns)))

    def letter(self, column: int) -> str:
        return LETTERS[self.display_order().index(column)]

    def vote(self, outcome: str, *, privacy: str = "none") -> dict[str, Any]:
        """Record ``outcome`` (a column letter, ``tie`` or ``both_bad``) on the latest turn;
        return the vote for ``Store.record_vote``. The prompt is kept only when privacy is
        ``store``."""
        if not self.turns:
            raise BadRequestError("Send a prompt before voting.")
        turn, order = self.turns[-1], self.display_order()
        letters = LETTERS[:len(order)]
        if outcome not in (*letters, *OUTCOMES):
            raise BadRequestError(f"A vote is one of {', '.join(letters)}, tie or both_bad.")
        names = self._contestants(turn, order)
        winner = {"tie": "tie", "both_bad": None}.get(outcome) or (
            names[letters.index(outcome)] if outcome in letters else None)
        turn["vote"] = {"outcome": outcome, "winner": winner}
        answers = [turn["answers"][i] for i in order]
        return {
            "user_id": self.user_id, "models": names, "winner": winner,
            "prompt_hash": hashlib.sha256(turn["prompt"].encode()).hexdigest(),
            "prompt": turn["prompt"] if privacy == "store" else None,
            "settings": {"columns": [self.columns[i].to_json() for i in order]},
            "costs": _by_model(names, [a.get("cost") for a in answers]),
            "latencies": _by_model(names, [a.get("response_time_ms") for a in answers]),
            "metadata": {"outcome": outcome, "comparison_id": self.id,
                         "turn": len(self.turns) - 1, "blind": self.blind,
                         "ttft_ms": _by_model(names, [a.get("ttft_ms") for a in answers])}}

    def _contestants(self, turn: dict, order: list[int]) -> list[str]:
        """Who competed, per column in ``order``: the model that answered, or, where columns
        share a model, the configuration (``local · t=0.2 · max 1024``), so a comparison of
        one model under different settings still ranks something. Columns whose configurations
        are identical are told apart by the letter they were shown under
        (``local · t=0.2 · max 1024 · identical, shown as A``): the vote counts, and the
        leaderboard can say what it measured (the spread of one configuration's answers)."""
        names = [self._answered_by(turn, i) for i in order]
        names = [f"{name} · {self._settings_label(i)}" if names.count(name) > 1 else name
                 for name, i in zip(names, order)]
        return [f"{name}{IDENTICAL}{letter}" if names.count(name) > 1 else name
                for letter, name in zip(LETTERS, names)]

    def _settings_label(self, column: int) -> str:
        config = self.columns[column]
        label = dataclasses.replace(config, system_prompt=None).label().split(" · ", 1)[1:]
        if config.system_prompt:
            digest = hashlib.sha256(config.system_prompt.encode()).hexdigest()[:6]
            label.append(f"system prompt {digest}")
        return " · ".join(label) or "default settings"

    @staticmethod
    def _answered_by(turn: dict, column: int) -> str:
        answer = turn["answers"][column]
        return answer.get("served_by") or answer.get("model") or "?"

    # -- storage and export ------------------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        return {"id": self.id, "user_id": self.user_id, "created_at": self.created_at,
                "blind": self.blind, "order": self.order,
                "columns": [c.to_json() for c in self.columns], "turns": self.turns}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "Comparison":
        try:
            return cls(data["user_id"], [ColumnConfig.of(c) for c in data["columns"]],
                       bool(data.get("blind")), list(data.get("order") or []),
                       list(data.get("turns") or []), data["id"], data.get("created_at") or "")
        except (KeyError, TypeError) as exc:
            raise BadRequestError(f"This saved comparison cannot be read (missing {exc}).") from None

    def to_row(self) -> dict[str, Any]:
        """The shape of ``Store.save_comparison``."""
        return {"id": self.id, "user_id": self.user_id, "title": self.title, "data": self.to_data(),
                "created_at": self.created_at or None}

    def to_json(self) -> str:
        return json.dumps(self.to_data(), indent=2, default=str)

    def to_markdown(self) -> str:
        lines = [f"# Comparison: {self.title}", "", f"- when: {self.created_at}",
                 f"- user: {self.user_id}", f"- blind: {'yes' if self.blind else 'no'}", ""]
        for n, turn in enumerate(self.turns, start=1):
            lines += [f"## Turn {n}", "", "**Prompt**", "", turn["prompt"], ""]
            for i in self.display_order():
                answer = turn["answers"][i]
                lines += [f"### {self.letter(i)}: {self.columns[i].label()}", ""]
                lines += [f"> error: {answer['error']}" if answer.get("error") else answer.get("content", ""), ""]
                lines += [f"_{answer_stats(answer)}_", ""]
            if turn.get("vote"):
                lines += [f"**Vote:** {_vote_text(turn['vote'])}", ""]
        return "\n".join(lines).rstrip() + "\n"


def shown_as(contestant: str) -> str | None:
    """The letter an identical column's contestant was shown under (see ``IDENTICAL``), else None."""
    return contestant.rpartition(IDENTICAL)[2] if IDENTICAL in contestant else None


def answer_stats(answer: Any, is_local: bool = False, *, who: str | None = None) -> str:
    """The one line every screen and the CLI show for an answer (a ``GenerationResult`` or
    its JSON): ``who`` first when given, then time to first token, total time, tokens
    ("estimated" when they are), cost (``local``/``price unknown`` where that applies) and
    the fallback that answered; or why it failed."""
    get = answer.get if isinstance(answer, dict) else (lambda key, default=None: getattr(answer, key, default))
    if get("error"):
        return f"failed: {get('error')}"
    parts = [who] if who else []
    if get("ttft_ms") is not None:
        parts.append(f"first token {get('ttft_ms'):.0f} ms")
    parts.append(f"total {get('response_time_ms') or 0:.0f} ms")
    estimated = " (estimated)" if get("tokens_estimated") else ""
    parts.append(f"{get('input_tokens', 0)} in / {get('output_tokens', 0)} out tokens{estimated}")
    parts.append(cost_label(get("cost"), is_local or get("provider") == "local"))
    if get("fallback_used"):
        parts.append(f"fallback: answered by {get('served_by')} instead of {get('model')}")
    return " · ".join(parts)


def _tool_turns(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """An answer's tool calls (OpenAI's shape) and the results given to them, as messages."""
    calls = [{"id": c["id"], "type": "function",
              "function": {"name": c["name"], "arguments": c["arguments"] if isinstance(c["arguments"], str)
                           else json.dumps(c["arguments"])}}
             for c in answer.get("tool_calls") or []]
    results = [{"role": "tool", "tool_call_id": r["tool_call_id"], "content": r["content"]}
               for r in answer.get("tool_results") or []]
    return [{"role": "assistant", "content": answer.get("content") or None, "tool_calls": calls}, *results]


def word_diff(a: str, b: str) -> list[tuple[str, str]]:
    """``(op, text)`` pieces turning ``a`` into ``b``, word by word: op is ``equal``,
    ``delete`` (only in ``a``) or ``insert`` (only in ``b``)."""
    left, right = re.findall(r"\S+\s*", a), re.findall(r"\S+\s*", b)
    pieces: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(("equal", "".join(left[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("delete", "".join(left[i1:i2])))
        if j2 > j1:
            pieces.append(("insert", "".join(right[j1:j2])))
    return pieces


def _by_model(names: list[str], values: list[Any]) -> dict[str, Any]:
    """``{model: value}``, the first column of a model counting when it appears twice."""
    out: dict[str, Any] = {}
    for name, value in zip(names, values):
        out.setdefault(name, value)
    return out


def _vote_text(vote: dict[str, Any]) -> str:
    outcome = vote.get("outcome")
    if outcome == "tie":
        return "tie"
    if outcome == "both_bad":
        return "both bad"
    return f"{outcome} better ({vote.get('winner')})"
