"""The real ``langchain-openai`` and ``langchain-anthropic`` against the API: invoke, stream,
a tool call, ``with_structured_output``, and embeddings; each answered call recorded once,
priced, with its client named."""
from __future__ import annotations

import pytest
from pydantic import BaseModel

langchain_openai = pytest.importorskip("langchain_openai")
langchain_anthropic = pytest.importorskip("langchain_anthropic")


class City(BaseModel):
    """A city and its country."""

    name: str
    country: str


def get_weather(city: str) -> str:
    """The weather in a city."""
    return "Sunny"


def openai_chat(gateway, secret, model="gemini", **options):
    return langchain_openai.ChatOpenAI(model=model, base_url=f"{gateway.base_url}/v1",
                                       api_key=secret, max_retries=0, http_client=gateway.http,
                                       **options)


def anthropic_chat(gateway, secret, model="claude"):
    return langchain_anthropic.ChatAnthropic(model=model, base_url=gateway.base_url,
                                             api_key=secret, max_retries=0, max_tokens=200)


@pytest.mark.parametrize("model", ["gemini", "claude"])
def test_langchain_openai_invoke_stream_tools_structured(in_process, model):
    chat = openai_chat(in_process, in_process.make_key("alice"), model)
    assert chat.invoke("Say hello").content
    assert "".join(chunk.content for chunk in chat.stream("Say hello"))
    called = chat.bind_tools([get_weather], tool_choice="get_weather").invoke("Weather in Rome?")
    assert called.tool_calls[0]["name"] == "get_weather"
    city = chat.with_structured_output(City).invoke("Paris")
    assert isinstance(city, City)
    rows = in_process.records(4)
    assert len(rows) == 4 and all(r["status"] == "success" and r["total_cost"] > 0 for r in rows)
    assert len({r["litellm_call_id"] for r in rows}) == 4
    assert {r["client"] for r in rows} == {"openai-python"}  # langchain-openai sends the SDK's


def test_langchain_openai_is_named_when_it_says_so_in_its_user_agent(in_process):
    """ChatOpenAI's requests carry the OpenAI SDK's headers unchanged (README: the limit);
    its ``default_headers`` can name it, invoked and streamed."""
    from importlib.metadata import version

    chat = openai_chat(in_process, in_process.make_key("alice"),
                       default_headers={"User-Agent": f"langchain-openai/{version('langchain-openai')}"})
    assert chat.invoke("Say hello").content
    assert "".join(chunk.content for chunk in chat.stream("Say hello"))
    rows = in_process.records(2)
    assert [r["client"] for r in rows] == ["langchain", "langchain"]


def test_langchain_openai_on_the_responses_api(in_process):
    chat = openai_chat(in_process, in_process.make_key("alice"), "gpt", use_responses_api=True)
    assert chat.invoke("Say hello").text
    [row] = in_process.records(1)
    assert row["status"] == "success" and row["total_cost"] > 0


def test_langchain_anthropic_invoke_stream_tools_structured(served):
    """On a real server (ChatAnthropic builds its own HTTP client), Claude and Gemini."""
    for model in ("claude", "gemini"):
        _anthropic_round(served, model)


def _anthropic_round(gateway, model):
    before = len(gateway.records(0))
    chat = anthropic_chat(gateway, gateway.make_key("alice"), model)
    assert chat.invoke("Say hello").content
    assert "".join(str(chunk.content) for chunk in chat.stream("Say hello"))
    called = chat.bind_tools([get_weather], tool_choice="get_weather").invoke("Weather in Rome?")
    assert called.tool_calls[0]["name"] == "get_weather"
    city = chat.with_structured_output(City).invoke("Paris")
    assert isinstance(city, City)
    rows = gateway.records(before + 4)[before:]
    assert len(rows) == 4 and all(r["status"] == "success" and r["total_cost"] > 0 for r in rows)
    assert {r["client"] for r in rows} == {"langchain"}
