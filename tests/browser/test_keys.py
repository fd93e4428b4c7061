"""In a real browser: make an API key on /keys (its secret shown once), use it from the
official openai SDK against the same server, see the call on /usage, revoke the key on /keys,
and see the next call refused."""
from __future__ import annotations

import re
import time

import openai
import pytest
from playwright.sync_api import expect

from tests.browser.streamlit_page import open_app, settle


def test_a_key_made_in_the_browser_serves_the_sdk_until_revoked(page, parley_app):
    app = parley_app(models=("claude", "gemini"), script="server.py")
    open_app(page, f"{app.url}/keys")
    expect(page.get_by_text("No keys yet.")).to_be_visible()

    page.get_by_label("Name").fill("sdk test")
    page.get_by_role("button", name="Create key").click()
    settle(page)
    expect(page.get_by_text(re.compile(r"Copy it now: it is not shown again"))).to_be_visible()
    secret = page.get_by_test_id("stCode").inner_text().strip()
    assert re.fullmatch(r"pk-[A-Za-z0-9_\-]{43}", secret)

    client = openai.OpenAI(base_url=f"{app.url}/v1", api_key=secret, max_retries=0)
    reply = client.chat.completions.create(model="gemini",
                                           messages=[{"role": "user", "content": "hello from the sdk"}])
    assert reply.choices[0].message.content.startswith("Echo:")

    page.reload()
    settle(page)
    expect(page.get_by_text(secret)).to_have_count(0)  # shown once only
    expect(page.get_by_role("combobox", name="Key to revoke")).to_have_value(secret[:11])

    deadline = time.monotonic() + 30
    while True:  # the recorder ships within moments; the usage page reads the rollups
        open_app(page, f"{app.url}/usage")
        if page.get_by_test_id("stMetricValue").count() or time.monotonic() > deadline:
            break
        time.sleep(1)
    expect(page.get_by_test_id("stMetric").filter(has_text="Calls")).to_contain_text("1")

    open_app(page, f"{app.url}/keys")
    page.get_by_role("button", name="Revoke").click()
    settle(page)
    expect(page.get_by_text(f"Key {secret[:11]} is revoked")).to_be_visible()
    # a new connection: the first one sat idle for half a minute, and once (a full run) the
    # server's close of it crossed this request on the wire (reset by peer, no retries here)
    client = openai.OpenAI(base_url=f"{app.url}/v1", api_key=secret, max_retries=0)
    with pytest.raises(openai.AuthenticationError, match="revoked"):
        client.chat.completions.create(model="gemini", messages=[{"role": "user", "content": "again"}])
