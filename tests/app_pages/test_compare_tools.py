"""The compare page beyond text (AppTest): tools per column, the models' tool calls checked
against the schema, tool results sent back and the answers that follow; an answer schema marked
valid; reasoning folded; bad JSON in a box is said and left out."""
from __future__ import annotations

import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.emulated import KEYS, PROVIDER_MODELS, write_config
from tests.fakes.script import Reply
from tests.paths import PAGES

PAGE = str(PAGES / "compare.py")
WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                          "required": ["city"]}}}]


@pytest.fixture
def at(emulator, tmp_path, monkeypatch):
    config = write_config(emulator, tmp_path / "parley.yaml", models=("claude", "gemini"),
                          parley={"privacy": "store"})
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{tmp_path / 'parley.db'}")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEYS["claude"])
    monkeypatch.setenv("GEMINI_API_KEY", KEYS["gemini"])
    monkeypatch.setenv("PARLEY_USER", "pat@example.com")
    st.cache_resource.clear()
    yield AppTest.from_file(PAGE, default_timeout=60).run()
    from ui.deps import service
    service().close()
    st.cache_resource.clear()


def send(at: AppTest, prompt: str) -> AppTest:
    """Type ``prompt`` and click Send: one run, as the form submits both together."""
    at.text_area(key="cmp_prompt").input(prompt)
    return at.button(key="cmp_send").click().run()


def texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def test_both_columns_call_the_tool_and_answer_after_its_result(at):
    at.toggle(key="cmp_same").set_value(True).run()
    at.text_area(key="cmp_col0_extras_tools").input(json.dumps(WEATHER)).run()
    at = send(at, "Weather in Paris?")
    assert not at.exception
    calls = [t for t in texts(at) if "tool call" in t]
    assert calls == ['✅ tool call `get_weather({"city": "Weather in Paris?"})`'] * 2
    headers = [t for t in texts(at) if t.startswith("**A ·") or t.startswith("**B ·")]
    assert all("1 tool" in h for h in headers)
    assert at.button(key="cmp_view_tools_0_send").disabled  # no result typed yet
    at.text_input(key="cmp_view_tools_0_0").input("sunny, 21 C").run()
    at = at.button(key="cmp_view_tools_0_send").click().run()
    at.text_input(key="cmp_view_tools_1_0").input("rain, 12 C").run()
    at = at.button(key="cmp_view_tools_1_send").click().run()
    assert not at.exception
    finals = [t for t in texts(at) if t.startswith("Echo: get_weather returned")]
    assert finals == ["Echo: get_weather returned sunny, 21 C", "Echo: get_weather returned rain, 12 C"]
    assert sum(t == "**After the tool results:**" for t in texts(at)) == 2


def test_an_answer_schema_is_checked_and_reasoning_is_folded(at, emulator):
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    at.text_area(key="cmp_col0_extras_schema").input(json.dumps(schema)).run()
    at.text_area(key="cmp_col1_extras_schema").input(json.dumps(schema)).run()
    at.selectbox(key="cmp_col0_extras_effort").set_value("low").run()
    emulator.enqueue(PROVIDER_MODELS["gemini"], Reply('{"town": "Oslo"}'))
    at = send(at, "A city")
    assert not at.exception
    assert any("valid JSON" in t and "invalid" not in t for t in texts(at))
    assert any("invalid JSON" in t for t in texts(at))
    assert "(answer): 'city' is a required property" in [c.value for c in at.caption]
    [reasoning] = [e for e in at.expander if e.label == "Reasoning"]
    assert reasoning.markdown[0].value == "Thinking about: A city"


def test_tools_that_are_not_json_are_said_and_left_out(at):
    at.text_area(key="cmp_col0_extras_tools").input("[{not json").run()
    assert "Tools is not valid JSON" in at.error[0].value
    at = send(at, "Hello")
    assert not at.exception
    assert [t for t in texts(at) if t.startswith("Echo:")] == ["Echo: Hello"] * 2
