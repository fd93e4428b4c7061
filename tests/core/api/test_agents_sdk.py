"""The OpenAI Agents SDK (its default model, on the Responses API) against a served Parley:
an agent with a function tool runs to its answer, on an OpenAI model and on Gemini; every
model call is recorded once, priced, with the client ``openai-agents``."""
from __future__ import annotations

import pytest

agents = pytest.importorskip("agents")


def test_an_agent_with_a_function_tool_runs_through_parley(served):
    from openai import AsyncOpenAI

    agents.set_tracing_disabled(True)  # traces would go to OpenAI

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"Sunny in {city}"

    client = AsyncOpenAI(base_url=f"{served.base_url}/v1", api_key=served.make_key("alice"),
                         max_retries=0)
    before = len(served.records(0))
    for model in ("gpt", "gemini"):
        agent = agents.Agent(name="weather", instructions="Answer with the tool.",
                             tools=[get_weather],
                             model=agents.OpenAIResponsesModel(model=model, openai_client=client))
        result = agents.Runner.run_sync(agent, "Weather in Rome?")
        assert "get_weather returned Sunny in" in result.final_output
    rows = served.records(before + 4)[before:]
    assert len(rows) == 4 and len({r["litellm_call_id"] for r in rows}) == 4
    assert all(r["status"] == "success" and r["total_cost"] > 0 for r in rows)
    assert {r["client"] for r in rows} == {"openai-agents"}
    assert [r["model"] for r in rows] == ["gpt", "gpt", "gemini", "gemini"]
