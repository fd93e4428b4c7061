"""In a real browser: a prompt on /compare streams into two columns with their costs, a blind
vote reveals the names, the vote shows on the leaderboard, and one answer's thread continues
in the chat page."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.streamlit_page import open_app, settle
from tests.browser.test_screenshots import SHOTS
from tests.emulated import PROVIDER_MODELS
from tests.fakes.script import Reply



def shoot(page, name: str) -> None:
    """``.parley/screenshots/compare-<name>.png`` at 1400x900, for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.screenshot(path=SHOTS / f"compare-{name}.png")


def test_a_blind_comparison_streams_is_voted_and_reaches_the_leaderboard(page, parley_app, emulator):
    app = parley_app(models=("claude", "gemini"))
    # paced replies, so the answers are seen arriving piece by piece
    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(text="Claude says the sky is blue today", tokens_per_second=8))
    emulator.enqueue(PROVIDER_MODELS["gemini"], Reply(text="Gemini says the sky looks grey", tokens_per_second=8))
    open_app(page, f"{app.url}/compare")

    page.get_by_role("tabpanel", name="Compare").get_by_text("Blind mode", exact=True).click()
    settle(page)
    expect(page.get_by_text("Blind mode: prices and figures show after your vote.")).to_be_visible()
    page.get_by_label("Prompt", exact=True).fill("What colour is the sky?")
    page.get_by_role("button", name="Send").click()  # one click sends what was typed

    expect(page.get_by_text("▌").first).to_be_visible(timeout=60_000)  # mid-stream (the first send loads litellm)
    expect(page.get_by_text("streaming…").first).to_be_visible()
    settle(page, timeout_ms=60_000)
    expect(page.get_by_text("Claude says the sky is blue today")).to_be_visible()
    expect(page.get_by_text("Gemini says the sky looks grey")).to_be_visible()
    stats = page.get_by_text(re.compile(r"first token \d+ ms · total \d+ ms · \d+ in / \d+ out tokens · <? ?\$"))
    expect(stats).to_have_count(0)  # blind: nothing that tells the models apart until the vote
    expect(page.get_by_text("Details appear after your vote.")).to_have_count(2)
    expect(page.get_by_text("Model A", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"^[AB] · (Claude|Gemini)"))).to_have_count(0)  # names hidden

    page.get_by_role("button", name="A better").click()
    settle(page)
    expect(page.get_by_text("Vote recorded")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^[AB] · (Claude|Gemini)"))).to_have_count(2)  # revealed
    expect(stats).to_have_count(2)
    winner = page.get_by_text(re.compile(r"^A · (Claude|Gemini)")).inner_text().split(" · ")[1].split()[0]

    page.get_by_role("tab", name="Leaderboard").click()
    board = page.locator('[data-testid="stTable"]')
    expect(board).to_contain_text("claude")
    expect(board).to_contain_text("gemini")
    winner_row = board.locator("tr", has_text=winner)
    expect(winner_row).to_contain_text("100%")

    page.get_by_role("tab", name="Compare").click()
    page.get_by_role("button", name="Continue with this answer").first.click()
    page.wait_for_url(re.compile(r"/chat$"))
    settle(page)
    expect(page.get_by_text("What colour is the sky?")).to_be_visible()


def test_a_blind_vote_between_identical_columns_reaches_the_leaderboard(page, parley_app):
    app = parley_app(models=("gemini",))  # one model: both columns run it, with the same settings
    open_app(page, f"{app.url}/compare")
    page.get_by_role("tabpanel", name="Compare").get_by_text("Blind mode", exact=True).click()
    expect(page.get_by_text("Blind mode: prices and figures show after your vote.")).to_be_visible(timeout=30_000)
    settle(page)
    page.get_by_label("Prompt", exact=True).fill("Twins?")
    page.get_by_role("button", name="Send").click()
    # once answered, the two answers are paragraphs (the collapsed "Diff two answers" holds the
    # text too, in a div: counting every element with the text passed only if it looked while
    # the columns streamed, before the diff was drawn)
    expect(page.get_by_role("button", name="B better")).to_be_visible(timeout=60_000)
    settle(page, timeout_ms=60_000)
    expect(page.locator("p", has_text=re.compile(r"^Echo: Twins\?$"))).to_have_count(2)

    page.get_by_role("button", name="B better").click()
    expect(page.get_by_text("Vote recorded")).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name="Leaderboard").click()
    board = page.locator('[data-testid="stTable"]')
    expect(page.get_by_text("No blind votes yet")).to_have_count(0)
    expect(board.locator("tbody tr")).to_have_count(2)
    expect(board.locator("tr", has_text="identical, shown as B")).to_contain_text("100%")
    expect(board.locator("tr", has_text="identical, shown as A")).to_contain_text("0%")
    expect(board).to_contain_text("gemini · t=0.7 · max 1024")
    expect(page.get_by_text(re.compile(r"come from votes between identical columns"))).to_be_visible()
    shoot(page, "leaderboard-identical")
