"""In a real browser: on /chat, "auto (routed)" sends a code question to the complex route,
the answer streams in, and its caption says which model, why, and what it cost; the call is
in the call log as a chat call with its route."""
from __future__ import annotations

import json
import re
import sqlite3
import time

from playwright.sync_api import expect

from tests.browser.streamlit_page import open_app, settle
from tests.emulated import PROVIDER_MODELS
from tests.fakes.script import Reply


def logged_chat_calls(database_url: str) -> list[tuple[str, dict]]:
    path = database_url.removeprefix("sqlite:///")
    try:
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT model, metadata FROM request_logs "
                                "WHERE service_type = 'chat'").fetchall()
    except sqlite3.OperationalError:  # the app has not created the file or table yet
        return []
    return [(model, json.loads(meta)) for model, meta in rows]


def test_a_routed_chat_answer_streams_with_its_route_and_cost(page, parley_app, emulator):
    app = parley_app(models=("claude", "gemini"),
                     parley={"routes": {"simple": "gemini", "complex": "claude"}})
    emulator.enqueue(PROVIDER_MODELS["claude"],
                     Reply(text="Define the name before you print it", tokens_per_second=4))
    open_app(page, f"{app.url}/chat")
    expect(page.get_by_text("auto (routed)")).to_be_visible()

    box = page.get_by_placeholder("Message")
    box.fill("Fix the bug in my code: print(undefined_name)")
    box.press("Enter")
    # mid-stream (the app's first call imports litellm first, hence the long wait)
    expect(page.get_by_text("▌").first).to_be_visible(timeout=30_000)
    settle(page, timeout_ms=60_000)

    expect(page.get_by_text("Define the name before you print it")).to_be_visible()
    expect(page.get_by_text(re.compile(
        r"^Claude \(Anthropic\) · routed: complex · first token \d+ ms · total \d+ ms · \d+ in / \d+ out tokens · (< )?\$"))
           ).to_be_visible()
    expect(page.get_by_text(re.compile("The prompt is complex because it asks for work on code"))
           ).to_be_visible()

    deadline = time.monotonic() + 20  # the recorder ships in the background
    while not logged_chat_calls(app.database_url) and time.monotonic() < deadline:
        time.sleep(0.2)
    (model, metadata), = logged_chat_calls(app.database_url)
    assert model == "claude" and metadata["route"] == "complex"
