"""Templates render in worker processes (core/isolated.py), so a slow one cannot take the
server's GIL: what comes back (answers and errors, with their sentences), what happens to a
worker stuck past its deadline, and what the trip to a worker costs (printed)."""
from __future__ import annotations

import asyncio
import os
import statistics
import time

import pytest

from core.bounded import GRACE, LimitExceeded
from core.errors import BadRequestError
from core.isolated import run_isolated
from core.prompts import PromptTemplate, render_bounded


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_worker_stuck_past_its_deadline_is_killed_and_replaced():
    stuck = await run_isolated(os.getpid, seconds=5, what="finding the worker")
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as refused:
        # time.sleep never checks the deadline: only killing the worker stops it
        await run_isolated(time.sleep, 60, seconds=0.2, what="sleeping for a minute")
    took = time.monotonic() - started
    assert str(refused.value) == ("Sleeping for a minute took longer than the 0.2-second limit; "
                                  "make it simpler.")
    assert took < 0.2 + GRACE + 1.0, took
    for _ in range(50):
        if _gone(stuck):
            break
        await asyncio.sleep(0.05)
    assert _gone(stuck), "the stuck worker is still running"
    template = PromptTemplate("hello", 1, "Hello {{ name }}")
    assert await render_bounded(template, {"name": "Ada"}) == (None, "Hello Ada")
    assert await run_isolated(os.getpid, seconds=5, what="finding the worker") != stuck


async def test_errors_come_back_with_their_type_and_sentence():
    template = PromptTemplate("greeting", 2, "Hello {{ name }}", system="Be brief.")
    with pytest.raises(BadRequestError) as missing:
        await render_bounded(template, {"nickname": "Ada"}, where="Row 3")
    assert type(missing.value) is BadRequestError
    assert str(missing.value) == ("Row 3: the template uses {{ name }} but no value for 'name' "
                                  "was given (variables given: nickname).")
    with pytest.raises(LimitExceeded, match="over the 4,000,000-character limit"):
        await render_bounded(PromptTemplate("huge", 1, "{{ 'a' * 200000000 }}"), {})


async def test_a_bug_in_the_worker_is_not_the_users_fault():
    with pytest.raises(RuntimeError, match="Parsing a number failed in its worker process: ValueError"):
        await run_isolated(int, "twelve", seconds=5, what="parsing a number")
    with pytest.raises(BadRequestError, match="Rendering template x@1 needs plain values"):
        await run_isolated(len, lambda: 0, seconds=5, what="rendering template x@1")


async def test_a_trivial_render_costs_a_few_milliseconds():
    template = PromptTemplate("hello", 1, "Hello {{ name }}", system="Be brief.")
    await render_bounded(template, {"name": "warm"})
    took = []
    for n in range(200):
        started = time.perf_counter()
        await render_bounded(template, {"name": f"user {n}"})
        took.append(time.perf_counter() - started)
    median, worst = statistics.median(took) * 1000, max(took) * 1000
    p95 = sorted(took)[int(len(took) * 0.95)] * 1000
    print(f"\nrendering a trivial template in a worker process: median {median:.2f} ms, "
          f"p95 {p95:.2f} ms, worst {worst:.2f} ms (200 renders)")
    assert median < 10


async def test_concurrent_renders_share_the_workers():
    template = PromptTemplate("hello", 1, "Hello {{ name }}")
    answers = await asyncio.gather(*(render_bounded(template, {"name": str(n)}) for n in range(20)))
    assert answers == [(None, f"Hello {n}") for n in range(20)]
