"""The cost console (/costs) and a user's own usage page (/usage), as users see them (AppTest)."""
from __future__ import annotations

import json

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from core.store import open_store
from tests.emulated import KEYS, write_config
from tests.core.console.test_analytics import call
from tests.paths import PAGES
from tests.rendered import seen

TODAY = dt.datetime.now(dt.timezone.utc).date()
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "not-a-secret",
        "client_id": "parley-test", "client_secret": "client-secret-for-tests",
        "server_metadata_url": "https://id.example.com/.well-known/openid-configuration"}
RECENT = [
    call("r1", "alice@example.com", "claude", "xray", TODAY, tokens=(1000, 200), cost=1.25, rt=800, ttft=300),
    call("r2", "alice@example.com", "gemini", "answer_builder", TODAY, tokens=(500, 100), cost=0.5, rt=300),
    call("r3", "bob@example.com", "claude", "xray", TODAY - dt.timedelta(days=3), tokens=(2000, 500),
         cost=2.0, rt=2500, ttft=900),
    call("r4", "bob@example.com", "gemini", "xray", TODAY, status="failure", cost=0.0, rt=1200),
    call("d1", "dora@example.com", "claude", "xray", TODAY, tokens=(10, 10), cost=0.75, demo=True),
]


@pytest.fixture
def app(emulator, tmp_path, monkeypatch):
    """``app(page, calls=(), user=None, parley=None)``: an AppTest of ``pages/<page>.py`` on the
    emulator's models and a fresh SQLite store holding ``calls``. ``user`` signs that email in
    (team mode, admin@example.com the one admin); without it, local mode as alice."""
    from ui.deps import parts

    def build(page: str, *, calls=(), user: str | None = None, parley: dict | None = None) -> AppTest:
        config = write_config(emulator, tmp_path / "parley.yaml",
                              parley={"admins": ["admin@example.com"], **(parley or {})})
        monkeypatch.setenv("PARLEY_CONFIG", str(config))
        monkeypatch.setenv("PARLEY_USER", "alice@example.com")
        for name, env_var in (("claude", "ANTHROPIC_API_KEY"), ("gemini", "GEMINI_API_KEY"),
                              ("gpt", "OPENAI_API_KEY")):
            monkeypatch.setenv(env_var, KEYS[name])
        store = open_store("", data_dir=tmp_path / ".parley")
        store.record_calls(list(calls))
        store.close()
        parts.clear()
        at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=30)
        if user is not None:
            at.secrets["auth"] = dict(AUTH)
            at.user = {"is_logged_in": True, "email": user, "email_verified": True,
                       "name": user.split("@")[0]}
        return at

    yield build
    parts.clear()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_an_empty_store_says_how_to_get_data(app):
    at = app("costs").run()
    assert not at.exception
    assert "No calls match these filters yet" in at.info[0].value
    assert "python -m core demo" in at.info[0].value
    assert not at.get("plotly_chart")


def test_the_console_shows_spend_charts_and_marks_demo_data(app):
    at = app("costs", calls=RECENT).run()
    assert not at.exception
    assert metrics(at) == {"Spend": "$4.50", "Calls": "5", "Tokens": "4,320", "Failed": "20.0%",
                           "Demo calls": "1"}
    assert any("1 of these 5 calls are **demo data**" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) >= 8
    users = at.dataframe[0].value
    assert users["User"].tolist() == ["bob@example.com", "alice@example.com", "dora@example.com"]
    assert list(users.columns[:6]) == ["User", "Calls", "Failures", "Input tokens",
                                       "Output tokens", "Spend"]  # headers in words
    assert "Claude (Anthropic)" in " ".join(m.value for m in at.markdown)


def test_spend_over_time_can_be_stacked_by_kind(app):
    at = app("costs", calls=RECENT).run()
    at.radio(key="costs_stack").set_value("kind").run()
    assert not at.exception
    chart = at.get("plotly_chart")[0]
    figure = json.loads(chart.proto.spec)
    assert {trace["name"] for trace in figure["data"]} == {"chat"}  # no image model configured
    assert "Spend per day by kind" in json.dumps(figure["layout"])


def test_filters_change_every_figure(app):
    at = app("costs", calls=RECENT).run()
    at.multiselect(key="costs_models").set_value(["claude"]).run()
    assert metrics(at)["Spend"] == "$4.00" and metrics(at)["Calls"] == "3"
    at.multiselect(key="costs_users").set_value(["alice@example.com"]).run()
    assert metrics(at)["Calls"] == "1"
    assert at.dataframe[0].value["User"].tolist() == ["alice@example.com"]
    at.multiselect(key="costs_users").set_value([]).run()
    at.toggle(key="costs_demo").set_value(False).run()
    assert metrics(at)["Calls"] == "2" and metrics(at)["Demo calls"] == "0"
    at.date_input(key="costs_days").set_value((TODAY - dt.timedelta(days=5),
                                                TODAY - dt.timedelta(days=1))).run()
    assert metrics(at)["Spend"] == "$2.00"
    at.date_input(key="costs_days").set_value((TODAY - dt.timedelta(days=60),
                                                TODAY - dt.timedelta(days=50))).run()
    assert "No calls match these filters yet" in at.info[0].value


def test_budgets_are_flagged_at_80_and_100_percent(app):
    at = app("costs", calls=RECENT,
             parley={"budgets": {"default": 10, "users": {"bob@example.com": 2.0,
                                                          "alice@example.com": 2.0}}}).run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    warnings = " ".join(w.value for w in at.warning)
    if TODAY.day > 3:  # bob's $2.00 call was three days ago: this month only after the 3rd
        assert "Over budget: bob@example.com" in errors
    assert "alice@example.com" in warnings  # $1.75 of $2.00 is 87.5 %
    budgets = at.dataframe[-1].value
    assert {"Budget", "Spent (of budget)", "Forecast (of budget)", "Status"} <= set(budgets.columns)


def test_without_budgets_the_console_says_so_in_one_line(app):
    at = app("costs", calls=RECENT).run()
    assert any(c.value.startswith("No budgets are set") for c in at.caption)
    assert not any("Status" in d.value.columns for d in at.dataframe)


def test_a_user_who_is_not_an_admin_sees_no_console(app):
    at = app("costs", calls=RECENT, user="bob@example.com").run()
    assert [t.value for t in at.title] == ["Admins only"]
    assert not at.metric and not at.get("plotly_chart")


def test_the_admin_signed_in_sees_the_console(app):
    at = app("costs", calls=RECENT, user="admin@example.com").run()
    assert not at.exception and metrics(at)["Calls"] == "5"


def test_usage_shows_only_the_users_own_calls(app):
    at = app("usage", calls=RECENT, user="bob@example.com").run()
    assert not at.exception
    at.segmented_control(key="usage_period").set_value("Last 7 days").run()
    assert metrics(at) == {"Spend": "$2.00", "Calls": "2", "Tokens": "2,500", "Failed": "1"}
    table = at.dataframe[0].value
    assert set(table["Model"]) == {"claude", "gemini"} and "alice@example.com" not in str(table)
    assert len(at.get("plotly_chart")) == 2


def test_usage_with_no_calls_says_so(app):
    at = app("usage", calls=RECENT, user="carl@example.com").run()
    assert "No calls by carl@example.com" in seen(at.info[0].value)


def test_usage_shows_progress_against_the_users_budget(app):
    at = app("usage", calls=RECENT, parley={"budgets": {"users": {"alice@example.com": 5}}}).run()
    assert not at.exception
    assert "$1.75 of your $5.00 monthly budget" in at.get("progress")[0].proto.text


def test_a_chosen_user_stays_chosen_when_the_dates_leave_them_out(app):
    at = app("costs", calls=RECENT).run()
    at.multiselect(key="costs_users").set_value(["alice@example.com"]).run()
    at.date_input(key="costs_days").set_value((TODAY - dt.timedelta(days=5),
                                                TODAY - dt.timedelta(days=1))).run()
    assert not at.exception
    assert at.multiselect(key="costs_users").value == ["alice@example.com"]
    assert "No calls match these filters yet" in at.info[0].value


def test_usage_with_no_calls_says_where_calls_come_from(app):
    at = app("usage").run()
    said = at.info[0].value
    assert "with `python -m core`" in said and "with one of your API keys" in said
    assert "user id" not in said


def test_usage_of_free_calls_charts_tokens_not_an_empty_spend_axis(app):
    free = [call("g1", "alice@example.com", "gemini", "xray", TODAY, tokens=(300, 40), cost=0.0),
            call("g2", "alice@example.com", "gemini", "chat", TODAY, tokens=(100, 20), cost=0.0)]
    at = app("usage", calls=free).run()
    assert not at.exception
    assert any("No spend to chart" in c.value for c in at.caption)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles == ["Your tokens per model", "Your tokens per feature"]
