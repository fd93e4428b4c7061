"""``db upgrade|status|flush`` and ``usage``: what an operator sees and the exit codes."""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.cli import usage
from core.cli.store import StoreContext, register, safe_location, spool_dir
from core.config.environment import bundled_local_model
from core.errors import BadRequestError, StoreUnavailableError
from core.recording.recorder import Recorder
from core.store.base import USAGE_FIELDS
from tests.core.recording.test_recorder import MemoryStore as RecordingStore, make_record


class MemoryStore(RecordingStore):
    """The recorder tests' fake, with the reads these commands make."""

    def usage(self, by, *, user_id=None, since=None, until=None, as_user=None):
        attr = {"user": "user_id", "service": "service_type"}.get(by, by)
        groups: dict[str, dict] = {}
        for r in self.rows.values():
            if user_id and r.user_id != user_id:
                continue
            key = r.created_at.date().isoformat() if by == "day" else getattr(r, attr)
            g = groups.setdefault(key, dict.fromkeys(USAGE_FIELDS[1:], 0) | {
                "key": key, "unpriced_calls": 0, "demo_calls": 0})
            g["demo_calls"] += bool(r.is_demo)
            g["calls"] += 1
            g["failures"] += r.status == "failure"
            g["input_tokens"] += r.input_tokens
            g["output_tokens"] += r.output_tokens
            g["cost"] += r.total_cost or 0
            g["unpriced_calls"] += r.total_cost is None
        return sorted(groups.values(), key=lambda g: g["key"])

    def status(self):
        if self.down:
            raise StoreUnavailableError("The call store cannot be reached (connection refused).")
        return {"backend": self.backend, "location": "memory", "counts": {"request_logs": len(self.rows)}}


@dataclass
class FakeSettings:
    database_url: str
    data_dir: Path
    privacy: str = "none"
    admins: tuple[str, ...] = ()
    key_policy = {}  # parley.key_policy unset: the defaults

    def secrets(self) -> tuple[str, ...]:
        return ("sk-configured-key-123",)


@pytest.fixture
def settings(tmp_path):
    return FakeSettings("postgresql://app:s3cret@db.example:5432/parley", tmp_path / ".parley")


@pytest.fixture
def store():
    return MemoryStore()


def run(argv: list[str], settings, store, capsys) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    usage.register(commands)
    args = parser.parse_args(argv)
    ctx = StoreContext(settings, store_opener=lambda: store)
    try:
        code = args.run(args, ctx)
    finally:
        ctx.close()
    out, err = capsys.readouterr()
    return code, out, err


def leave_backlog(settings, records) -> None:
    """A process that recorded ``records`` while the store was down, then exited."""
    def down():
        raise ConnectionError("could not connect to server")
    recorder = Recorder(down, spool_dir(settings))
    for rec in records:
        recorder.record(rec)
    recorder.close(timeout=0.2)


def fill(store, records) -> None:
    store.record_calls(records)


RECORDS = [make_record(1, user_id="ann", total_cost=0.5, status="failure"),
           make_record(2, user_id="ann", total_cost=0.25),
           make_record(3, user_id="bob", total_cost=None),
           make_record(4, user_id="cat", total_cost=None),
           make_record(5, user_id="cat", total_cost=0.125)]


def test_usage_json_has_exactly_the_documented_fields(settings, store, capsys):
    fill(store, RECORDS)
    code, out, _ = run(["usage", "--by", "user", "--json"], settings, store, capsys)
    rows = json.loads(out)
    assert code == 0
    assert all(list(r) == ["key", "calls", "failures", "input_tokens", "output_tokens", "cost",
                           "price", "demo_calls"] for r in rows)
    by_key = {r["key"]: r for r in rows}
    assert by_key["ann"] == {"key": "ann", "calls": 2, "failures": 1, "input_tokens": 23,
                             "output_tokens": 10, "cost": 0.75, "price": "known", "demo_calls": 0}
    assert by_key["bob"]["cost"] is None  # only unpriced calls: unknown, never $0
    assert by_key["bob"]["price"] == "unknown"
    assert by_key["cat"]["cost"] == 0.125


def test_usage_table_is_aligned_with_a_total_and_marks_unknown_prices(settings, store, capsys):
    fill(store, RECORDS)
    code, out, _ = run(["usage", "--by", "user"], settings, store, capsys)
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["user", "calls", "failures", "input", "tokens", "output",
                                "tokens", "cost"]
    table = [line for line in lines if not line.startswith(("note", "-"))]
    assert len({len(line) for line in table}) == 1  # every row as wide as the header
    bob = next(line for line in lines if line.startswith("bob"))
    assert bob.endswith("price unknown")
    total = next(line for line in lines if line.startswith("total"))
    assert total.split() == ["total", "5", "1", "65", "25", "$0.875"]
    assert "note: 2 call(s) have no known price" in out


def test_usage_csv_and_filters(settings, store, capsys):
    fill(store, RECORDS)
    code, out, _ = run(["usage", "--by", "model", "--user", "ann", "--csv"], settings, store, capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert rows == [{"model": "claude", "calls": "2", "failures": "1", "input_tokens": "23",
                     "output_tokens": "10", "cost": "0.750000", "price": "known",
                     "demo_calls": "0"}]


def test_usage_shows_local_models_as_local_and_marks_demo_rows(settings, store, capsys):
    """A free local model is "local" in the table, the CSV and the JSON, never $0."""
    fill(store, [make_record(1, model="local", provider="local", total_cost=0.0),
                 make_record(2, model="claude", total_cost=0.5, is_demo=True)])
    settings.models = (bundled_local_model(),)
    _, out, _ = run(["usage", "--by", "model"], settings, store, capsys)
    local = next(line for line in out.splitlines() if line.startswith("local"))
    assert local.split()[-2:] == ["local", "0"] and "$0" not in local
    assert "demo calls" in out.splitlines()[0] and "1 of these calls are demo data" in out
    _, out, _ = run(["usage", "--by", "model", "--json"], settings, store, capsys)
    rows = {r["key"]: r for r in json.loads(out)}
    assert (rows["local"]["cost"], rows["local"]["price"]) == (None, "local")
    assert rows["claude"]["demo_calls"] == 1
    _, out, _ = run(["usage", "--by", "model", "--csv"], settings, store, capsys)
    rows = {r["model"]: r for r in csv.DictReader(io.StringIO(out))}
    assert (rows["local"]["cost"], rows["local"]["price"]) == ("", "local")


def test_usage_mentions_calls_not_yet_shipped(settings, store, capsys):
    fill(store, RECORDS)
    leave_backlog(settings, [make_record(9)])
    _, out, _ = run(["usage"], settings, store, capsys)
    assert "1 recorded call(s) are not shipped yet" in out


def test_usage_with_nothing_recorded_says_so(settings, store, capsys):
    _, out, _ = run(["usage"], settings, store, capsys)
    assert "no calls recorded" in out


def test_usage_refuses_a_bad_day(settings, store, capsys):
    with pytest.raises(BadRequestError, match="YYYY-MM-DD"):
        run(["usage", "--since", "last week"], settings, store, capsys)
    with pytest.raises(BadRequestError, match="after --until"):
        run(["usage", "--since", "2025-02-01", "--until", "2025-01-01"], settings, store, capsys)


def test_usage_with_the_store_failing_is_one_line_and_exit_1(settings, capsys):
    class Broken(MemoryStore):
        def usage(self, *a, **kw):
            raise ConnectionError("connection to postgresql://app:s3cret@db.example failed\nDETAIL")
    code, out, err = run(["usage"], settings, Broken(), capsys)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "s3cret" not in err


def test_db_status_json_shows_backend_counts_and_backlog(settings, store, capsys):
    fill(store, RECORDS)
    leave_backlog(settings, [make_record(n) for n in range(10, 13)])
    code, out, _ = run(["db", "status", "--json"], settings, store, capsys)
    info = json.loads(out)
    assert code == 0
    assert info["counts"] == {"request_logs": 5}
    assert info["backlog"] == 3
    assert "s3cret" not in out


def test_db_status_with_the_store_down_still_shows_the_backlog(settings, store, capsys):
    store.down = True
    leave_backlog(settings, [make_record(1)])
    code, out, _ = run(["db", "status"], settings, store, capsys)
    assert code == 1
    assert "backend: postgres" in out and "backlog: 1" in out
    assert "error: The call store cannot be reached" in out
    assert "location: db.example:5432/parley" in out


def test_db_flush_ships_the_backlog_of_earlier_runs(settings, store, capsys):
    leave_backlog(settings, [make_record(n) for n in range(20)])
    code, out, _ = run(["db", "flush", "--json"], settings, store, capsys)
    assert code == 0
    assert json.loads(out) == {"shipped": 20, "backlog": 0, "error": None}
    assert len(store.rows) == 20


def test_db_flush_with_the_store_down_fails_with_one_line(settings, store, capsys):
    store.down = True
    leave_backlog(settings, [make_record(1), make_record(2)])
    code, out, err = run(["db", "flush", "--timeout", "0.3"], settings, store, capsys)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "2 record(s) stay in" in err


def test_db_upgrade_on_sqlite_then_current(tmp_path, capsys):
    from core.store.sqlite import SqliteStore
    settings = FakeSettings(f"sqlite:///{tmp_path / 'p.db'}", tmp_path)
    store = SqliteStore(tmp_path / "p.db")
    code, out, _ = run(["db", "upgrade", "--json"], settings, store, capsys)
    assert code == 0 and json.loads(out)["applied"]
    store = SqliteStore(tmp_path / "p.db")
    code, out, _ = run(["db", "upgrade"], settings, store, capsys)
    assert "nothing to apply" in out


def test_usage_totals_on_sqlite_equal_the_rows_they_summarise(tmp_path, capsys):
    from core.store.sqlite import SqliteStore
    settings = FakeSettings(f"sqlite:///{tmp_path / 'p.db'}", tmp_path)
    records = [make_record(n, model=("claude", "gemini")[n % 2],
                           status=("success", "failure")[n % 5 == 0],
                           total_cost=None if n % 7 == 0 else 0.0001 * n,
                           created_at=dt.datetime(2025, 1, 1 + n % 3, tzinfo=dt.timezone.utc))
               for n in range(300)]
    recorder = Recorder(lambda: SqliteStore(tmp_path / "p.db"), spool_dir(settings))
    for rec in records:
        recorder.record(rec)
    recorder.close(timeout=10)
    for by in ("user", "model", "provider", "service", "day"):
        code, out, _ = run(["usage", "--by", by, "--json"], settings,
                           SqliteStore(tmp_path / "p.db"), capsys)
        rows = json.loads(out)
        assert sum(r["calls"] for r in rows) == len(records)
        assert sum(r["failures"] for r in rows) == sum(r.status == "failure" for r in records)
        assert sum(r["input_tokens"] for r in rows) == sum(r.input_tokens for r in records)
        assert sum(r["output_tokens"] for r in rows) == sum(r.output_tokens for r in records)
        assert sum(r["cost"] or 0 for r in rows) == pytest.approx(
            sum(r.total_cost for r in records if r.total_cost is not None))


def test_safe_location_drops_the_password():
    assert safe_location("postgresql://u:p%40ss@h:5432/db?sslmode=require") == "h:5432/db"
    assert safe_location("sqlite:////tmp/x.db") == "/tmp/x.db"
    assert safe_location("supabase") == "supabase"
