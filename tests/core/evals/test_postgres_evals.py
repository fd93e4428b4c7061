"""The same evaluation flow on Postgres: versions, a judged run, adoption on resume, totals,
a decision for everyone, and a dataset from calls."""
from __future__ import annotations

import pytest

from core.evals.scoring import JudgeSpec
from core.evals.workbench import Workbench
from tests.core.evals.conftest import evals_service
from tests.fakes import Reply
from tests.core.store.conftest import create_database, fresh_pg_url  # noqa: F401 (fixtures)

ROWS = b"question,expected\n" + b"".join(f"Name item {i},Echo: Name item {i}\n".encode() for i in range(4))


@pytest.fixture
def pg_bench(emulator, tmp_path, fresh_pg_url):  # noqa: F811
    svc = evals_service(emulator, tmp_path, fresh_pg_url)
    yield Workbench(svc)
    svc.close()


def test_a_judged_run_on_postgres_from_template_to_decision(pg_bench, emulator):
    bench, svc = pg_bench, pg_bench.service
    emulator.set_default("gpt-4.1-mini", Reply(text='{"score": 7, "reason": "ok"}'))
    bench.save_template("names", "{{ question }}", user="ana", service_type="answer_builder")
    assert bench.save_template("names", "Q: {{ question }}", user="ana").ref == "names@2"
    data = bench.upload_dataset(ROWS, "items.csv", user="ana")
    assert bench.upload_dataset(ROWS, "items.csv", user="ana").ref == data.ref == "items@1"
    run_id = bench.runner.start(bench.runner.plan("names@1", data, ["claude", "gemini"],
                                                  user_id="ana", judge=JudgeSpec("gpt"),
                                                  checks=["equals"]))
    svc.generate_sync("Name item 1", user_id="ana", service_type="answer_builder", model="gemini",
                      fallbacks=False, metadata={"eval_run_id": run_id, "eval_row": 1,
                                                 "eval_model": "gemini"})
    outcome = bench.runner.execute_sync(run_id)
    assert outcome["status"] == "done" and outcome["answered"] == 8
    answered = [r for r in emulator.requests if r.model != "gpt-4.1-mini"]
    assert len(answered) == 8  # the adopted pair was not asked again
    report = bench.report(run_id)
    assert {r["judge_score"] for r in report["results"]} == {7.0}  # one score for all: no signal
    assert [(t["model"], t["pass_rate"], t["mean_judge_score"], t["judge_discriminates"])
            for t in report["totals"]] == [("claude", 1.0, None, False), ("gemini", 1.0, None, False)]
    assert all(isinstance(t["cost"], float) for t in report["totals"])
    bench.vote(run_id, 0, "ana", ["claude", "gemini"], "gemini")
    assert {t["model"]: t["rank"] for t in bench.report(run_id)["totals"]} == {"gemini": 1, "claude": 2}
    bench.decide(run_id, "gemini", user="root", everyone=True, is_admin=True)
    assert svc.generate_sync("hi", user_id="zoe", service_type="answer_builder").model == "gemini"
    assert bench.evals.decisions(["*"])[0]["model"] == "gemini"
    svc.recorder.flush(timeout=10)
    from_calls = bench.dataset_from_service("answer_builder", name="real", user="ana")
    assert "hi" in {r["prompt"] for r in from_calls.rows}
