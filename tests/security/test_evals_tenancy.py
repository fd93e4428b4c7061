"""Evaluations in team mode (SQLite): a user's datasets, runs, results and votes are theirs.
Another user finds none of them in a list, cannot open, vote on or resume them, and reads a
run only through a share link its owner (or an admin) made; admins see everything."""
from __future__ import annotations

import pytest

from core.errors import BadRequestError
from core.evals.background import BackgroundRuns
from tests.security.conftest import ALICE, BOB, ROOT, ROWS, alices_run


def test_the_runs_list_holds_only_the_users_own_runs(bench):
    run_id = alices_run(bench)
    assert [r["id"] for r in bench.evals.runs(as_user=ALICE)] == [run_id]
    assert bench.evals.runs(as_user=BOB) == []
    assert [r["id"] for r in bench.evals.runs(as_user=ROOT)] == [run_id]  # admins see all


def test_another_user_cannot_open_a_run_its_answers_or_its_progress(bench):
    run_id = alices_run(bench)
    for read in (lambda: bench.report(run_id, as_user=BOB),
                 lambda: bench.progress(run_id, as_user=BOB)):
        with pytest.raises(BadRequestError, match=f"There is no run '{run_id}' you can open"):
            read()
    assert bench.report(run_id, as_user=ALICE)["progress"]["answered"] == 4
    assert bench.report(run_id, as_user=ROOT)["progress"]["answered"] == 4


def test_the_pickers_offer_only_the_users_own_templates_and_datasets(bench):
    alices_run(bench)
    assert bench.evals.templates(as_user=BOB) == [] and bench.evals.datasets(as_user=BOB) == []
    assert [t["ref"] for t in bench.evals.templates(as_user=ALICE)] == ["qa@1"]
    with pytest.raises(BadRequestError, match="There is no template 'qa'"):
        bench.template("qa", as_user=BOB)
    with pytest.raises(BadRequestError, match="There is no dataset 'qs'"):
        bench.dataset("qs", user=BOB)
    alices = bench.evals.datasets(as_user=ALICE)[0]
    assert bench.dataset_by_id(alices["id"], as_user=ROOT).ref == "qs@1"
    with pytest.raises(BadRequestError):
        bench.dataset_by_id(alices["id"], as_user=BOB)


def test_the_same_file_name_gives_each_user_their_own_dataset(bench):
    alices_run(bench)
    bobs = bench.upload_dataset(b"question\nbob's own question\n", "qs.csv", user=BOB)
    assert bobs.ref == "qs@1" and bobs.created_by == BOB
    assert bench.dataset("qs", user=ALICE).rows[0]["question"] == "say a"
    assert bench.dataset("qs", user=BOB).rows[0]["question"] == "bob's own question"


def test_a_run_cannot_be_planned_on_another_users_template_or_dataset(bench):
    alices_run(bench)
    alices_data = bench.dataset("qs", user=ALICE)
    with pytest.raises(BadRequestError, match="There is no template 'qa'"):
        bench.runner.plan("qa", alices_data, ["claude", "gemini"], user_id=BOB, as_user=BOB)
    bench.save_template("bq", "{{ question }}", user=BOB)
    with pytest.raises(BadRequestError, match="dataset qs@1 is not yours"):
        bench.runner.plan("bq", alices_data, ["claude", "gemini"], user_id=BOB, as_user=BOB)


def test_only_the_owner_resumes_a_run_and_nothing_is_spent_for_anyone_else(bench, emulator):
    bench.save_template("qa", "{{ question }}", user=ALICE)
    data = bench.upload_dataset(ROWS, "qs.csv", user=ALICE)
    run_id = bench.runner.start(bench.runner.plan("qa", data, ["claude", "gemini"], user_id=ALICE))
    bench.evals.set_run_status(run_id, "cancelled")
    runs = BackgroundRuns(bench.runner)
    for intruder in (BOB, ROOT):  # an admin neither: it would spend under alice's id and budget
        with pytest.raises(BadRequestError, match=f"Only {ALICE} can resume run {run_id}"):
            runs.start(run_id, as_user=intruder)
    assert emulator.requests == [] and bench.evals.run(run_id)["status"] == "cancelled"
    assert runs.start(run_id, as_user=ALICE)
    assert runs.wait(run_id, timeout=30)["status"] == "done"


def test_another_user_cannot_cancel_or_vote_on_a_run(bench):
    run_id = alices_run(bench)
    runs = BackgroundRuns(bench.runner)
    with pytest.raises(BadRequestError, match="you can open"):
        runs.cancel(run_id, as_user=BOB)
    with pytest.raises(BadRequestError, match="you can open"):
        bench.vote(run_id, 0, BOB, ["claude", "gemini"], "claude", as_user=BOB)
    assert bench.evals.row_votes(run_id) == []
    bench.vote(run_id, 0, ALICE, ["claude", "gemini"], "claude", as_user=ALICE)
    assert [v["user_id"] for v in bench.evals.row_votes(run_id)] == [ALICE]


def test_a_share_link_made_by_the_owner_opens_the_run_until_sharing_stops(bench):
    run_id = alices_run(bench)
    with pytest.raises(BadRequestError, match="you can open"):
        bench.share(run_id, user=BOB, as_user=BOB)
    token = bench.share(run_id, user=ALICE, as_user=ALICE)
    assert run_id not in token and len(token) >= 20
    assert bench.shared_run(token) == run_id
    assert bench.shared_run(run_id) is None and bench.shared_run("nope") is None
    assert bench.report(bench.shared_run(token))["run"]["id"] == run_id
    with pytest.raises(BadRequestError, match="you can open"):
        bench.stop_sharing(run_id, as_user=BOB)
    bench.stop_sharing(run_id, as_user=ALICE)
    assert bench.shared_run(token) is None


def test_an_admin_can_share_anyones_run(bench):
    run_id = alices_run(bench)
    token = bench.share(run_id, user=ROOT, as_user=ROOT)
    assert bench.shared_run(token) == run_id
