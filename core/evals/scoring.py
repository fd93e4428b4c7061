"""Scoring an answer: checks against the row's ``expected``, and an LLM judge with a rubric.

Checks (``Check.kind``), each True/False per answer, or None when it does not apply (the row
has no ``expected`` and the check needs one):

- ``equals``: the answer, trimmed, is ``expected`` (case-insensitive unless ``case=True``);
- ``contains``: ``expected`` (or the check's ``value``) appears in the answer;
- ``regex``: the check's ``pattern`` (else ``expected`` as a pattern) matches somewhere; patterns
  are RE2's (linear time, core/bounded.py), and an ``expected`` RE2 cannot compile fails;
- ``json_schema``: the answer (a fenced ```json block is unwrapped) is JSON valid against the
  check's ``schema``;
- ``numeric``: the first number in the answer is within ``tolerance`` (absolute, default 0)
  or ``rel`` (relative) of ``expected``.

The judge (``JudgeSpec``) is asked for ``{"score": 1-10, "reason": "..."}``; ``parse_verdict``
accepts that JSON, a ``score: N`` line or a bare number, and refuses anything else with
``ProviderBadResponse`` saying what the judge answered, so a garbage verdict is never stored
as a score.

Checks are user-supplied work: ``run_checks`` stops after ``CHECK_SECONDS`` (a check cut short
fails), and ``run_checks_bounded`` / ``parse_verdict_bounded`` run off the event loop.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

from core.bounded import Deadline, compile_pattern, run_off_loop
from core.errors import BadRequestError, ProviderBadResponse
from core.structured import CHECK_SECONDS, check_schema, schema_errors

__all__ = ["Check", "CHECK_KINDS", "parse_checks", "run_checks", "run_checks_bounded", "passed",
           "JudgeSpec", "judge_prompt", "parse_verdict", "parse_verdict_bounded", "SCORE_MIN",
           "SCORE_MAX", "DEFAULT_RUBRIC"]

CHECK_KINDS = ("equals", "contains", "regex", "json_schema", "numeric")
SCORE_MIN, SCORE_MAX = 1, 10
DEFAULT_RUBRIC = ("Score how well the answer does what the prompt asks: correct, complete, "
                  "concise. If an expected answer is given, an answer that agrees with it "
                  "scores high.")
_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_FENCE = re.compile(r"^```(?:json)?\s*\n(.*?)\n```\s*$", re.DOTALL)
_MAX_PATTERN = 500


@dataclass(frozen=True)
class Check:
    kind: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        return dict(self.options).get("name") or self.kind

    def option(self, key: str, default: Any = None) -> Any:
        return dict(self.options).get(key, default)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **dict(self.options)}


def parse_checks(specs: Any) -> list[Check]:
    """Checks from ``[{"kind": "contains"}, {"kind": "regex", "pattern": "..."}, "equals"]``;
    a bad one raises ``BadRequestError`` saying which and why."""
    checks = []
    for number, spec in enumerate(specs or [], start=1):
        if isinstance(spec, str):
            spec = {"kind": spec}
        if not isinstance(spec, dict) or spec.get("kind") not in CHECK_KINDS:
            raise BadRequestError(f"Check {number} must name a kind: one of {', '.join(CHECK_KINDS)}.")
        check = Check(spec["kind"], tuple(sorted((k, v) for k, v in spec.items() if k != "kind")))
        _validate(check, number)
        checks.append(check)
    labels = [c.label for c in checks]
    if len(set(labels)) != len(labels):
        raise BadRequestError("Two checks have the same name; give each a distinct 'name'.")
    return checks


def _validate(check: Check, number: int) -> None:
    if check.kind == "regex" and check.option("pattern") is not None:
        _compile(check.option("pattern"), f"Check {number}")
    if check.kind == "json_schema":
        schema = check.option("schema")
        if not isinstance(schema, dict):
            raise BadRequestError(f"Check {number} (json_schema) needs a 'schema' object.")
        check_schema(schema, f"Check {number}", sentence="{what}: the JSON schema is invalid ({problem}).")
    if check.kind == "numeric":
        for key in ("tolerance", "rel"):
            value = check.option(key)
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise BadRequestError(f"Check {number} (numeric): {key} must be a number ≥ 0.")


def _compile(pattern: Any, where: str) -> Any:
    if not isinstance(pattern, str) or not pattern or len(pattern) > _MAX_PATTERN:
        raise BadRequestError(f"{where}: the regex must be 1 to {_MAX_PATTERN} characters.")
    return compile_pattern(pattern, where, noun="regex")


def run_checks(checks: list[Check], answer: str, expected: Any) -> dict[str, bool | None]:
    """Each check's verdict on ``answer`` (None: not applicable to this row), all within
    ``CHECK_SECONDS``; a check cut short by it fails."""
    verdicts: dict[str, bool | None] = {}
    with Deadline(CHECK_SECONDS, "running the checks"):
        for check in checks:
            try:
                verdicts[check.label] = _run(check, answer or "", expected)
            except BadRequestError:  # past the deadline: the answer is not shown to pass
                verdicts[check.label] = False
    return verdicts


async def run_checks_bounded(checks: list[Check], answer: str, expected: Any) -> dict[str, bool | None]:
    """``run_checks`` on a worker thread, off the event loop. Its own deadline fails a check
    cut short; the thread's, a second later, is the backstop for work that ignores it (on a
    busy machine the two at once raced, and the row lost every verdict)."""
    if not checks:
        return {}
    return await run_off_loop(run_checks, checks, answer, expected, seconds=CHECK_SECONDS + 1,
                              what="running the checks")


def passed(verdicts: Mapping[str, bool | None]) -> bool | None:
    """True when every applicable check passed; None when none applied."""
    applied = [v for v in verdicts.values() if v is not None]
    return all(applied) if applied else None


def _run(check: Check, answer: str, expected: Any) -> bool | None:
    target = check.option("value", expected)
    has_target = target is not None and str(target) != ""
    if check.kind == "equals":
        if not has_target:
            return None
        if check.option("case", False):
            return answer.strip() == str(target).strip()
        return answer.strip().casefold() == str(target).strip().casefold()
    if check.kind == "contains":
        if not has_target:
            return None
        if check.option("case", False):
            return str(target) in answer
        return str(target).casefold() in answer.casefold()
    if check.kind == "regex":
        pattern = check.option("pattern") or (str(expected) if has_target else None)
        if pattern is None:
            return None
        try:
            return _compile(pattern, "The check").search(answer) is not None
        except BadRequestError:
            return False  # a row whose expected is not a usable pattern cannot pass
    if check.kind == "json_schema":
        return _matches_schema(answer, check.option("schema"))
    return _numeric(check, answer, target) if has_target else None


def _matches_schema(answer: str, schema: dict) -> bool:
    text = answer.strip()
    fenced = _FENCE.match(text)
    try:
        value = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError:
        return False
    return not schema_errors(value, schema, 1)


def _numeric(check: Check, answer: str, target: Any) -> bool:
    try:
        want = float(str(target).replace(",", ""))
    except ValueError:
        return False
    found = _NUMBER.search(answer)
    if not found:
        return False
    try:
        got = float(found.group(0).replace(",", ""))
    except ValueError:
        return False
    tolerance = float(check.option("tolerance", 0) or 0)
    rel = check.option("rel")
    allowed = max(tolerance, abs(want) * float(rel)) if rel is not None else tolerance
    return abs(got - want) <= allowed + 1e-12


@dataclass(frozen=True)
class JudgeSpec:
    """Which model judges, and the rubric it scores against."""

    model: str
    rubric: str = DEFAULT_RUBRIC

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "rubric": self.rubric}


def judge_prompt(rubric: str, prompt: str, answer: str, expected: Any = None) -> tuple[str, str]:
    """``(system, user)`` messages asking for a verdict; the judge never sees model names."""
    system = ("You are a strict, fair grader. Reply with one JSON object and nothing else: "
              f'{{"score": <integer {SCORE_MIN}-{SCORE_MAX}>, "reason": "<one sentence>"}}.')
    parts = [f"Rubric:\n{rubric}", f"Prompt given to the model:\n{prompt}"]
    if expected not in (None, ""):
        parts.append(f"Expected answer:\n{expected}")
    parts.append(f"The model's answer:\n{answer}")
    parts.append(f"Score the answer from {SCORE_MIN} to {SCORE_MAX} as JSON.")
    return system, "\n\n".join(parts)


def parse_verdict(text: str, judge: str) -> tuple[float, str]:
    """``(score, reason)`` from the judge's answer; ``ProviderBadResponse`` if it gave none."""
    text = (text or "").strip()
    score, reason = _from_json(text)
    if score is None:
        found = re.search(r"(?i)\bscore\b\W{0,3}(\d+(?:\.\d+)?)", text) or re.fullmatch(
            r"(\d+(?:\.\d+)?)\s*(?:/\s*10)?\.?", text)
        if found:
            score, reason = float(found.group(1)), text
    if score is None or not SCORE_MIN <= score <= SCORE_MAX:
        shown = " ".join(text.split())[:120] or "(nothing)"
        raise ProviderBadResponse(
            f"The judge ({judge}) did not give a score from {SCORE_MIN} to {SCORE_MAX}; it "
            f"answered: {shown!r}. Choose a stronger judge model or make the rubric clearer.")
    return score, reason.strip()[:500]


async def parse_verdict_bounded(text: str, judge: str) -> tuple[float, str]:
    """``parse_verdict`` on a worker thread, off the event loop (the judge's answer may be long)."""
    return await run_off_loop(parse_verdict, text, judge, seconds=CHECK_SECONDS,
                              what="reading the judge's verdict")


def _from_json(text: str) -> tuple[float | None, str]:
    for candidate in re.findall(r"\{[^{}]*\}", text):
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        score = value.get("score") if isinstance(value, dict) else None
        if isinstance(score, (int, float)) and not isinstance(score, bool):
            return float(score), str(value.get("reason") or "")
        if isinstance(score, str):
            try:
                return float(score), str(value.get("reason") or "")
            except ValueError:
                continue
    return None, ""
