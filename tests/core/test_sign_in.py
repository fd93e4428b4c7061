"""Team-mode sign-in: only a verified email (or an allowed hosted domain) is a user; the user
id is the email lower-cased, once, so Bob@x.com and bob@x.com are one user for data, budgets
and admin; team mode limits every user's calls by default; the limiter forgets idle users."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import identity as access
from core.errors import UserRateLimitError
from core.guards import TEAM_RATE_LIMIT_PER_MINUTE, Budgets, CallLimiter
from core.store import open_store
from tests.database import sql
from tests.core.test_identity import AUTH, sidebar_text, titles
from tests.emulated import KEYS, write_config
from tests.paths import REPO
from tests.rendered import seen


@pytest.fixture
def team_app(emulator, tmp_path, monkeypatch):
    """``team_app(claims, parley=None)``: app.py in team mode, signed in with these claims."""
    from ui.deps import parts

    def build(claims: dict, parley: dict | None = None) -> AppTest:
        config = write_config(emulator, tmp_path / "parley.yaml",
                              parley={"admins": ["Admin@Example.com"], **(parley or {})})
        monkeypatch.setenv("PARLEY_CONFIG", str(config))
        for name, env_var in (("claude", "ANTHROPIC_API_KEY"), ("gemini", "GEMINI_API_KEY")):
            monkeypatch.setenv(env_var, KEYS[name])
        parts.clear()
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=30)
        at.secrets["auth"] = dict(AUTH)
        at.user = {"is_logged_in": True, **claims}
        return at

    yield build
    parts.clear()


@pytest.mark.parametrize("claims", [
    {"email": "mallory@example.com"},
    {"email": "mallory@example.com", "email_verified": False},
    {"email": "mallory@example.com", "email_verified": "false"},
    {"email": "mallory@example.com", "hd": "example.com"},  # example.com is not allowed here
])
def test_an_unverified_email_is_refused_in_one_sentence(team_app, claims):
    at = team_app(claims).run()
    assert titles(at) == ["Parley"]
    assert seen(at.error[0].value) == ("Your identity provider has not verified mallory@example.com, "
                                 "so Parley cannot use it as your user id; verify the address "
                                 "with the provider, then sign in again.")
    assert [b.label for b in at.button] == ["Log out"]
    assert not at.sidebar.caption and not at.text_area


def test_an_allowed_hosted_domain_stands_in_for_email_verified(team_app):
    at = team_app({"email": "carol@corp.example", "hd": "corp.example"},
                  parley={"allowed_domains": ["Corp.Example"]}).run()
    assert titles(at) == ["Compare"] and "carol@corp.example" in sidebar_text(at)
    # the hd claim must match the email's own domain
    at = team_app({"email": "carol@gmail.com", "hd": "corp.example"},
                  parley={"allowed_domains": ["corp.example"]}).run()
    assert "has not verified carol@gmail.com" in seen(at.error[0].value)


def test_the_user_id_is_the_email_lower_cased_once(team_app):
    at = team_app({"email": " Bob@Example.COM ", "email_verified": True}).run()
    assert "Signed in · user\nbob@example.com" in sidebar_text(at)


def test_an_admin_signs_in_with_any_capitalisation(team_app):
    at = team_app({"email": "ADMIN@example.com", "email_verified": True}).run()
    assert "Signed in · admin\nadmin@example.com" in sidebar_text(at)
    at.switch_page("app_pages/costs.py").run()
    assert "Admins only" not in titles(at) and not at.exception


def test_budgets_apply_whatever_the_capitalisation():
    budgets = Budgets.from_config({"users": {"Bob@X.com": 5}, "default": 1})
    assert budgets.for_user("bob@x.com") == 5 and budgets.for_user("BOB@x.com ") == 5
    assert budgets.for_user("carol@x.com") == 1


def test_sign_in_rule():
    assert access.sign_in_problem({"email": "a@x.com", "email_verified": True}, ()) is None
    assert access.sign_in_problem({"email": "a@x.com", "hd": "x.com"}, ("x.com",)) is None
    assert "has not verified" in access.sign_in_problem({"email": "a@x.com"}, ())
    assert "did not include an email" in access.sign_in_problem({"email_verified": True}, ())


def test_team_mode_limits_every_user_by_default(team_app):
    from ui.deps import service

    team_app({"email": "bob@example.com", "email_verified": True}).run()
    assert service().limiter.per_minute == TEAM_RATE_LIMIT_PER_MINUTE
    team_app({"email": "bob@example.com", "email_verified": True},
             parley={"rate_limit_per_minute": 5}).run()
    assert service().limiter.per_minute == 5


def test_the_app_copies_the_admins_to_the_database_at_start(team_app, tmp_path):
    team_app({"email": "bob@example.com", "email_verified": True}).run()
    store = open_store("", data_dir=tmp_path / ".parley")
    try:
        rows = sql(store, "SELECT user_id FROM parley_admins")
    finally:
        store.close()
    assert rows == [("admin@example.com",)]


def test_the_rate_limiter_forgets_idle_users():
    now = [0.0]
    limiter = CallLimiter(2, clock=lambda: now[0])
    for n in range(1000):
        limiter.acquire(f"user{n}")
    assert limiter.tracked_users == 1000
    now[0] = 61.0
    limiter.acquire("someone")
    assert limiter.tracked_users == 1, "users idle for a whole window are forgotten"
    limiter.acquire("someone")
    with pytest.raises(UserRateLimitError):  # forgetting others does not reset an active user
        limiter.acquire("someone")


def test_the_api_keys_limiter_forgets_idle_keys_too():
    from core.guards import CallRateLimitError, LocalLimiter

    now = [0.0]
    limiter = LocalLimiter(clock=lambda: now[0])
    for n in range(1000):
        limiter.acquire(f"key:pk-{n}", 2)
    assert len(limiter) == 1000
    now[0] = 61.0
    limiter.acquire("key:pk-active", 2)
    assert len(limiter) == 1, "keys idle for a whole window are forgotten"
    limiter.acquire("key:pk-active", 2)
    with pytest.raises(CallRateLimitError):  # forgetting others does not reset an active key
        limiter.acquire("key:pk-active", 2)
