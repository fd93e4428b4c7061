"""Preferences: the order a call naming no model is resolved in, the CLI, bad input changing
nothing, and the preferences page as a user sees it."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from core.routing import preferences
from core.cli import main
from core.errors import BadRequestError, UnknownModelError
from core.store import open_store
from tests.emulated import KEYS, make_service, write_config
from tests.paths import PAGES


@pytest.fixture
def configured(emulator, tmp_path, monkeypatch):
    """parley.yaml on the emulator (default gemini; service types xray, smart_questions,
    answer_builder), keys in the environment, the local user alice, a fresh SQLite store."""
    from ui.deps import parts

    config = write_config(emulator, tmp_path / "parley.yaml", models=("gemini", "claude", "gpt"))
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEYS["claude"])
    monkeypatch.setenv("GEMINI_API_KEY", KEYS["gemini"])
    monkeypatch.setenv("OPENAI_API_KEY", KEYS["gpt"])
    monkeypatch.setenv("PARLEY_USER", "alice")
    parts.clear()
    yield config
    parts.clear()


def prefs(*args: str, capsys) -> tuple[int, dict | str, str]:
    code = main(["prefs", *args])
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except json.JSONDecodeError:
        return code, out, err


def stored_rows(user: str) -> dict:
    from core.config import load_settings

    settings = load_settings()
    store = open_store(settings.database_url, data_dir=settings.data_dir)
    try:
        return store.get_preferences(user)
    finally:
        store.close()


def test_resolution_order_service_then_user_then_default(configured, capsys):
    assert prefs("get", "--user", "alice", "--service", "xray", "--json", capsys=capsys)[1] == \
        {"user": "alice", "service": "xray", "model": "gemini", "source": "default"}
    prefs("set", "--user", "alice", "--model", "claude", capsys=capsys)
    assert prefs("get", "--user", "alice", "--service", "xray", "--json", capsys=capsys)[1] == \
        {"user": "alice", "service": "xray", "model": "claude", "source": "user"}
    prefs("set", "--user", "alice", "--model", "gpt", "--service", "xray", capsys=capsys)
    assert prefs("get", "--user", "alice", "--service", "xray", "--json", capsys=capsys)[1] == \
        {"user": "alice", "service": "xray", "model": "gpt", "source": "service"}
    other = prefs("get", "--user", "alice", "--service", "answer_builder", "--json", capsys=capsys)[1]
    assert (other["model"], other["source"]) == ("claude", "user")
    assert prefs("get", "--user", "bob", "--json", capsys=capsys)[1]["source"] == "default"


def test_set_prints_what_now_applies(configured, capsys):
    code, out, _ = prefs("set", "--user", "alice", "--model", "claude", capsys=capsys)
    assert code == 0 and out.strip() == "claude (alice's default)"


async def test_a_call_naming_no_model_is_served_by_the_stored_choice(emulator, tmp_path):
    svc = make_service(emulator)
    store = open_store(f"sqlite:///{tmp_path / 'p.db'}", data_dir=tmp_path)
    svc.preferences = lambda user: preferences.stored(store, user)
    try:
        preferences.save(store, svc.catalog, "alice", "claude")
        preferences.save(store, svc.catalog, "alice", "gpt", "xray")
        assert (await svc.generate("hi", user_id="alice", service_type="xray")).served_by == "gpt"
        assert (await svc.generate("hi", user_id="alice", service_type="other")).served_by == "claude"
        assert (await svc.generate("hi", user_id="bob")).served_by == "gemini"
    finally:
        store.close()
        svc.close()


@pytest.mark.parametrize("args, message", [
    (("--user", "alice", "--model", "nope"), "Model 'nope' is not configured; choose one of:"),
    (("--user", "alice", "--model", "claude", "--service", "billing"),
     "Service type 'billing' is not configured; choose one of: xray"),
    (("--user", " ", "--model", "claude"), "Give the user whose preferences these are"),
])
def test_bad_input_is_refused_and_changes_nothing(configured, capsys, args, message):
    prefs("set", "--user", "alice", "--model", "claude", capsys=capsys)
    code, out, err = prefs("set", *args, capsys=capsys)
    assert code == 2 and not out
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert stored_rows("alice") == {None: "claude"}


def test_clear_falls_back_one_level_at_a_time(configured, capsys):
    prefs("set", "--user", "alice", "--model", "claude", capsys=capsys)
    prefs("set", "--user", "alice", "--model", "gpt", "--service", "xray", capsys=capsys)
    code, out, err = prefs("clear", "--user", "alice", "--service", "xray", "--json", capsys=capsys)
    assert (code, err) == (0, "")
    assert out == {"user": "alice", "service": "xray", "model": "claude", "source": "user",
                   "cleared": True}
    assert stored_rows("alice") == {None: "claude"}
    code, out, _ = prefs("clear", "--user", "alice", "--json", capsys=capsys)
    assert out == {"user": "alice", "service": None, "model": "gemini", "source": "default",
                   "cleared": True}
    assert prefs("get", "--user", "alice", "--service", "xray", "--json", capsys=capsys)[1] == \
        {"user": "alice", "service": "xray", "model": "gemini", "source": "default"}
    assert stored_rows("alice") == {}


def test_clearing_the_default_keeps_the_overrides(configured, capsys):
    prefs("set", "--user", "alice", "--model", "claude", capsys=capsys)
    prefs("set", "--user", "alice", "--model", "gpt", "--service", "xray", capsys=capsys)
    prefs("set", "--user", "bob", "--model", "claude", capsys=capsys)
    code, out, _ = prefs("clear", "--user", "alice", capsys=capsys)
    assert code == 0 and out.strip() == \
        "Removed alice's default; now gemini (parley.default_model: no stored choice applies)"
    assert stored_rows("alice") == {"xray": "gpt"}
    assert stored_rows("bob") == {None: "claude"}
    xray = prefs("get", "--user", "alice", "--service", "xray", "--json", capsys=capsys)[1]
    assert (xray["model"], xray["source"]) == ("gpt", "service")


def test_clearing_what_is_not_stored_says_so_and_succeeds(configured, capsys):
    prefs("set", "--user", "alice", "--model", "claude", capsys=capsys)
    code, out, _ = prefs("clear", "--user", "alice", "--service", "xray", capsys=capsys)
    assert code == 0 and out.strip() == \
        "alice had no override for xray stored; still claude (alice's default)"
    assert prefs("clear", "--user", "alice", "--service", "xray", "--json",
                 capsys=capsys)[1]["cleared"] is False
    assert stored_rows("alice") == {None: "claude"}


@pytest.mark.parametrize("args, message", [
    (("--user", "alice", "--service", "billing"),
     "Service type 'billing' is not configured; choose one of: xray"),
    (("--user", " "), "Give the user whose preferences these are"),
])
def test_clear_refuses_bad_input_and_changes_nothing(configured, capsys, args, message):
    prefs("set", "--user", "alice", "--model", "claude", capsys=capsys)
    code, out, err = prefs("clear", *args, capsys=capsys)
    assert code == 2 and not out
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert stored_rows("alice") == {None: "claude"}


class NoWrites:
    def set_preference(self, *args, **kwargs):
        raise AssertionError("a refused preference reached the store")

    def clear_preference(self, *args, **kwargs):
        raise AssertionError("a refused clear reached the store")


def test_save_validates_before_touching_the_store(emulator):
    svc = make_service(emulator)
    with pytest.raises(UnknownModelError):
        preferences.save(NoWrites(), svc.catalog, "alice", "nope")
    with pytest.raises(BadRequestError):
        preferences.save(NoWrites(), svc.catalog, "", "claude")


def test_clear_validates_before_touching_the_store(emulator):
    svc = make_service(emulator, parley={"service_types": ["xray"]})
    with pytest.raises(BadRequestError, match="'billing' is not configured"):
        preferences.clear(NoWrites(), svc.settings, "alice", "billing")
    with pytest.raises(BadRequestError):
        preferences.clear(NoWrites(), svc.settings, "", None)


# -- the page ----------------------------------------------------------------------------

def page() -> AppTest:
    return AppTest.from_file(str(PAGES / "preferences.py"), default_timeout=30)


def test_page_lists_each_model_with_badge_price_and_a_typical_request(configured):
    at = page().run()
    assert not at.exception
    default = at.selectbox(key="prefs_default")
    assert default.value == ""  # nothing stored: the app default applies
    labels = default.options
    assert labels[0] == "Use the app default: Gemini (Google)" and len(labels) == 4
    gemini = next(label for label in labels if label.startswith("Gemini (Google)"))
    assert "per 1M tokens" in gemini and "typical request $" in gemini
    assert [s.label for s in at.selectbox][1:] == ["xray", "smart_questions", "answer_builder"]


def test_page_saves_a_default_at_once_and_keeps_it_after_reload(configured):
    at = page().run()
    at.selectbox(key="prefs_default").set_value("claude").run()
    assert at.success[0].value == "Saved: Claude (Anthropic) is now your default model."
    assert stored_rows("alice") == {None: "claude"}
    again = page().run()
    assert again.selectbox(key="prefs_default").value == "claude"
    table = again.dataframe[0].value
    assert list(table["Model"]) == ["Claude (Anthropic)"] * 4  # display names, not internal ones
    assert set(table["Because"]) == {"your default"}


def test_page_saves_a_service_override(configured):
    at = page().run()
    assert at.selectbox(key="prefs_xray").value == ""  # "Use my default"
    at.selectbox(key="prefs_xray").set_value("gpt").run()
    assert at.success[0].value == "Saved: GPT (OpenAI) is now your model for xray."
    assert at.selectbox(key="prefs_xray").value == "gpt"
    assert stored_rows("alice") == {"xray": "gpt"}
    table = page().run().dataframe[0].value
    assert table.loc[table["Service type"] == "xray", "Because"].item() == "your override"


def test_page_says_when_a_saved_model_is_no_longer_configured(configured):
    from core.config import load_settings

    settings = load_settings()
    store = open_store(settings.database_url, data_dir=settings.data_dir)
    store.set_preference("alice", "retired-model")
    store.close()
    at = page().run()
    assert "You saved 'retired-model' as your default, but it is not configured any more" in \
        at.warning[0].value
    assert at.selectbox(key="prefs_default").value == ""


def test_page_reads_only_the_current_users_choices(configured):
    main(["prefs", "set", "--user", "bob", "--model", "gpt"])
    at = page().run()
    assert at.selectbox(key="prefs_default").value == ""


def test_page_removes_an_override_with_use_my_default(configured):
    main(["prefs", "set", "--user", "alice", "--model", "claude"])
    main(["prefs", "set", "--user", "alice", "--model", "gpt", "--service", "xray"])
    at = page().run()
    xray = at.selectbox(key="prefs_xray")
    assert xray.value == "gpt" and xray.options[0] == "Use my default"
    xray.select_index(0).run()
    assert not at.exception
    assert at.success[0].value == "Saved: xray now uses your default model: Claude (Anthropic)."
    assert at.selectbox(key="prefs_xray").value == ""
    assert stored_rows("alice") == {None: "claude"}
    again = page().run()
    assert again.selectbox(key="prefs_xray").value == ""
    table = again.dataframe[0].value
    assert table.loc[table["Service type"] == "xray", "Because"].item() == "your default"


def test_page_removes_the_default_with_use_the_app_default(configured):
    main(["prefs", "set", "--user", "alice", "--model", "claude"])
    main(["prefs", "set", "--user", "alice", "--model", "gpt", "--service", "xray"])
    at = page().run()
    assert at.selectbox(key="prefs_default").value == "claude"
    at.selectbox(key="prefs_default").select_index(0).run()
    assert at.success[0].value == "Saved: you now use the app default model: Gemini (Google)."
    assert stored_rows("alice") == {"xray": "gpt"}
    table = page().run().dataframe[0].value
    assert dict(zip(table["Service type"], table["Because"])) == {
        "(any other)": "the app's default", "xray": "your override",
        "smart_questions": "the app's default", "answer_builder": "the app's default"}


def test_page_says_so_when_a_removal_is_refused(configured, monkeypatch):
    from core.errors import StoreUnavailableError
    from core.store.sqlite import SqliteStore

    def down(*args, **kwargs):
        raise StoreUnavailableError("The sqlite store is unavailable; try again.")

    main(["prefs", "set", "--user", "alice", "--model", "gpt", "--service", "xray"])
    monkeypatch.setattr(SqliteStore, "clear_preference", down)
    at = page().run()
    at.selectbox(key="prefs_xray").select_index(0).run()
    assert at.error[0].value == "The sqlite store is unavailable; try again."
    assert stored_rows("alice") == {"xray": "gpt"}
