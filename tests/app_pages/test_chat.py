"""The chat page (AppTest): empty state, a routed answer with its cost, a chosen model, an
error, and a conversation continued from the compare page."""
from __future__ import annotations


import pytest
from streamlit.testing.v1 import AppTest

import ui.deps
from tests.emulated import PROVIDER_MODELS, Collected, make_service
from tests.fakes import Fault
from tests.paths import PAGES

PAGE = str(PAGES / "chat.py")
ROUTES = {"simple": "gemini", "moderate": "gpt", "complex": "claude", "search": "gpt"}


@pytest.fixture
def chat(emulator, monkeypatch):
    """The page on a service whose models live on the emulator; returns (app, recorder)."""
    monkeypatch.setenv("PARLEY_USER", "ann@example.com")
    recorder = Collected()
    svc = make_service(emulator, recorder=recorder, parley={"routes": ROUTES},
                       mystery=("openai/mystery-model-0", {"display_name": "Mystery"}))
    monkeypatch.setattr(ui.deps, "service", lambda: svc)
    app = AppTest.from_file(PAGE, default_timeout=30)
    yield app, recorder
    svc.close()


def send(app: AppTest, text: str) -> AppTest:
    app.chat_input[0].set_value(text).run()
    assert not app.exception, app.exception
    return app


def test_an_empty_chat_offers_auto_your_default_and_each_model(chat):
    app, _ = chat
    app.run()
    assert not app.exception
    assert app.title[0].value == "Chat"
    picker = app.selectbox[0]
    assert picker.value == "auto"
    assert picker.options[:2] == ["auto (routed)", "Your default: gemini"]
    assert "claude · $3.00 / $15.00 per 1M tokens" in picker.options
    assert "Mystery · price unknown" in picker.options
    assert not app.chat_message
    assert "under each answer you see which model, why, and the cost" in app.caption[0].value
    assert app.button[0].disabled  # nothing to clear yet


def test_an_answer_shows_its_route_why_and_cost_and_is_recorded_as_chat(chat, emulator):
    app, recorder = chat
    app.run()
    send(app, "What is the capital of France?")
    user, answer = app.chat_message
    assert user.markdown[0].value == "What is the capital of France?"
    assert answer.markdown[0].value == "Echo: What is the capital of France?"
    caption = answer.caption[0].value
    assert caption.startswith("gemini · routed: simple · ")
    assert "< $0.0001" in caption and "The prompt is simple because" in caption
    assert emulator.requests[-1].model == PROVIDER_MODELS["gemini"] and emulator.requests[-1].stream
    record = recorder.records[-1]
    assert (record.service_type, record.user_id, record.metadata["route"]) == (
        "chat", "ann@example.com", "simple")
    assert not app.button[0].disabled


def test_the_conversation_goes_with_each_message(chat, emulator):
    app, _ = chat
    app.run()
    send(app, "Hello")
    send(app, "Explain why the sea is salty.")
    assert len(app.chat_message) == 4
    assert app.chat_message[3].caption[0].value.startswith("gpt · routed: moderate")
    sent = emulator.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]


def test_a_chosen_model_answers_and_an_unpriced_one_says_so(chat, emulator):
    app, _ = chat
    app.run()
    app.selectbox[0].set_value("mystery").run()
    send(app, "Hi")
    caption = app.chat_message[1].caption[0].value
    assert caption.startswith("Mystery · explicit") and "price unknown" in caption
    assert emulator.requests[-1].model == "mystery-model-0"


def test_a_failed_call_shows_one_sentence_and_keeps_the_conversation_as_it_was(chat, emulator):
    app, recorder = chat
    app.run()
    emulator.set_default(PROVIDER_MODELS["gemini"], Fault("401"))
    send(app, "What is 2 + 2?")
    assert len(app.error) == 1
    assert "Your message was not added to the conversation." in app.error[0].value
    assert "SECRET" not in app.error[0].value
    assert app.session_state["chat_thread"] == []
    assert recorder.records[-1].status == "failure"


def test_a_conversation_handed_over_by_compare_continues_with_its_model(chat, emulator):
    app, _ = chat
    app.session_state["chat_thread"] = [{"role": "user", "content": "Name a colour."},
                                        {"role": "assistant", "content": "Blue."}]
    app.session_state["chat_model"] = "claude"
    app.run()
    assert [m.markdown[0].value for m in app.chat_message] == ["Name a colour.", "Blue."]
    assert app.selectbox[0].value == "claude"
    send(app, "Another one?")
    assert emulator.requests[-1].model == PROVIDER_MODELS["claude"]
    sent = emulator.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert "Name a colour." in str(sent[0]) and "Blue." in str(sent[1])
    app.button[0].click().run()
    assert not app.chat_message and app.session_state["chat_thread"] == []


def test_without_routes_chat_offers_no_auto_and_says_where_messages_go(emulator, monkeypatch):
    monkeypatch.setenv("PARLEY_USER", "ann@example.com")
    svc = make_service(emulator)  # parley.routes not set
    monkeypatch.setattr(ui.deps, "service", lambda: svc)
    try:
        app = AppTest.from_file(PAGE, default_timeout=30).run()
        picker = app.selectbox[0]
        assert picker.value == ":default"
        assert not [o for o in picker.options if o.startswith("auto")]
        assert app.caption[0].value.startswith("Ask anything. Messages go to your default model")
        assert "auto" not in app.caption[0].value
    finally:
        svc.close()
