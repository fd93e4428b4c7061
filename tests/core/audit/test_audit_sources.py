"""Each change the audit log promises is written where it happens: a template version by its
author, a model set for everyone by the admin who chose it (with the model it replaced), and a
change of ``parley.budgets`` by ``db upgrade`` (once per change, with before and after)."""
from __future__ import annotations

import json

from core.cli import main
from tests.core.evals.conftest import bench, svc  # noqa: F401 - the fixtures
from tests.core.evals.test_runs import _run
from tests.emulated import KEYS, write_config


def test_a_template_version_is_audited_with_its_author(bench):  # noqa: F811
    bench.save_template("names", "{{ question }}", user="ana", service_type="answer_builder")
    bench.save_template("names", "Q: {{ question }}", user="ana")
    bench.save_template("others", "{{ question }}?", user="ben")
    entries = bench.service.store.audit_entries(action="templates.version")
    assert [(e["actor"], e["target"], e["after"]["template"]) for e in reversed(entries)] == [
        ("ana", "names@1", "{{ question }}"), ("ana", "names@2", "Q: {{ question }}"),
        ("ben", "others@1", "{{ question }}?")]


def test_a_model_set_for_everyone_is_audited_with_the_one_it_replaced(svc, bench):  # noqa: F811
    _, run_id, _ = _run(bench)
    bench.decide(run_id, "gemini", user="ana", everyone=False, is_admin=False)  # for herself
    assert svc.store.audit_entries(action="preferences.") == []
    bench.decide(run_id, "claude", user="boss", everyone=True, is_admin=True)
    bench.decide(run_id, "gemini", user="boss", everyone=True, is_admin=True)
    entries = list(reversed(svc.store.audit_entries(action="preferences.set_for_everyone")))
    assert [(e["actor"], e["target"], e["before"], e["after"]["model"]) for e in entries] == [
        ("boss", "answer_builder", None, "claude"), ("boss", "answer_builder", "claude", "gemini")]
    assert all(e["after"]["run_id"] == run_id for e in entries)


def test_a_change_of_budgets_is_audited_by_db_upgrade_once(emulator, tmp_path, monkeypatch, capsys):
    for name, env in (("claude", "ANTHROPIC_API_KEY"), ("gemini", "GEMINI_API_KEY"),
                      ("gpt", "OPENAI_API_KEY")):
        monkeypatch.setenv(env, KEYS[name])
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / ".parley"))
    config = tmp_path / "parley.yaml"

    def upgrade(budgets: dict) -> None:
        write_config(emulator, config, parley={"budgets": budgets})
        assert main(["--config", str(config), "db", "upgrade", "--json"]) == 0
        capsys.readouterr()

    upgrade({"default": 50})
    upgrade({"default": 50})  # unchanged: no second entry
    upgrade({"default": 80, "hard": True})
    assert main(["--config", str(config), "audit", "--action", "budgets.", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    changes = [(e["before"], e["after"]) for e in reversed(entries)]
    assert [after for _, after in changes] == [{"default": 50}, {"default": 80, "hard": True}]
    assert changes[1][0] == {"default": 50} and {e["actor"] for e in entries} == {"system"}
