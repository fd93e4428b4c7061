"""The browser fixtures' check of the Streamlit server's terminal: what counts as a stack trace,
and how it is reported (no browser needed)."""
from __future__ import annotations

from tests.browser.conftest import REPO, AppHandle, _parley_frames

WIDGET_WARNING = f"""2026-12-03 14:29:55.767 The widget with key "k" was created with a default value but also had its value set via the Session State API.
Stack (most recent call last):
  File "{REPO}/.venv/lib/python3.11/site-packages/streamlit/navigation/page.py", line 574, in run
    exec(code, module.__dict__)
  File "{REPO}/app_pages/evals.py", line 42, in <module>
    template = eval_setup.template_picker(bench, user=user, admin=admin, key="evals_template")
  File "{REPO}/ui/components/eval_setup.py", line 23, in template_picker
    chosen = st.selectbox("Saved template", refs, key=f"{{key}}_ref")
2026-12-03 14:29:56.001 next line
"""
EXCEPTION = """Traceback (most recent call last):
  File "x.py", line 1, in <module>
ValueError: boom
"""


def handle_with(tmp_path, text: str) -> AppHandle:
    log = tmp_path / "streamlit.log"
    log.write_text(text, encoding="utf-8")
    return AppHandle("http://127.0.0.1:1", tmp_path, "", tmp_path, {}, log, None)


def test_a_clean_terminal_has_no_trace(tmp_path):
    clean = "  You can now view your Streamlit app in your browser.\n  URL: http://127.0.0.1:1\n"
    assert handle_with(tmp_path, clean).stack_traces() == []


def test_tracebacks_and_logged_stacks_are_found_with_their_message(tmp_path):
    traces = handle_with(tmp_path, WIDGET_WARNING + EXCEPTION).stack_traces()
    assert len(traces) == 2
    assert traces[0].startswith("2026-12-03 14:29:55.767 The widget with key")
    assert "ValueError: boom" in traces[1]


def test_a_trace_names_the_parley_code_it_came_from(tmp_path):
    trace = handle_with(tmp_path, WIDGET_WARNING).stack_traces()[0]
    assert _parley_frames(trace) == "app_pages/evals.py:42 > ui/components/eval_setup.py:23"
    assert _parley_frames(EXCEPTION) == "outside Parley's code"
