"""In a real browser: a Compare column's settings stick. Whatever order the column count, blind
mode and "same settings for all" are switched in, and whether a column's settings are opened
before or after, the panel shows the column's settings, the line under its button says them,
and the request the provider receives carries them (the emulator records temperature and max
tokens as each protocol sends them)."""
from __future__ import annotations

import itertools
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import REPO
from tests.browser.streamlit_page import open_app, settle
from tests.emulated import PROVIDER_MODELS

MODELS = ("claude", "gemini", "gpt")  # column n starts on MODELS[n]
DEFAULT = (0.7, 1024)
TOGGLES = ("three columns", "blind", "same settings")
APP = 30_000  # ms: a rerun can wait behind the first run's import of litellm on a busy machine
SETTINGS_LINE = re.compile(r"^t=\d")  # the line under each column's button


def toggle(page, what: str) -> None:
    """Switch ``what`` and wait until the page shows it switched."""
    tab = page.get_by_role("tabpanel", name="Compare")
    label = {"three columns": "3 columns", "blind": "Blind mode",
             "same settings": "Same settings for all"}[what]
    shared = page.get_by_text(re.compile(r"\(as the first column\)$"))
    sharing = shared.count() > 0
    tab.get_by_text(label, exact=True).click()
    if what == "three columns":
        expect(page.locator('[data-testid="stPopover"]')).to_have_count(3, timeout=APP)
    elif what == "blind":
        expect(page.get_by_text("Blind mode: prices and figures show after your vote.")).to_be_visible(timeout=APP)
    elif sharing:
        expect(shared).to_have_count(0, timeout=APP)
    else:
        expect(shared.first).to_be_attached(timeout=APP)
    settle(page)


def open_settings(page, column: int):
    """Open column ``column``'s popover (0-based) and return its panel."""
    page.locator('[data-testid="stPopover"]').nth(column).get_by_role("button").click()
    panel = page.locator('[data-testid="stPopoverBody"]').filter(visible=True)
    expect(panel).to_have_count(1, timeout=APP)
    # one slider: a run still going can show a widget's old copy beside its new one
    expect(panel.locator('[data-testid="stSliderThumbValue"]')).to_have_count(1, timeout=APP)
    return panel


def close_settings(page) -> None:
    page.keyboard.press("Escape")
    expect(page.locator('[data-testid="stPopoverBody"]').filter(visible=True)).to_have_count(0, timeout=APP)
    settle(page)


def panel_shows(panel, temperature: float, max_tokens: int) -> None:
    expect(panel.locator('[data-testid="stSliderThumbValue"]')).to_have_text(f"{temperature:.2f}", timeout=APP)
    expect(panel.get_by_label("Max tokens")).to_have_value(str(max_tokens), timeout=APP)


def set_settings(page, column: int, temperature: float, max_tokens: int,
                 now: tuple[float, int] = DEFAULT) -> None:
    """Move the temperature from ``now`` to ``temperature`` with the arrow keys, 0.1 a press,
    then type the max tokens; each change is seen on the line under the button (the app has
    it) before the next."""
    panel = open_settings(page, column)
    line = page.get_by_text(SETTINGS_LINE).nth(column)
    thumb = panel.get_by_role("slider")
    steps = round((temperature - now[0]) * 10)
    for step in range(1, abs(steps) + 1):
        thumb.press("ArrowRight" if steps > 0 else "ArrowLeft")
        expect(line).to_have_text(says((now[0] + 0.1 * step * (1 if steps > 0 else -1), now[1])),
                                  timeout=APP)
    box = panel.get_by_label("Max tokens")
    box.fill(str(max_tokens))
    box.press("Enter")
    expect(line).to_have_text(says((temperature, max_tokens)), timeout=APP)
    close_settings(page)


def says(settings: tuple[float, int]) -> re.Pattern:
    """The line under a column's button for these settings: ``t=0.7 · 1,024 tokens ...``."""
    return re.compile(rf"^t={settings[0]:g} · {settings[1]:,} tokens\b")


def send(page, emulator, prompt: str, columns: int) -> dict[str, tuple[float, int]]:
    """Send ``prompt``; what each model's request asked for: {model: (temperature, max tokens)}."""
    emulator.reset()
    page.get_by_label("Prompt", exact=True).fill(prompt)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text(f"Echo: {prompt}").filter(visible=True)).to_have_count(
        columns, timeout=60_000)
    settle(page, timeout_ms=60_000)
    by_provider_model = {PROVIDER_MODELS[m]: m for m in MODELS}
    return {by_provider_model[r.model]: (r.temperature, r.max_tokens) for r in emulator.requests}


def expect_sent(page, emulator, prompt: str, expected: list[tuple[float, int]], scenario: str) -> None:
    """The lines under the buttons say ``expected`` (one per column) and the requests carry it."""
    expect(page.get_by_text(SETTINGS_LINE), scenario).to_have_text([says(e) for e in expected], timeout=APP)
    sent = send(page, emulator, prompt, len(expected))
    assert sent == {MODELS[n]: settings for n, settings in enumerate(expected)}, scenario


ORDERS = list(itertools.permutations(TOGGLES))


@pytest.mark.parametrize("opened", ["before", "after"])
def test_a_columns_settings_survive_every_toggle_order(page, parley_app, emulator, opened):
    """Each order of the three switches runs in a fresh tab (a new session). ``before``: two
    columns are given their own settings first; ``after``: the settings are first opened once
    everything is switched, which is when the panel used to show 0.00 and 1 token and send them."""
    app = parley_app(models=MODELS)
    context = page.context
    for number, order in enumerate(ORDERS):
        scenario = f"{opened}: {' then '.join(order)}"
        tab = context.new_page()
        open_app(tab, f"{app.url}/compare")
        own = [(1.1, 300), (0.4, 200), DEFAULT] if opened == "before" else [DEFAULT] * 3
        if opened == "before":
            set_settings(tab, 0, 1.1, 300)
            set_settings(tab, 1, 0.4, 200)
        for what in order:
            toggle(tab, what)
        if opened == "after":
            panel = open_settings(tab, 0)
            panel_shows(panel, *DEFAULT)
            panel.get_by_label("System prompt (optional)").fill("Be brief.")  # any change at all
            panel.get_by_label("System prompt (optional)").press("Control+Enter")
            expect(tab.get_by_text(SETTINGS_LINE).first).to_contain_text("system prompt", timeout=APP)
            close_settings(tab)
        # same settings: every column sends the first column's
        expect_sent(tab, emulator, f"shared {number}", [own[0]] * 3, scenario)
        toggle(tab, "same settings")
        for column in (1, 2):  # each column's own settings are back, untouched, when opened
            panel_shows(open_settings(tab, column), *own[column])
            close_settings(tab)
        expect_sent(tab, emulator, f"own {number}", own, scenario)
        tab.close()
    quiet(app)


def quiet(app) -> None:
    """The server printed no stack trace (Streamlit prints one for a widget given a value both
    as its default and through Session State)."""
    log = app.log()
    assert "Traceback" not in log and "Session State API" not in log, log[-3000:]


def test_a_reopened_comparison_brings_back_its_columns_settings(page, parley_app, emulator):
    app = parley_app(models=MODELS, parley={"privacy": "store"})
    open_app(page, f"{app.url}/compare")
    set_settings(page, 0, 1.1, 300)
    expect_sent(page, emulator, "keep these", [(1.1, 300), DEFAULT], "first send")
    page.get_by_role("button", name="New comparison").click()
    settle(page)
    set_settings(page, 0, 0.4, 200, now=(1.1, 300))
    page.get_by_role("tab", name="History").click()
    page.get_by_role("button", name="Reopen").click()
    page.get_by_role("tab", name="Compare").click()
    expect(page.get_by_text("You: keep these")).to_be_visible(timeout=APP)
    settle(page)  # the reopened run has ended: its old widgets are gone from the page
    panel_shows(open_settings(page, 0), 1.1, 300)
    close_settings(page)
    expect_sent(page, emulator, "and again", [(1.1, 300), DEFAULT], "after reopening")
    quiet(app)


def test_a_call_opened_in_the_playground_brings_its_model_and_system_prompt(page, parley_app, emulator):
    app = parley_app(models=MODELS, parley={"privacy": "store"})
    done = subprocess.run([sys.executable, "-m", "core", "ask", "Name a colour.", "--model", "gpt",
                           "--system", "Answer in one word.", "--user", app.env["PARLEY_USER"]],
                          cwd=REPO, env=app.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    open_app(page, f"{app.url}/compare")
    set_settings(page, 0, 1.1, 300)  # changed before: the call's settings replace these
    open_app(page, f"{app.url}/calls")
    grid = page.locator('[data-testid="stDataFrame"]')
    expect(grid).to_be_visible(timeout=APP)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)  # the first row's selection box (a 35 px header, rows as tall)
    page.get_by_role("button", name="Open in playground").click()
    page.wait_for_url(re.compile(r"/compare$"))
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("Name a colour.", timeout=APP)
    expect(page.locator('[data-testid="stPopover"]').first).to_contain_text("A · GPT (OpenAI)")
    expect(page.get_by_text(SETTINGS_LINE).first).to_have_text("t=0.7 · 1,024 tokens · system prompt",
                                                               timeout=APP)
    emulator.reset()
    page.get_by_role("button", name="Send").click()
    # the answers' paragraphs (the collapsed "Diff two answers" holds the text too, in a div)
    expect(page.get_by_role("button", name="Export Markdown")).to_be_visible(timeout=60_000)
    expect(page.locator("p", has_text=re.compile(r"^Echo: Name a colour\.$"))).to_have_count(2)
    gpt = [r for r in emulator.requests if r.model == PROVIDER_MODELS["gpt"]]
    assert [(r.temperature, r.max_tokens) for r in gpt] == [DEFAULT]
    assert gpt[0].body["messages"][0] == {"role": "system", "content": "Answer in one word."}
