"""What a run compares: configurations (model + settings + label), so one model under two
settings makes a run, and each configuration's settings are what its calls send."""
from __future__ import annotations

import pytest

from core.errors import BadRequestError, UnknownModelError
from core.evals.configurations import offered, parse_config, parse_contenders


def _labels(specs, catalog):
    return [(c.label, c.model, c.temperature, c.max_tokens) for c in parse_contenders(specs, catalog)]


def test_one_model_named_twice_runs_at_two_temperatures_labelled_by_them(svc):
    assert _labels(["gemini", "gemini"], svc.catalog) == [
        ("gemini · t=0.2", "gemini", 0.2, None), ("gemini · t=0.9", "gemini", 0.9, None)]
    assert _labels(["gemini", "claude", "gemini"], svc.catalog)[1] == ("claude", "claude", None, None)


def test_settings_that_already_differ_are_kept_and_named(svc):
    specs = [{"model": "gemini", "max_tokens": 64}, {"model": "gemini", "max_tokens": 512}]
    assert _labels(specs, svc.catalog) == [("gemini · max 64", "gemini", None, 64),
                                           ("gemini · max 512", "gemini", None, 512)]


def test_given_labels_are_kept_and_a_label_given_twice_is_numbered(svc):
    specs = [{"model": "gemini", "label": "mine"}, {"model": "claude", "label": "mine"}]
    assert [c.label for c in parse_contenders(specs, svc.catalog)] == ["mine #1", "mine #2"]


def test_the_cli_form_of_a_configuration():
    assert parse_config("cool=local,temperature=0.2,max-tokens=64") == {
        "label": "cool", "model": "local", "temperature": "0.2", "max_tokens": "64"}
    with pytest.raises(BadRequestError, match="write LABEL=MODEL"):
        parse_config("local")
    with pytest.raises(BadRequestError, match="'top_p=1' is not a setting"):
        parse_config("a=local,top_p=1")


@pytest.mark.parametrize("spec, words", [
    ({"model": "gemini", "temperature": "hot"}, "temperature must be a number from 0 to 2"),
    ({"model": "gemini", "max_tokens": 0}, "max_tokens must be a whole number"),
    ({"model": "nope"}, "not configured"),
])
def test_a_bad_configuration_is_refused_by_name(svc, spec, words):
    with pytest.raises((BadRequestError, UnknownModelError), match=words):
        parse_contenders([spec, "claude"], svc.catalog)


def test_a_picker_offers_the_bundled_model_in_several_configurations():
    assert [c["label"] for c in offered(["claude", "local"], bundled="local")] == [
        "claude", "local", "local · t=0.2", "local · t=0.9"]
    assert len(offered(["local"], bundled="local")) == 3


def test_a_run_of_one_model_twice_sends_each_configuration_its_temperature(bench, emulator):
    bench.save_template("qa", "{{ question }}", user="ana")
    data = bench.upload_dataset(b"question\none\ntwo\n", "qs.csv", user="ana")
    plan = bench.runner.plan("qa", data, ["gemini", "gemini"], user_id="ana")
    run_id = bench.runner.start(plan)
    assert bench.runner.execute_sync(run_id)["status"] == "done"
    sent = sorted(r.body["generationConfig"]["temperature"] for r in emulator.requests)
    assert sent == [0.2, 0.2, 0.9, 0.9]
    assert [t["model"] for t in bench.report(run_id)["totals"]] == ["gemini · t=0.2", "gemini · t=0.9"]
