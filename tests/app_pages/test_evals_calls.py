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


def test_the_runs_tab_shows_totals_and_the_matrix(app_env):
    at = AppTest.from_file(str(PAGES / "evals.py"), default_timeout=30).run()
    assert not at.exception, at.exception
    assert app_env in _text(at)
    totals = _frame(at, "pass rate")
    assert list(totals["model"]) == ["claude", "gemini"]
    assert list(totals["pass rate"]) == [pytest.approx(1 / 3), pytest.approx(1 / 3)]
    matrix = _frame(at, "claude score")
    assert list(matrix["claude"]) == ["Echo: say a", "Echo: say b", "Echo: say c"]


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
