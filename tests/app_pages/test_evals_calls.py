"""The evaluations and calls pages render what the store holds (AppTest): a finished run's
totals and matrix, a shared read-only link, and the call log's first page with a filter."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.emulated import KEYS, write_config
from tests.paths import PAGES


@pytest.fixture
def app_env(emulator, tmp_path, monkeypatch):
    """A config on the emulator, a finished run (claude vs gemini on 3 rows), and the service
    the pages will use (``ui.deps`` caches cleared before and after)."""
    from ui.deps import evals, parts, service

    config = write_config(emulator, tmp_path / "parley.yaml", parley={"privacy": "store"})
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    for var, name in (("ANTHROPIC_API_KEY", "claude"), ("GEMINI_API_KEY", "gemini"),
                      ("OPENAI_API_KEY", "gpt")):
        monkeypatch.setenv(var, KEYS[name])
    parts.clear()
    evals.clear()
    bench, _ = evals()
    bench.save_template("qa", "{{ question }}", user="tester", service_type="xray")
    data = bench.upload_dataset(b"question,expected\nsay a,Echo: say a\nsay b,x\nsay c,y\n",
                                "qs.csv", user="tester")
    run_id = bench.runner.start(bench.runner.plan("qa", data, ["claude", "gemini"],
                                                  user_id="tester", checks=["equals"]))
    bench.runner.execute_sync(run_id)
    service().recorder.flush(timeout=10)
    yield run_id
    parts.clear()
    evals.clear()


def _frame(at, column: str):
    """The first table on the page with ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _text(at) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.info, *at.success,
                                            *at.title, *at.subheader])


def test_the_runs_tab_shows_totals_and_the_matrix_as_a_report(app_env):
    at = AppTest.from_file(str(PAGES / "evals.py"), default_timeout=30).run()
    assert not at.exception, at.exception
    assert app_env in _text(at)
    totals = _frame(at, "Pass rate")
    assert list(totals["Model"]) == ["claude", "gemini"]
    assert list(totals["Pass rate"]) == ["33%", "33%"]
    assert all(cost.startswith(("$", "< $")) for cost in totals["Cost"])
    assert all(ms.endswith(" ms") for ms in totals["p50"])
    assert "Judge score" not in totals.columns  # no judge ran: no column of blanks
    matrix = _frame(at, "claude · pass")
    assert list(matrix["question"]) == ["say a", "say b", "say c"]  # inputs are columns
    assert list(matrix["claude"]) == ["Echo: say a", "Echo: say b", "Echo: say c"]
    assert list(matrix["claude · pass"]) == ["yes", "no", "no"]
    assert all(ms.endswith(" ms") for ms in matrix["gemini · time"])
    for frame in (totals, matrix):
        assert not frame.isna().any().any() and "None" not in frame.to_string()
        assert "$0.000000" not in frame.to_string()


def _vote_key(run_id: str, what: str) -> str:
    return f"evals_results_vote_{run_id}_{what}"


def test_blind_voting_ends_with_a_summary_not_row_one_again(app_env):
    at = AppTest.from_file(str(PAGES / "evals.py"), default_timeout=30).run()
    assert not [s for s in at.selectbox if s.label == "Compare"]  # one pair: nothing to pick
    for row in (1, 2, 3):
        assert f"Row {row} of 3: question: say " in _text(at)
        at.button(key=_vote_key(app_env, "buttons_tie")).click().run()
        assert not at.exception, at.exception
    assert "Row 1 of 3" not in _text(at)
    assert ("You have voted on 3 of 3 rows for this pair: claude better 0, gemini better 0, "
            "tie 3, both bad 0.") in _text(at)
    at.button(key=_vote_key(app_env, "again")).click().run()
    assert "Row 1 of 3: question: say a" in _text(at)


def test_apply_is_for_me_unless_an_admin_confirms_everyone(app_env):
    at = AppTest.from_file(str(PAGES / "evals.py"), default_timeout=30).run()
    scope = next(r for r in at.radio if r.label == "Apply")
    assert scope.value == "for me"
    apply = next(b for b in at.button if b.label.startswith("Use "))
    assert not apply.disabled
    scope.set_value("for everyone").run()
    apply = next(b for b in at.button if b.label.startswith("Use "))
    assert apply.disabled  # until the admin confirms
    next(c for c in at.checkbox if c.label.startswith("Yes: every user's")).check().run()
    next(b for b in at.button if b.label.startswith("Use ")).click().run()
    assert any("for everyone" in s.value for s in at.success)


def test_saving_a_template_selects_it(app_env):
    """(Streamlit logs its Session State warning only under a real server: the browser test
    reads the server's log for it.)"""
    at = AppTest.from_file(str(PAGES / "evals.py"), default_timeout=30).run()
    at.selectbox(key="evals_template_ref").set_value("(write a new template)").run()
    at.text_input(key="evals_template_name").input("second")
    at.text_area(key="evals_template_text").input("Say {{ question }}")
    at.button(key="evals_template_save").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="evals_template_ref").value == "second@1"


def test_a_shared_link_opens_the_run_read_only(app_env):
    at = AppTest.from_file(str(PAGES / "evals.py"), default_timeout=30)
    at.query_params["run"] = app_env
    at.run()
    assert not at.exception, at.exception
    assert f"Run {app_env}" in _text(at) and not at.tabs
    assert not [b for b in at.button if "better" in b.label or b.label.startswith("Use ")]


def test_the_calls_page_lists_calls_and_filters_them(app_env):
    at = AppTest.from_file(str(PAGES / "calls.py"), default_timeout=30).run()
    assert not at.exception, at.exception
    calls = at.dataframe[0].value
    assert len(calls) == 6 and set(calls["Model"]) == {"claude", "gemini"}
    assert all(cost.startswith(("$", "<")) for cost in calls["Cost"] if cost != "–")
    at.multiselect(key="calls_models").set_value(["gemini"]).run()
    assert set(at.dataframe[0].value["Model"]) == {"gemini"}


def test_a_fresh_calls_page_says_where_calls_come_from(emulator, tmp_path, monkeypatch):
    """Nothing recorded: one line saying what will show here, no empty grid and no pager."""
    from ui.deps import parts

    monkeypatch.setenv("PARLEY_CONFIG", str(write_config(emulator, tmp_path / "parley.yaml")))
    parts.clear()
    at = AppTest.from_file(str(PAGES / "calls.py"), default_timeout=30).run()
    parts.clear()
    assert not at.exception, at.exception
    assert [i.value for i in at.info] == ["No calls recorded yet: calls made in Compare, Chat, "
                                          "Evaluations or through the API show up here."]
    assert not at.dataframe and not [b for b in at.button if "Older" in b.label]


@pytest.mark.parametrize("viewer, privacy, shown", [
    (dict(user="bob", admin=False), "none", False),   # another user, prompts private
    (dict(user="bob", admin=False), "hash", False),
    (dict(user="bob", admin=False), "store", True),   # the deployment keeps prompts
    (dict(user="tester", admin=False), "none", True),  # the run's author
    (dict(user="alice", admin=True), "none", True),   # an admin
])
def test_a_shared_run_shows_inputs_and_answers_only_as_privacy_allows(viewer, privacy, shown):
    from ui.components.eval_results import texts_visible

    assert texts_visible(read_only=True, author="tester", privacy=privacy, **viewer) is shown
    assert texts_visible(read_only=False, author="tester", privacy=privacy, **viewer) is True
