"""Who is at the keyboard, and what each role sees: local mode, team mode (Streamlit's OIDC
login, mocked where Streamlit exposes it: ``st.user`` and the ``[auth]`` secrets section),
the admins-only page, and the per-user call limit."""
from __future__ import annotations

import getpass

import pytest
from streamlit.testing.v1 import AppTest

from core import identity as access
from core.errors import UserRateLimitError
from tests.emulated import KEYS, make_service, write_config
from tests.paths import PAGES, REPO
from tests.rendered import seen

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "not-a-secret",
        "client_id": "parley-test", "client_secret": "client-secret-for-tests",
        "server_metadata_url": "https://id.example.com/.well-known/openid-configuration"}


@pytest.fixture
def app(emulator, tmp_path, monkeypatch):
    """``app(team=False, user=None)``: an AppTest of app.py on the emulator's models, with
    admin@example.com as the one configured admin."""
    from ui.deps import parts

    config = write_config(emulator, tmp_path / "parley.yaml",
                          parley={"admins": ["Admin@Example.com"]})
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    for name, env_var in (("claude", "ANTHROPIC_API_KEY"), ("gemini", "GEMINI_API_KEY"),
                          ("gpt", "OPENAI_API_KEY")):
        monkeypatch.setenv(env_var, KEYS[name])
    parts.clear()

    def build(*, team: bool = False, user: dict | None = None) -> AppTest:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=30)
        if team:
            at.secrets["auth"] = dict(AUTH)
        if user is not None:
            at.user = user
        return at

    yield build
    parts.clear()


def signed_in(email: str) -> dict:
    return {"is_logged_in": True, "email": email, "email_verified": True,
            "name": email.split("@")[0]}


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def sidebar_text(at: AppTest) -> str:
    """The sidebar's captions as the reader sees them (tests/rendered.py)."""
    return " ".join(seen(str(c.value)) for c in at.sidebar.caption)


def test_local_mode_is_one_admin_named_by_parley_user(app, monkeypatch):
    monkeypatch.setenv("PARLEY_USER", "alice")
    at = app().run()
    assert not at.exception
    assert titles(at) == ["Compare"]
    assert "alice" in sidebar_text(at) and "admin" in sidebar_text(at)
    at.switch_page("app_pages/costs.py").run()
    assert "Admins only" not in titles(at) and not at.exception


def test_local_mode_without_parley_user_uses_the_os_login(app):
    at = app().run()
    assert getpass.getuser() in sidebar_text(at)


def test_no_one_can_type_another_identity(app, monkeypatch):
    monkeypatch.setenv("PARLEY_USER", "alice")
    at = app(team=True, user=signed_in("bob@example.com"))
    at.session_state["parley_user"] = "admin@example.com"  # what the old "You are" box set
    at.run()
    assert not [t for t in at.text_input if "you are" in t.label.lower()]
    assert "Signed in · user\nbob@example.com" in sidebar_text(at)


def test_team_mode_visitor_sees_only_the_login_page(app):
    at = app(team=True, user={"is_logged_in": False}).run()
    assert titles(at) == ["Parley"]
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.sidebar.caption


def test_the_login_button_starts_streamlits_login(app, monkeypatch):
    import streamlit as st

    started = []
    monkeypatch.setattr(st, "login", lambda *provider: started.append(provider))
    at = app(team=True, user={"is_logged_in": False}).run()
    at.button[0].click().run()
    assert started == [()] and titles(at) == ["Parley"]


def test_team_mode_sign_in_without_an_email_is_explained(app):
    at = app(team=True, user={"is_logged_in": True, "name": "No Email"}).run()
    assert "did not include an email address" in at.error[0].value
    assert titles(at) == ["Parley"] and not at.sidebar.caption


def test_team_mode_claims_without_login_flag_are_not_a_login(app):
    at = app(team=True, user={"email": "admin@example.com"}).run()
    assert titles(at) == ["Parley"]


def test_team_mode_user_is_named_by_email_and_is_not_an_admin(app):
    at = app(team=True, user=signed_in("bob@example.com")).run()
    assert titles(at) == ["Compare"] and not at.exception
    assert "Signed in · user\nbob@example.com" in sidebar_text(at)
    assert [b.label for b in at.sidebar.button] == ["Log out"]


def test_team_mode_user_opening_the_cost_console_gets_admins_only(app):
    at = app(team=True, user=signed_in("bob@example.com")).run()
    at.switch_page("app_pages/costs.py").run()
    assert titles(at) == ["Admins only"]
    assert "bob@example.com" in sidebar_text(at), "app.py, not the page alone, ran"
    assert "bob@example.com is not one" in seen(at.error[0].value)


def test_team_mode_admin_opens_the_cost_console(app):
    at = app(team=True, user=signed_in("admin@example.com")).run()
    assert "Signed in · admin\nadmin@example.com" in sidebar_text(at)
    at.switch_page("app_pages/costs.py").run()
    assert "Admins only" not in titles(at) and not at.exception


@pytest.mark.parametrize("user, mode, expected", [
    ("admin@example.com", access.TEAM, True), ("ADMIN@example.COM ", access.TEAM, True),
    ("bob@example.com", access.TEAM, False), ("", access.TEAM, False),
    ("bob", access.LOCAL, True), ("", access.LOCAL, False),
])
def test_admin_rule(user, mode, expected, emulator):
    svc = make_service(emulator, parley={"admins": ["admin@example.com"]})
    assert access.is_admin(svc.settings, user, mode=mode) is expected


def test_local_user_prefers_parley_user():
    assert access.local_user({"PARLEY_USER": " carol "}) == "carol"
    assert access.local_user({"PARLEY_USER": "Carol@Example.com"}) == "carol@example.com"
    assert access.local_user({}) == getpass.getuser().lower()


def test_rate_limit_message_on_the_chat_page(app, monkeypatch, emulator, tmp_path):
    config = write_config(emulator, tmp_path / "limited.yaml",
                          parley={"rate_limit_per_minute": 1})
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    monkeypatch.setenv("PARLEY_USER", "alice")
    at = AppTest.from_file(str(PAGES / "chat.py"), default_timeout=30).run()
    at.chat_input[0].set_value("first").run()
    assert not at.error
    at.chat_input[0].set_value("second").run()
    assert at.error[0].value.startswith("alice has started 1 call in the last minute, the most "
                                        "allowed per user; try again in ")
    assert [m.value for m in at.chat_message[0].markdown][0] == "first"


async def test_rate_limit_stops_a_user_with_a_clear_message(emulator):
    svc = make_service(emulator, parley={"rate_limit_per_minute": 2})
    try:
        for _ in range(2):
            assert (await svc.generate("hi", user_id="u1")).ok
        calls_before = len(emulator.requests)
        with pytest.raises(UserRateLimitError) as info:
            await svc.generate("hi", user_id="u1")
        assert str(info.value).startswith("u1 has started 2 calls in the last minute")
        assert "try again in" in str(info.value)
        assert len(emulator.requests) == calls_before, "a refused call must not reach a provider"
        assert (await svc.generate("hi", user_id="u2")).ok, "the limit is per user"
    finally:
        svc.close()


async def test_compare_counts_each_column_as_a_call(emulator):
    svc = make_service(emulator, parley={"rate_limit_per_minute": 2})
    try:
        results = await svc.compare("hi", ["claude", "gemini", "gpt"], user_id="u1")
        assert [r.ok for r in results].count(True) == 2
        refused = [r for r in results if not r.ok]
        assert len(refused) == 1 and refused[0].error_kind == "user_rate_limit"
    finally:
        svc.close()


def test_rate_limit_window_slides():
    from core.guards import CallLimiter

    now = [0.0]
    limiter = CallLimiter(1, clock=lambda: now[0])
    limiter.acquire("u")
    now[0] = 59.0
    with pytest.raises(UserRateLimitError, match="try again in 1 second"):
        limiter.acquire("u")
    now[0] = 60.0
    limiter.acquire("u")


@pytest.mark.parametrize("value", [0, -1, "ten", 2.5, True])
def test_rate_limit_setting_is_validated(emulator, value):
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="rate_limit_per_minute"):
        make_service(emulator, parley={"rate_limit_per_minute": value})
