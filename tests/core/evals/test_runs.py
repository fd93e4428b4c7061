"""Runs on the emulator: every pair answered and recorded through AIService with the run's id
and the template's service type; checks, a judge whose calls are priced apart, totals, votes,
cancel, and the decision that sends later calls to the winner."""
from __future__ import annotations

import threading
import time

import pytest

from core.errors import BadRequestError
from core.evals.scoring import JudgeSpec
from tests.fakes import Fault, Reply

ROWS = b"question,expected\n" + b"".join(f"Name item {i},Echo: Name item {i}\n".encode() for i in range(6))


def _records(svc):
    svc.recorder.flush(timeout=10)
    with svc.store._reading() as conn:
        return conn.execute("SELECT service_type, model, eval_run_id, status, "
                            "json_extract(metadata, '$.eval_row'), "
                            "json_extract(metadata, '$.eval_role') FROM request_logs").fetchall()


def _run(bench, models=("claude", "gemini"), judge=None, checks=("equals",), **options):
    bench.save_template("names", "{{ question }}", user="ana", service_type="answer_builder")
    data = bench.upload_dataset(ROWS, "items.csv", user="ana")
    plan = bench.runner.plan("names", data, list(models), user_id="ana", judge=judge,
                             checks=list(checks), concurrency=3)
    run_id = bench.runner.start(plan)
    return plan, run_id, bench.runner.execute_sync(run_id, **options)


def test_a_run_answers_every_pair_once_and_records_it_with_the_run_id(svc, bench, emulator):
    emulator.set_default("gemini-2.5-flash", Reply(text="something else"))
    seen = []
    plan, run_id, outcome = _run(bench, progress=seen.append)
    assert plan.estimate is not None and plan.estimate > 0
    assert outcome["status"] == "done" and outcome["answered"] == 12
    assert [s["answered"] for s in seen] == list(range(1, 13))
    assert seen[-1]["cost"] == pytest.approx(outcome["cost"]) and outcome["cost"] > 0
    records = _records(svc)
    assert len(records) == 12
    assert {r[0] for r in records} == {"answer_builder"} and {r[2] for r in records} == {run_id}
    assert sorted((r[1], r[4]) for r in records) == sorted(
        (m, i) for m in ("claude", "gemini") for i in range(6))
    totals = {t["model"]: t for t in bench.report(run_id)["totals"]}
    assert totals["claude"]["pass_rate"] == 1.0 and totals["gemini"]["pass_rate"] == 0.0
    assert totals["claude"]["answered"] == 6 and totals["claude"]["failures"] == 0
    assert totals["claude"]["p50_ms"] is not None and totals["claude"]["cost"] > 0


def test_the_judge_scores_blind_and_its_calls_are_recorded_apart(svc, bench, emulator):
    emulator.enqueue("gpt-4.1-mini", *[Reply(text=f'{{"score": {s}, "reason": "Fine."}}')
                                       for s in [8] * 6 + [3] * 6])
    _, run_id, outcome = _run(bench, judge=JudgeSpec("gpt", "Is the item named?"))
    report = bench.report(run_id)
    assert sorted(r["judge_score"] for r in report["results"]) == [3.0] * 6 + [8.0] * 6
    assert all(r["judge_cost"] and r["judge_cost"] > 0 for r in report["results"])
    judged = [r for r in emulator.requests if r.model == "gpt-4.1-mini"]
    assert len(judged) == 12
    assert not any("claude" in str(r.body) or "gemini" in str(r.body) for r in judged)
    roles = [r for r in _records(svc) if r[5] == "judge"]
    assert len(roles) == 12 and {r[0] for r in roles} == {"eval_judge"}
    totals = report["totals"]
    assert sum(t["mean_judge_score"] for t in totals) * 6 == pytest.approx(66)
    assert all(t["judge_discriminates"] is True and t["win_source"] == "judge" for t in totals)
    assert outcome["cost"] == pytest.approx(sum(r["cost"] + r["judge_cost"] for r in report["results"]))


def test_a_judge_giving_every_answer_one_score_is_not_shown_as_a_score(bench, emulator):
    emulator.set_default("gpt-4.1-mini", Reply(text='{"score": 10, "reason": "Perfect."}'))
    _, run_id, _ = _run(bench, judge=JudgeSpec("gpt"), checks=())
    report = bench.report(run_id)
    assert {r["judge_score"] for r in report["results"]} == {10.0}  # kept, row by row
    assert [(t["judge_discriminates"], t["mean_judge_score"], t["win_rate"], t["win_source"],
             t["quality_per_dollar"]) for t in report["totals"]] == [(False, None, None, "none", None)] * 2


def test_a_judge_answering_garbage_leaves_no_score_and_says_why(bench, emulator):
    emulator.set_default("gpt-4.1-mini", Reply(text="I like turtles"))
    _, run_id, outcome = _run(bench, judge=JudgeSpec("gpt"))
    results = bench.report(run_id)["results"]
    assert outcome["status"] == "done"
    assert {r["judge_score"] for r in results} == {None}
    assert {r["judge_reason"] for r in results} == {
        "The judge (gpt) did not give a score from 1 to 10; it answered: 'I like turtles'. "
        "Choose a stronger judge model or make the rubric clearer."}
    assert [t["mean_judge_score"] for t in bench.report(run_id)["totals"]] == [None, None]


def test_a_failing_model_is_counted_as_failures_not_a_crash(bench, emulator):
    emulator.set_default("claude-sonnet-4-5-20250929", Fault("auth"))
    _, run_id, outcome = _run(bench)
    totals = {t["model"]: t for t in bench.report(run_id)["totals"]}
    assert outcome["status"] == "done"
    assert totals["claude"]["failures"] == 6 and totals["claude"]["answered"] == 0
    assert totals["gemini"]["answered"] == 6


def test_a_row_missing_a_variable_is_refused_before_anything_is_stored_or_sent(bench, emulator):
    bench.save_template("names", "{{ question }} in {{ lang }}", user="ana")
    data = bench.upload_dataset(ROWS, "items.csv", user="ana")
    with pytest.raises(BadRequestError) as caught:
        bench.runner.plan("names", data, ["claude", "gemini"], user_id="ana")
    assert "uses 'lang' but the dataset has no such column" in str(caught.value)
    assert bench.evals.runs() == [] and emulator.requests == []


def test_cancel_stops_the_run_and_running_again_finishes_it(bench, emulator):
    emulator.set_default("*", Reply(ttft=0.05))
    cancel = threading.Event()
    _, run_id, outcome = _run(bench, cancel=cancel,
                              progress=lambda s: s["answered"] >= 3 and cancel.set())
    assert outcome["status"] == "cancelled" and 3 <= outcome["answered"] < 12
    asked_before = len(emulator.requests)
    again = bench.runner.execute_sync(run_id)
    assert again["status"] == "done" and again["answered"] == 12
    assert len(emulator.requests) == asked_before + (12 - outcome["answered"])


def test_votes_rank_models_and_the_winner_serves_the_service_type(svc, bench):
    _, run_id, _ = _run(bench)
    for row in range(5):
        bench.vote(run_id, row, "ana", ["claude", "gemini"], "gemini")
    bench.vote(run_id, 5, "ana", ["claude", "gemini"], "claude")
    totals = {t["model"]: t for t in bench.report(run_id)["totals"]}
    assert totals["gemini"]["rank"] == 1 and totals["gemini"]["win_rate"] == pytest.approx(5 / 6)
    assert totals["gemini"]["win_low"] < 5 / 6 < totals["gemini"]["win_high"]
    with pytest.raises(BadRequestError, match="Only an admin"):
        bench.decide(run_id, "claude", user="ana", everyone=True, is_admin=False)
    bench.decide(run_id, "claude", user="boss", everyone=True, is_admin=True)
    served = svc.generate_sync("hello", user_id="someone-else", service_type="answer_builder")
    assert served.model == "claude"
    assert bench.evals.decisions(["*"])[0]["run_id"] == run_id
    from core.routing import preferences

    said = preferences.resolved(svc.store, svc.settings, svc.catalog, "someone-else", "answer_builder")
    assert (said["model"], said["source"]) == ("claude", "everyone")  # prefs get agrees
    svc.store.set_preference("ana", "gpt", "answer_builder")  # a user's own choice still wins
    svc.preferences.forget("ana")
    assert svc.generate_sync("hello", user_id="ana", service_type="answer_builder").model == "gpt"


def test_generate_from_a_template_renders_it_and_names_the_version(svc, bench, emulator):
    bench.save_template("greet", "Say hi to {{ name }}", system="You are {{ mood }}.",
                        user="ana", service_type="xray")
    result = svc.generate_sync(template="greet", variables={"name": "Ada", "mood": "cheerful"},
                               user_id="ana", model="gpt")
    assert result.content == "Echo: Say hi to Ada"
    sent = emulator.requests[-1].body["messages"]
    assert sent[0] == {"role": "system", "content": "You are cheerful."}
    records = _records(svc)
    assert records[-1][0] == "xray"
    with pytest.raises(BadRequestError, match=r"uses \{\{ mood \}\} but no value for 'mood'"):
        svc.generate_sync(template="greet@1", variables={"name": "Ada"}, user_id="ana")
    assert len(emulator.requests) == 1


def test_an_answer_recorded_before_a_kill_is_adopted_not_asked_again(svc, bench, emulator):
    bench.save_template("names", "{{ question }}", user="ana", service_type="answer_builder")
    data = bench.upload_dataset(ROWS, "items.csv", user="ana")
    run_id = bench.runner.start(bench.runner.plan("names", data, ["claude", "gemini"],
                                                  user_id="ana", checks=["equals"]))
    # What a process killed after the provider answered, before the result was stored, leaves:
    svc.generate_sync("Name item 2", user_id="ana", service_type="answer_builder", model="claude",
                      fallbacks=False, metadata={"eval_run_id": run_id, "eval_row": 2,
                                                 "eval_model": "claude"})
    outcome = bench.runner.execute_sync(run_id)
    assert outcome["answered"] == 12 and len(emulator.requests) == 12
    adopted = next(r for r in bench.report(run_id)["results"]
                   if (r["row_index"], r["model"]) == (2, "claude"))
    assert adopted["answer"] == "Echo: Name item 2" and adopted["passed"] is True


def test_a_spent_budget_stops_the_run_with_its_reason_and_nothing_is_sent(emulator, tmp_path):
    from core.evals.workbench import Workbench
    from tests.core.evals.conftest import evals_service

    svc = evals_service(emulator, tmp_path, budgets={"users": {"ana": 0}, "hard": True})
    try:
        _, run_id, outcome = _run(Workbench(svc))
    finally:
        svc.close()
    assert outcome["status"] == "stopped" and outcome["answered"] == 0
    assert "budget" in outcome["note"].lower()
    assert emulator.requests == []


def test_results_export_as_csv_with_inputs_and_answers(bench):
    import csv
    import io

    from core.evals.results import to_csv

    _, run_id, _ = _run(bench)
    report = bench.report(run_id)
    rows = list(csv.DictReader(io.StringIO(to_csv(report["results"], report["dataset"].columns,
                                                  report["dataset"].rows))))
    assert len(rows) == 12
    first = rows[0]
    assert (first["question"], first["expected"], first["row"], first["model"]) == \
        ("Name item 0", "Echo: Name item 0", "1", "claude")
    assert first["answer"] == "Echo: Name item 0" and first["passed"] == "True"
    assert float(first["cost"]) > 0


def test_a_background_run_reports_progress_and_can_be_cancelled(bench, emulator):
    from core.evals.background import BackgroundRuns

    emulator.set_default("*", Reply(ttft=0.1))
    bench.save_template("names", "{{ question }}", user="ana")
    data = bench.upload_dataset(ROWS, "items.csv", user="ana")
    plan = bench.runner.plan("names", data, ["claude", "gemini"], user_id="ana", concurrency=1)
    run_id = bench.runner.start(plan)
    runs = BackgroundRuns(bench.runner)
    assert runs.start(run_id) and not runs.start(run_id)  # one execution at a time
    assert runs.active(run_id)
    while bench.evals.progress(run_id)["answered"] < 2:
        time.sleep(0.02)
    assert runs.cancel(run_id)
    outcome = runs.wait(run_id, timeout=10)
    assert outcome["status"] == "cancelled" and not runs.active(run_id)
    assert runs.start(run_id)
    assert runs.wait(run_id, timeout=30)["status"] == "done"
    assert bench.evals.run(run_id)["status"] == "done"
