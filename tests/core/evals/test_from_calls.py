"""Datasets from the call log: recorded calls of a service type become rows, and a call kept
without its prompt is refused by name."""
from __future__ import annotations

import pytest

from core.errors import BadRequestError
from tests.core.store.records import make_record


def test_calls_of_a_service_type_become_a_dataset_a_template_can_run_on(svc, bench):
    for question in ("What is 2+2?", "Name a colour"):
        svc.generate_sync(question, user_id="ana", service_type="xray", system_prompt="Be brief.")
    svc.generate_sync("not this one", user_id="ana", service_type="answer_builder")
    svc.recorder.flush(timeout=10)
    data = bench.dataset_from_service("xray", name="xray_real", user="ana")
    assert data.ref == "xray_real@1" and data.source == "calls"
    assert data.columns == ("prompt", "system", "expected")
    assert sorted(r["prompt"] for r in data.rows) == ["Name a colour", "What is 2+2?"]
    assert {r["system"] for r in data.rows} == {"Be brief."}
    assert {r["expected"] for r in data.rows} == {"Echo: What is 2+2?", "Echo: Name a colour"}
    template = bench.save_template("replay", "{{ prompt }}", system="{{ system }}", user="ana")
    plan = bench.runner.plan(template.ref, data, ["claude", "gpt"], user_id="ana", checks=["equals"])
    assert plan.calls == 4


def test_a_call_recorded_without_its_prompt_is_refused_and_nothing_is_stored(svc, bench):
    svc.store.record_calls([make_record(call_id="hashed", user_id="ana", messages="ab12" * 16),
                            make_record(call_id="kept", user_id="ana",
                                        messages=[{"role": "user", "content": "hi"}])])
    with pytest.raises(BadRequestError) as caught:
        bench.dataset_from_calls(["kept", "hashed"], name="picked", user="ana")
    assert str(caught.value).startswith("Call hashed kept no prompt")
    with pytest.raises(BadRequestError, match="There is no call 'ghost'"):
        bench.dataset_from_calls(["ghost"], name="picked", user="ana")
    assert bench.evals.datasets() == []
    assert bench.dataset_from_calls(["kept"], name="picked", user="ana").rows[0]["prompt"] == "hi"
