"""A key's monthly budget holds at any concurrency, through the real server: its calls in
flight reserve their worst-case cost, so a burst on a nearly spent key is answered at most one
call past the budget (issue 22: 30 parallel calls on a $0.001 key were all answered, 3.9x).

The burst runs against ``python -m core serve`` on loopback, bounded in count and time.
"""
from __future__ import annotations

import asyncio

import httpx
import pytest
import yaml

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


@pytest.fixture
def served_with_embeddings(api_env, emulator, request):
    """``python -m core serve`` with an embedding model (``embed``) beside the chat models."""
    path = api_env["PARLEY_CONFIG"]
    config = yaml.safe_load(open(path))
    config["model_list"].append({"model_name": "embed", "litellm_params": {
        "model": "openai/text-embedding-3-small", "api_key": "os.environ/OPENAI_API_KEY",
        "api_base": emulator.openai_base}})
    open(path, "w").write(yaml.safe_dump(config))
    return request.getfixturevalue("served")


def test_embeddings_on_a_budgeted_key_go_one_at_a_time(served_with_embeddings, emulator):
    """An embedding call's cost is not known before it is made, so it holds the rest of the
    key's budget while it runs: a burst gets one answer and 429s, never a run past the budget."""
    emulator.set_default("text-embedding-3-small", Reply(ttft=0.3))
    served = served_with_embeddings
    secret = served.make_key("alice", budget=BUDGET)

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=served.base_url, timeout=60) as client:
            return await asyncio.gather(*(client.post(
                "/v1/embeddings", headers={"Authorization": f"Bearer {secret}"},
                json={"model": "embed", "input": f"text {i}"}) for i in range(10)))

    responses = asyncio.run(burst())
    statuses = sorted(r.status_code for r in responses)
    print(f"10 parallel embedding calls on a ${BUDGET} key: {statuses.count(200)} answered, "
          f"{statuses.count(429)} refused")
    assert set(statuses) <= {200, 429} and statuses.count(200) >= 1
    assert statuses.count(200) < 10
    assert all(r.json()["error"]["code"] == "budget_exceeded" for r in responses
               if r.status_code == 429)
