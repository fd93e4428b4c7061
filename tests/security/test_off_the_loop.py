"""Finding 5: judging an answer, rendering a template and running eval checks ran on the event
loop, so one costly request stopped every other user's. ``judge_bounded``, ``render_bounded``,
``run_checks_bounded`` run them on a worker thread with a deadline: the loop keeps ticking."""
from __future__ import annotations

import asyncio
import json

from core.bounded import LimitExceeded
from core.evals.scoring import parse_checks, run_checks_bounded
from core.prompts import PromptTemplate, render_bounded
from core.structured import check_structured, judge_bounded

SLOW_TEMPLATE = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"


def exponential_schema(levels: int = 40) -> dict:
    defs = {f"a{i}": {"anyOf": [{"$ref": f"#/$defs/a{i + 1}"}, {"$ref": f"#/$defs/a{i + 1}"}]}
            for i in range(levels)}
    defs[f"a{levels}"] = {"type": "integer"}
    return {"$defs": defs, "$ref": "#/$defs/a0"}


async def ticks_during(work) -> tuple[int, object]:
    """How often a 10 ms ticker ran on the loop while ``work`` was awaited, and its outcome."""
    count = 0
    done = asyncio.Event()

    async def ticker():
        nonlocal count
        while not done.is_set():
            await asyncio.sleep(0.01)
            count += 1

    task = asyncio.create_task(ticker())
    try:
        outcome = await work
    except Exception as exc:  # noqa: BLE001 - the outcome is what the test reads
        outcome = exc
    done.set()
    await task
    return count, outcome


class Answer:
    def __init__(self, content: str):
        self.ok, self.content, self.tool_calls = True, content, []
        self.json_valid = self.json_errors = None


async def test_rendering_a_slow_template_leaves_the_loop_free():
    template = PromptTemplate("slow", 1, SLOW_TEMPLATE)
    ticks, outcome = await ticks_during(render_bounded(template, {}, where="Row 1"))
    print(f"\nloop ticks while a 2-second template rendered: {ticks}")
    assert isinstance(outcome, LimitExceeded) and "2-second limit" in str(outcome)
    assert ticks > 10


async def test_judging_against_an_exponential_schema_leaves_the_loop_free():
    structured = check_structured(response_format={"type": "json_schema", "json_schema": {
        "name": "x", "schema": exponential_schema()}})
    answer = Answer(json.dumps("text"))
    ticks, outcome = await ticks_during(judge_bounded(answer, structured))
    print(f"\nloop ticks while an answer was judged for 2 s: {ticks}")
    assert outcome is None and answer.json_valid is False
    assert "2-second limit" in answer.json_errors[0]
    assert ticks > 10


async def test_eval_checks_run_off_the_loop():
    checks = parse_checks([{"kind": "json_schema", "schema": exponential_schema()},
                           {"kind": "regex", "pattern": "^(a+)+$"}])
    ticks, outcome = await ticks_during(run_checks_bounded(checks, '"x"', None))
    assert outcome == {"json_schema": False, "regex": False}
    assert ticks > 10
