"""db verify: every answered call in the local journal is in the store exactly once, the
rollups equal their rows, nothing is stuck; a deleted row and a doubled one are caught."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from core.cli import main
from core.recording.recorder import spool_dir_for
from core.recording.verify import verify_recording
from core.service import AIService
from tests.emulated import KEYS, write_config


@pytest.fixture
def recorded(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEYS["gpt"])
    monkeypatch.setenv("PARLEY_CONFIG", str(write_config(emulator, tmp_path / "parley.yaml",
                                                         models=("gpt",))))
    svc = AIService.from_env()
    settings = svc.settings
    ids = [svc.generate_sync(f"question {n}", user_id="u1", model="gpt").call_id for n in range(3)]
    svc.recorder.flush()
    yield svc, ids, spool_dir_for(settings.data_dir, settings.database_url)
    svc.close()


def sql(svc, statement, *params):
    store = svc.shared_store().unwrapped
    return store._ledger_write(statement + " RETURNING 1", [list(params)])


def test_a_healthy_recording_verifies(recorded, capsys):
    svc, ids, spool = recorded
    report = verify_recording(spool, svc.shared_store())
    assert report.ok and report.counts == {"answered": 3, "recorded": 3, "pending": 0,
                                           "failed_to_record": 0}
    assert main(["db", "verify"]) == 0
    assert "answered: 3  recorded: 3  pending: 0  failed to record: 0" in capsys.readouterr().out


def test_a_deleted_row_is_caught(recorded, capsys):
    svc, ids, spool = recorded
    sql(svc, "DELETE FROM request_logs WHERE litellm_call_id = ?", ids[1])
    report = verify_recording(spool, svc.shared_store())
    assert not report.ok and report.missing == [ids[1]] and report.recorded == 2
    assert report.rollup_mismatches  # the rollup still counts it
    assert main(["db", "verify", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["missing"] == [ids[1]] and out["ok"] is False


def test_a_doubled_call_is_caught(recorded):
    svc, ids, spool = recorded
    sql(svc, "UPDATE usage_daily SET calls = calls * 2, cost = cost * 2")  # folded in twice
    report = verify_recording(spool, svc.shared_store())
    assert not report.ok and report.rollup_mismatches[0]["rollup_calls"] == 6
    assert report.rollup_mismatches[0]["row_calls"] == 3

    class CopiedRows:  # a store without the unique call id (a table made by hand)
        def call_id_counts(self, call_ids):
            return {cid: 2 if cid == ids[0] else 1 for cid in call_ids}

        def rollup_mismatches(self):
            return []

    report = verify_recording(spool, CopiedRows())
    assert report.doubled == [ids[0]] and not report.ok


def test_a_line_waiting_too_long_is_stuck(tmp_path):
    from core.recording.codec import encode_record
    from core.recording.spool import Spool
    from tests.core.store.records import make_record

    spool = Spool(tmp_path)
    old = make_record(created_at=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))
    spool.append(encode_record(old, "none"))

    class Empty:
        def call_id_counts(self, call_ids):
            return {}

        def rollup_mismatches(self):
            return []

    report = verify_recording(tmp_path, Empty())
    assert report.pending == 1 and report.stuck == [old.call_id] and not report.ok
    spool.close()
