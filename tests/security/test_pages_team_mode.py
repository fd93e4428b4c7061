"""The /evals and /keys pages in team mode (AppTest, signed in through Streamlit's auth):
what bob sees of alice's work, what a share link shows him, and that his own key stays
within the key policy."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_pages.test_console import AUTH
from tests.emulated import KEYS, write_config
from tests.paths import PAGES
from tests.rendered import seen
from tests.security.conftest import ALICE, BOB, ROOT, ROWS


@pytest.fixture
def team(emulator, tmp_path, monkeypatch):
    """``team(privacy)``: config on the emulator (root the one admin), alice's finished run
    and a cancelled one; returns ``(bench, finished_id, cancelled_id)``. ``page(name, user)``
    builds the signed-in AppTest."""
    from ui.deps import evals, parts

    def build(privacy: str = "none"):
        config = write_config(emulator, tmp_path / "parley.yaml",
                              parley={"privacy": privacy, "admins": [ROOT]})
        monkeypatch.setenv("PARLEY_CONFIG", str(config))
        for var, name in (("ANTHROPIC_API_KEY", "claude"), ("GEMINI_API_KEY", "gemini"),
                          ("OPENAI_API_KEY", "gpt")):
            monkeypatch.setenv(var, KEYS[name])
        parts.clear()
        evals.clear()
        bench, _ = evals()
        bench.save_template("qa", "{{ question }}", user=ALICE, service_type="xray")
        data = bench.upload_dataset(ROWS, "qs.csv", user=ALICE)
        done = bench.runner.start(bench.runner.plan("qa", data, ["claude", "gemini"], user_id=ALICE))
        bench.runner.execute_sync(done)
        stopped = bench.runner.start(bench.runner.plan("qa", data, ["claude", "gpt"], user_id=ALICE))
        bench.evals.set_run_status(stopped, "cancelled")
        return bench, done, stopped

    yield build
    parts.clear()
    evals.clear()


def page(name: str, user: str, **query) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=30)
    at.secrets["auth"] = dict(AUTH)
    at.user = {"is_logged_in": True, "email": user, "email_verified": True, "name": user[:3]}
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def everything(at) -> str:
    """All text and table cells on the page, and every option a widget offers, as seen."""
    parts = [seen(str(e.value)) for e in [*at.markdown, *at.caption, *at.info, *at.success, *at.error,
                                     *at.warning, *at.title, *at.subheader]]
    parts += [d.value.to_csv() for d in at.dataframe]
    parts += [str(o) for w in [*at.selectbox, *at.multiselect] for o in w.options]
    return " ".join(parts)


def test_bob_sees_none_of_alices_runs_templates_or_datasets(team):
    bench, done, stopped = team()
    at = page("evals", BOB)
    assert not at.exception, at.exception
    shown = everything(at)
    assert done not in shown and stopped not in shown and "qa@1" not in shown
    assert "Echo: say a" not in shown and "say a" not in shown
    assert "No runs yet" in shown and "No dataset yet" in shown


def test_alice_sees_her_runs_and_resumes_her_own(team):
    bench, done, stopped = team()
    at = page("evals", ALICE)
    assert not at.exception, at.exception
    runs = at.selectbox(key="evals_pick")
    assert {option.split(" ")[0] for option in runs.options} == {done, stopped}
    assert "Echo: say a" in everything(at)


def test_a_run_link_does_not_open_another_users_run(team):
    bench, done, _ = team()
    at = page("evals", BOB, run=done)
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [f"There is no run '{done}' you can open; ask its "
                                           "owner for a share link."]
    assert not at.dataframe and "Echo" not in everything(at)


@pytest.mark.parametrize("privacy, answers", [("none", False), ("store", True)])
def test_a_share_link_opens_the_run_read_only_as_privacy_allows(team, privacy, answers):
    bench, done, _ = team(privacy)
    token = bench.share(done, user=ALICE, as_user=ALICE)
    at = page("evals", BOB, share=token)
    assert not at.exception, at.exception
    shown = everything(at)
    assert f"Run {done}" in shown and "Cost per row" in shown  # the totals (no checks: no pass rate)
    assert ("Echo: say a" in shown) is answers
    assert not [b for b in at.button if b.label in ("Resume", "Cancel") or b.label.startswith("Use ")]
    assert not at.get("download_button") or answers


def test_an_admin_sees_alices_cancelled_run_but_only_alice_resumes_it(team):
    bench, _, stopped = team()
    at = page("evals", ROOT)
    at.selectbox(key="evals_pick").set_value(stopped).run()
    assert not at.exception, at.exception
    assert not [b for b in at.button if b.label == "Resume"]
    assert f"Only {ALICE} can resume this run" in everything(at)
    at = page("evals", ALICE)
    at.selectbox(key="evals_pick").set_value(stopped).run()
    assert [b for b in at.button if b.label == "Resume"]


def test_bob_cannot_make_himself_an_unlimited_key(team):
    team()
    at = page("keys", BOB)
    assert not at.exception, at.exception
    at.button[0].click().run()  # the form's "Create key", with no budget and no limits
    assert any("needs a monthly budget of at most $10.00" in e.value for e in at.error)
    assert not at.code  # no secret shown
    at = page("keys", BOB)
    assert "No keys yet" in everything(at)


def test_alice_makes_a_share_link_on_the_page_and_bob_opens_it(team):
    bench, done, _ = team("store")
    at = page("evals", ALICE)
    at.selectbox(key="evals_pick").set_value(done).run()
    next(b for b in at.button if b.label == "Make a share link").click().run()
    link = next(c.value for c in at.code if c.value.startswith("/evals?share="))
    at = page("evals", BOB, share=link.split("=", 1)[1])
    assert not at.exception and f"Run {done}" in everything(at)
    assert "Echo: say a" in everything(at)
    at = page("evals", ALICE)
    at.selectbox(key="evals_pick").set_value(done).run()
    next(b for b in at.button if b.label == "Stop sharing").click().run()
    at = page("evals", BOB, share=link.split("=", 1)[1])
    assert [e.value for e in at.error] == ["This share link opens no run: its owner may have "
                                           "stopped sharing it."]


def test_the_keys_page_tells_bob_his_limits(team):
    team()
    shown = everything(page("keys", BOB))
    assert ("a monthly budget of at most $10.00, at most 60 calls a minute, an expiry within "
            "90 days, at most 5 active keys.") in shown
