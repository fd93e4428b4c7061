"""A key's monthly budget holds at any concurrency, through the real server: its calls in
flight reserve their worst-case cost, so a burst on a nearly spent key is answered at most one
call past the budget (issue 22: 30 parallel calls on a $0.001 key were all answered, 3.9x).

The burst runs against ``python -m core serve`` on loopback, bounded in count and time.
"""
from __future__ import annotations

import asyncio

import httpx

from tests.fakes import Reply

BUDGET = 0.001
BURST = 30


async def _burst(base_url: str, secret: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        async def one(i: int) -> httpx.Response:
            return await client.post(
                "/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"},
                json={"model": "gemini", "max_tokens": 200,
                      "messages": [{"role": "user", "content": f"question {i}"}]})
        return await asyncio.gather(*(one(i) for i in range(BURST)))


def test_a_burst_on_a_small_key_budget_goes_at_most_one_call_over(served, emulator):
    # Each answer costs about $0.00026 at gemini-2.5-flash's price (100 words out), and
    # arrives after 0.3 s, so the whole burst is in flight at once.
    emulator.set_default("gemini-2.5-flash", Reply(" ".join(["word"] * 100), ttft=0.3))
    secret = served.make_key("alice", budget=BUDGET)
    responses = asyncio.run(_burst(served.base_url, secret))

    answered = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(answered) + len(refused) == BURST, {r.status_code for r in responses}
    assert all(r.json()["error"]["code"] == "budget_exceeded" for r in refused)
    assert all(r.headers.get("retry-after") for r in refused)
    costs = sorted(float(r.headers["x-parley-cost"]) for r in answered)
    spent = sum(costs)
    print(f"{BURST} parallel calls on a ${BUDGET} key: {len(answered)} answered, "
          f"{len(refused)} refused, ${spent:.6f} spent")
    assert answered, "the first call, with the whole budget left, is answered"
    assert spent - costs[-1] < BUDGET  # everything but the last answered call fit the budget

    later = asyncio.run(_burst(served.base_url, secret))  # the budget is spent now, or nearly
    answered_later = [r for r in later if r.status_code == 200]
    total = spent + sum(float(r.headers["x-parley-cost"]) for r in answered_later)
    assert total - max(costs + [float(r.headers["x-parley-cost"]) for r in answered_later]) < BUDGET
