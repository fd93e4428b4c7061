"""Finding 2: a schema ``pattern`` ``^(a+)+$`` against 30 a's and a ``!`` froze the worker for
about a minute (Python's ``re`` backtracks, holding the GIL). Patterns are now matched by RE2
(linear time) in schemas and in evals' regex checks; a pattern RE2 cannot compile is one
sentence."""
from __future__ import annotations

import pytest

from core.errors import BadRequestError
from core.evals.scoring import parse_checks
from core.structured import check_structured
from tests.security.conftest import run_isolated

EVIL = "^(a+)+$"


def test_a_catastrophic_schema_pattern_is_judged_at_once():
    out = run_isolated(f"""
        import json
        from core.structured import check_structured, judge
        structured = check_structured(response_format={{"type": "json_schema", "json_schema": {{
            "name": "a", "schema": {{"type": "string", "pattern": {EVIL!r}}}}}}})
        class Answer:
            ok, content, tool_calls = True, json.dumps("a" * 30 + "!"), []
        answer = Answer()
        judge(answer, structured)
        print(answer.json_valid, answer.json_errors)
    """)
    assert out.startswith("False") and "does not match" in out


def test_a_catastrophic_pattern_property_and_tool_argument_are_judged_at_once():
    out = run_isolated(f"""
        from core.structured import check_structured, judge
        tool = {{"type": "function", "function": {{"name": "f", "parameters": {{
            "type": "object", "patternProperties": {{{EVIL!r}: {{"type": "integer"}}}},
            "additionalProperties": False}}}}}}
        structured = check_structured(tools=[tool])
        class Answer:
            ok, content, json_valid, json_errors = True, "", None, None
            tool_calls = [{{"id": "1", "name": "f", "arguments": {{"a" * 30 + "!": 1}}}}]
        answer = Answer()
        judge(answer, structured)
        print(answer.tool_calls[0]["valid"], answer.tool_calls[0]["errors"])
    """)
    assert out.startswith("False")


def test_a_catastrophic_eval_regex_check_is_run_at_once():
    out = run_isolated(f"""
        from core.evals.scoring import parse_checks, run_checks
        checks = parse_checks([{{"kind": "regex", "pattern": {EVIL!r}}}])
        print(run_checks(checks, "a" * 30 + "!", None))
        print(run_checks([parse_checks(["regex"])[0]], "a" * 30 + "!", {EVIL!r}))
    """)
    assert out.split() == ["{'regex':", "False}", "{'regex':", "False}"]


@pytest.mark.parametrize("pattern", [r"(?<=a)b", r"(a)\1"])
def test_a_pattern_the_engine_cannot_compile_is_one_clear_sentence(pattern):
    with pytest.raises(BadRequestError) as caught:
        check_structured(response_format={"type": "json_schema", "json_schema": {
            "name": "a", "schema": {"type": "string", "pattern": pattern}}})
    message = str(caught.value)
    assert "is invalid" in message and "RE2" in message and "\n" not in message
    with pytest.raises(BadRequestError, match="is invalid"):
        parse_checks([{"kind": "regex", "pattern": pattern}])
