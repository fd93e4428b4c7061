"""Bad input, tried as a user would: each case ends in one sentence naming what is wrong,
before anything is sent (no money spent), with nothing recorded wrongly and nothing lost."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from core.config import load_settings
from core.errors import BadRequestError, ConfigError, StoreUnavailableError
from core.recording.recorder import Recorder
from core.results import CallRecord
from core.store import open_store
from core.store.sqlite import SqliteStore
from tests.database import sql
from tests.emulated import Collected, make_service
from tests.paths import REPO

SELF_REFERENCE: dict = {}
SELF_REFERENCE["me"] = SELF_REFERENCE
LOOP: list = []
LOOP.append(LOOP)

# (arguments to generate beside the prompt "Hello", words of the one sentence it must raise)
BAD_CALLS = [
    ({"user_id": "bob\udcff"}, "user_id holds text that is not valid Unicode"),
    ({"user_id": "\ud800"}, "user_id holds text that is not valid Unicode"),
    ({"user_id": 42}, "user_id must be a non-empty string"),
    ({"user_id": "   "}, "user_id must be a non-empty string"),
    ({"service_type": "x\udc80ray"}, "service_type holds text that is not valid Unicode"),
    ({"service_type": None}, "service_type must be a non-empty name"),
    ({"service_type": ["xray"]}, "service_type must be a non-empty name"),
    ({"metadata": {"k": "caf\udce9"}}, "metadata.k holds text that is not valid Unicode"),
    ({"metadata": {"k\udcff": 1}}, "metadata key holds text that is not valid Unicode"),
    ({"metadata": {(1, 2): "tuple key"}}, "has the key (1, 2); metadata keys must be text"),
    ({"metadata": SELF_REFERENCE}, "contains itself"),
    ({"metadata": {"l": LOOP}}, "contains itself"),
    ({"metadata": {"o": object()}}, "metadata.o is a object"),
    ({"metadata": {"n": float("nan")}}, "which JSON cannot hold"),
    ({"metadata": [("a", 1)]}, "metadata must be a mapping"),
    ({"metadata": "a=1"}, "metadata must be a mapping"),
    ({"metadata": {"big": "x" * 70_000}}, "the limit is 64,000"),
    ({"system_prompt": "be \udcff brief"}, "The system prompt holds text that is not valid Unicode"),
    ({"system_prompt": 3}, "The system prompt must be text"),
    ({"history": "hello"}, "history must be a list"),
    ({"history": {"role": "user", "content": "hi"}}, "history must be a list"),
    ({"history": ["hi"]}, "Each history turn needs role"),
    ({"history": [{"role": "user"}]}, "Each history turn needs role"),
    ({"history": [{"role": "system", "content": "x"}]}, "Each history turn needs role"),
    ({"history": [{"role": "user", "content": "\udcff"}]}, "A history turn holds text"),
    ({"model": ["claude", "gemini"]}, "model must be one model name"),
    ({"provider": {"name": "claude"}}, "provider must be one model name"),
    ({"model": "claud"}, "claud"),
    ({"fallbacks": "no"}, "fallbacks must be true or false, not 'no'"),
    ({"fallbacks": 0}, "fallbacks must be true or false"),
    ({"temperature": "hot"}, "Temperature must be a number from 0 to 2"),
    ({"temperature": float("nan")}, "Temperature must be a number from 0 to 2"),
    ({"max_tokens": 1.5}, "max_tokens must be a whole number"),
    ({"max_tokens": True}, "max_tokens must be a whole number"),
    ({"complexity": 3}, "complexity must be one model name"),
]
BAD_PROMPTS = [
    ("caf\udce9", "The prompt holds text that is not valid Unicode (character 4"),
    ("\ud83d", "The prompt holds text that is not valid Unicode"),
    (b"bytes", "The prompt must be text, not bytes"),
    (["Hello"], "The prompt must be text, not list"),
    ("", "The prompt is empty"),
    (None, "The prompt is empty"),
    ("x" * 2_000_001, "the limit is 2,000,000"),
]


@pytest.fixture
def service(emulator):
    collected = Collected()
    svc = make_service(emulator, recorder=collected)
    yield svc, collected
    svc.close()


def _refused(svc, collected, emulator, call) -> str:
    with pytest.raises(BadRequestError) as caught:
        call()
    assert emulator.requests == [], "something was sent to a provider"
    assert collected.records == [], "a refused call was recorded"
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize("kwargs, words", BAD_CALLS, ids=[str(i) for i in range(len(BAD_CALLS))])
def test_bad_arguments_are_one_sentence_and_nothing_is_sent(service, emulator, kwargs, words):
    svc, collected = service
    assert words in _refused(svc, collected, emulator, lambda: svc.generate_sync("Hello", **kwargs))


@pytest.mark.parametrize("kwargs, words", BAD_CALLS[:12], ids=[str(i) for i in range(12)])
def test_streaming_refuses_the_same_way(service, emulator, kwargs, words):
    svc, collected = service
    assert words in _refused(svc, collected, emulator,
                             lambda: list(svc.stream_sync("Hello", **kwargs)))


@pytest.mark.parametrize("prompt, words", BAD_PROMPTS, ids=[str(i) for i in range(len(BAD_PROMPTS))])
def test_bad_prompts_are_one_sentence(service, emulator, prompt, words):
    svc, collected = service
    assert words in _refused(svc, collected, emulator, lambda: svc.generate_sync(prompt))


@pytest.mark.parametrize("name, suggestion", [("temprature", "'temperature'"),
                                              ("system", "'system_prompt'"),
                                              ("user", "'user_id'")])
def test_misspelt_arguments_are_named_with_the_nearest(service, emulator, name, suggestion):
    svc, collected = service
    for call in (lambda: svc.generate_sync("Hello", **{name: 1}),
                 lambda: list(svc.stream_sync("Hello", **{name: 1}))):
        message = _refused(svc, collected, emulator, call)
        assert f"takes no argument {name!r}; did you mean {suggestion}?" in message


def test_compare_refuses_bad_metadata_before_any_column_runs(service, emulator):
    svc, collected = service
    message = _refused(svc, collected, emulator, lambda: svc.compare_sync(
        "Hello", ["claude", "gemini"], metadata={(1,): "x"}))
    assert "metadata keys must be text" in message


def test_a_good_call_after_the_bad_ones_is_answered_and_recorded(service, emulator):
    svc, collected = service
    result = svc.generate_sync("Hello", metadata={"ticket": 7, "tags": ["a", "b"]})
    assert result.ok and len(collected.records) == 1
    assert collected.records[0].metadata["ticket"] == 7


@pytest.mark.parametrize("argv, words", [
    ([b"caf\xe9 au lait"], "The prompt holds text that is not valid Unicode (character 4 is '\\udce9')"),
    (["Hello", "--system", b"be \xff brief"], "The system prompt holds text that is not valid Unicode"),
    (["Hello", "--user", b"bob\xc3"], "user_id holds text that is not valid Unicode"),
    (["Hello", "--service", b"x\x80ray"], "service_type holds text that is not valid Unicode"),
])
def test_invalid_utf8_from_the_shell_is_one_line(tmp_path, argv, words):
    done = subprocess.run([sys.executable, "-m", "core", "ask", *argv], cwd=REPO,
                          capture_output=True, env={**os.environ, "PARLEY_DATA_DIR": str(tmp_path)},
                          timeout=120)
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode != 0 and "Traceback" not in err
    assert words in err
    assert len(err.strip().splitlines()) == 1


# -- the recorder keeps what it cannot encode ------------------------------------------

def _record(call_id: str, **fields) -> CallRecord:
    base = dict(call_id=call_id, user_id="u1", service_type="chat", model="gemini",
                provider="gemini", provider_model="gemini/gemini-2.5-flash", status="success",
                input_tokens=3, output_tokens=5, total_cost=0.001)
    return CallRecord(**{**base, **fields})


@pytest.mark.parametrize("fields", [
    {"user_id": "bob\udcff"},
    {"service_type": "x\ud800"},
    {"metadata": {"k": "caf\udce9"}},
    {"metadata": {(1, 2): "tuple key"}},
    {"metadata": SELF_REFERENCE},
    {"metadata": {"o": object(), "n": float("inf")}},
], ids=["user", "service", "meta-text", "tuple-key", "self-ref", "objects"])
def test_the_recorder_never_drops_an_answered_call(tmp_path, fields):
    store_path = tmp_path / "calls.db"
    recorder = Recorder(lambda: SqliteStore(store_path), tmp_path / "spool", flush_interval=0.05)
    recorder.record(_record("answered-1", **fields))
    assert recorder.flush(10) == 1
    stats = recorder.stats()
    recorder.close()
    assert stats["lost"] == 0 and stats["made_safe"] == 1 and stats["rejected"] == 0
    store = SqliteStore(store_path)
    rows = sql(store, "SELECT user_id, service_type, total_cost, metadata FROM request_logs "
                      "WHERE litellm_call_id = 'answered-1'")
    row = rows[0] if rows else None
    store.close()
    assert row is not None and row[2] == pytest.approx(0.001)
    assert "parley_recording_note" in row[3]


# -- databases and the spool ------------------------------------------------------------

@pytest.mark.parametrize("url, words", [
    ("postgresql://parley:hunter2@db.internal:fivefour/parley", "the port is not a number"),
    ("postgresql://parley:hunter2@[::1/parley", "the IPv6 host is not closed with ]"),
    ("postgresql://parley:hunter2@db:99999/parley", "the port is not from 1 to 65535"),
    ("postgresql://::bad@/", "names no host"),
    ("postgresql://parley:hunter2@db.internal:5432", "names no database"),
    ("postgres://parley:hunter2@:5432/x", "names no host"),
])
def test_malformed_postgres_urls_are_refused_before_connecting(url, words):
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"PARLEY_DATABASE_URL": url})
    assert words in str(caught.value) and "hunter2" not in str(caught.value)
    with pytest.raises(ConfigError):  # opened directly, the same check applies
        open_store(url)


def test_malformed_postgres_url_does_not_touch_the_default_database():
    """``postgresql://::bad@/`` once connected to the local socket and migrated that database."""
    done = subprocess.run([sys.executable, "-m", "core", "db", "upgrade"], cwd=REPO, timeout=120,
                          capture_output=True, text=True,
                          env={**os.environ, "PARLEY_DATABASE_URL": "postgresql://::bad@/"})
    assert done.returncode != 0
    assert done.stderr.strip() == ("error: configuration: PARLEY_DATABASE_URL: names no host; "
                                   "write postgresql://user:password@host:5432/database")


def test_a_sqlite_path_that_is_not_a_database(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("shopping list: milk, eggs\n" * 100)
    with pytest.raises(StoreUnavailableError, match="is not a SQLite database Parley can use"):
        open_store(f"sqlite:///{path}").usage_rollup
        SqliteStore(path)
    assert path.read_text().startswith("shopping list")  # the user's file is left as it was


def test_records_wait_while_the_sqlite_path_is_not_a_database(tmp_path):
    path = tmp_path / "calls.db"
    path.write_bytes(b"not a database at all" * 50)
    recorder = Recorder(lambda: SqliteStore(path), tmp_path / "spool", flush_interval=0.05,
                        max_backoff=0.1)
    recorder.record(_record("kept-1"))
    assert recorder.flush(1) == 0
    assert "is not a SQLite database" in recorder.last_error
    assert recorder.backlog() == 1 and recorder.lost == 0
    path.unlink()  # the operator moves the file aside: the waiting record ships
    assert recorder.flush(10) == 1
    recorder.close()


def test_a_spool_file_replaced_by_a_directory_loses_nothing(tmp_path):
    spool, store_path = tmp_path / "spool", tmp_path / "calls.db"

    def unreachable():
        raise StoreUnavailableError("The call store cannot be reached (connection refused).")

    first = Recorder(unreachable, spool, flush_interval=0.05, max_backoff=0.1)
    for n in range(3):
        first.record(_record(f"before-{n}"))
    segment = next(spool.glob("*.jsonl"))
    segment.unlink()
    segment.mkdir()  # something replaced the spool file with a directory
    for n in range(2):
        first.record(_record(f"after-{n}"))
    time.sleep(0.3)  # a shipping round notices the replaced file
    first.close(timeout=1)
    assert first.lost == 0

    second = Recorder(lambda: SqliteStore(store_path), spool, flush_interval=0.05)
    second.flush(10)
    assert second.stats()["backlog"] == 0
    second.close()
    store = SqliteStore(store_path)
    ids = {r[0] for r in sql(store, "SELECT litellm_call_id FROM request_logs")}
    store.close()
    assert ids == {"before-0", "before-1", "before-2", "after-0", "after-1"}
    assert segment.is_dir()  # what replaced it is left alone
