"""The comparison engine: concurrent fan-out, per-column settings, estimates, votes and exports."""
from __future__ import annotations

import json
import random

import pytest

from core.service import AIService
from core.validation import messages_for
from core.playground.fanout import FanOut
from core.validation import ColumnConfig
from core.playground.sessions import IDENTICAL, LETTERS, Comparison, shown_as, word_diff
from core.errors import BadRequestError, UnknownModelError
from core.pricing import cost_label, estimate_call, estimate_cost, money
from tests.emulated import KEYS, PROVIDER_MODELS, Collected, make_service
from tests.fakes.script import Fault, Reply


@pytest.fixture
def recorded():
    return Collected()


@pytest.fixture
def service(emulator, recorded):
    svc = make_service(emulator, recorder=recorded)
    yield svc
    svc.close()


def test_each_column_streams_as_its_own_tokens_arrive(service, emulator):
    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(text="slow answer from claude", ttft=1.0))
    emulator.enqueue(PROVIDER_MODELS["gemini"], Reply(text="quick answer from gemini"))
    run = FanOut(service, "hello", ["claude", "gemini"], user_id="u1").start()
    events = list(run.events())
    first_claude = next(i for i, e in enumerate(events) if e.column == 0)
    gemini_done = next(i for i, e in enumerate(events) if e.column == 1 and e.final)
    assert gemini_done < first_claude  # the quick column finished while the slow one waited
    assert "".join(e.text for e in events if e.column == 0) == "slow answer from claude"
    assert [r.content for r in run.results] == ["slow answer from claude", "quick answer from gemini"]
    assert all(r.cost and r.ttft_ms is not None for r in run.results)


def test_a_failing_column_carries_its_error_and_the_others_finish(service, emulator):
    emulator.set_default(PROVIDER_MODELS["gpt"], Fault("401"))
    results = FanOut(service, "hi", ["gpt", "gemini", "gemini"], user_id="u1",
                     fallbacks=False).start().wait()
    assert not results[0].ok and "rejected the API key" in results[0].error
    assert KEYS["gpt"] not in results[0].error
    assert results[1].ok and results[2].ok


def test_every_column_is_recorded_as_playground_under_the_user(service, recorded):
    FanOut(service, "hi", ["claude", {"model": "claude", "temperature": 1.2}],
           user_id="pat@example.com", metadata={"comparison_id": "c1"}).start().wait()
    assert len(recorded.records) == 2
    assert {(r.service_type, r.user_id, r.model) for r in recorded.records} == {
        ("playground", "pat@example.com", "claude")}
    assert sorted(r.metadata["column"] for r in recorded.records) == [0, 1]
    assert {r.metadata["comparison_id"] for r in recorded.records} == {"c1"}


def test_columns_send_their_own_settings_and_history(service, emulator):
    columns = [ColumnConfig("gpt", temperature=0.1, max_tokens=50, system_prompt="Be terse."),
               ColumnConfig("gpt", temperature=1.9, max_tokens=70)]
    history = [[{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "yes"}], []]
    FanOut(service, "now", columns, user_id="u1", histories=history).start().wait()
    bodies = sorted((r.body for r in emulator.requests), key=lambda b: b["temperature"])
    assert [(b["temperature"], b["max_tokens"]) for b in bodies] == [(0.1, 50), (1.9, 70)]
    assert bodies[0]["messages"][0] == {"role": "system", "content": "Be terse."}
    assert [m["content"] for m in bodies[0]["messages"][1:]] == ["earlier", "yes", "now"]
    assert [m["content"] for m in bodies[1]["messages"]] == ["now"]


def test_cancelling_stops_a_slow_column_and_records_it_as_abandoned(service, emulator, recorded):
    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(text="a b c d e f g h", tokens_per_second=4))
    run = FanOut(service, "hi", ["claude", "gemini"], user_id="u1").start()
    for event in run.events():
        if event.column == 0 and event.kind == "delta":
            break
    run.cancel()
    service.submit(_settle()).result(timeout=5)  # the stream unwinds on the loop thread
    abandoned = [r for r in recorded.records if r.model == "claude"]
    assert len(abandoned) == 1 and abandoned[0].status == "failure"
    assert abandoned[0].error_class == "abandoned" and abandoned[0].response.startswith("a")


async def _settle():
    import asyncio
    await asyncio.sleep(0.2)


def test_bad_input_is_refused_before_anything_is_sent(service, emulator):
    with pytest.raises(BadRequestError, match="one to 4"):
        FanOut(service, "hi", ["gemini"] * 5, user_id="u1")
    with pytest.raises(UnknownModelError):
        FanOut(service, "hi", ["gemini", "nope"], user_id="u1")
    with pytest.raises(BadRequestError, match="Temperature"):
        FanOut(service, "hi", [{"model": "gemini", "temperature": 3}], user_id="u1")
    with pytest.raises(BadRequestError, match="empty"):
        FanOut(service, "  ", ["gemini"], user_id="u1")
    assert emulator.requests == []


def test_service_compare_takes_names_or_column_settings(service, emulator):
    results = service.compare_sync("same prompt", ["gpt", {"model": "gpt", "max_tokens": 9}],
                                   temperature=0.5)
    assert [r.model for r in results] == ["gpt", "gpt"] and all(r.ok for r in results)
    bodies = [r.body for r in emulator.requests]
    assert sorted(str(b.get("max_tokens")) for b in bodies) == ["9", "None"]
    assert {b["temperature"] for b in bodies} == {0.5}


def test_estimate_counts_input_and_bounds_output_by_max_tokens(service):
    claude = service.catalog.get("claude")
    short = estimate_call(claude, messages_for("hi"), 100, AIService.count_tokens)
    longer = estimate_call(claude, messages_for("hi " * 200), 100, AIService.count_tokens)
    assert 0 < short.input_tokens < longer.input_tokens
    assert short.cost == pytest.approx(short.input_tokens * claude.input_cost_per_token
                                       + 100 * claude.output_cost_per_token)
    assert longer.cost > short.cost and short.label.startswith("≤ $")


def test_an_unknown_price_is_never_estimated_as_free(emulator):
    svc = make_service(emulator, mystery=("openai/not-a-real-model", {}))
    estimate = estimate_cost(svc.catalog.get("mystery"), 1000, 100)
    assert estimate.cost is None and estimate.label == "price unknown"
    assert cost_label(0.0, is_local=True) == "local" and cost_label(None) == "price unknown"


def test_a_blind_vote_names_the_models_behind_the_letters():
    columns = [ColumnConfig("claude"), ColumnConfig("gemini", temperature=0.2)]
    comparison = Comparison.new("pat", columns, blind=True, rng=random.Random(1))
    comparison.turns.append({"prompt": "q", "vote": None, "answers": [
        {"model": "claude", "served_by": "claude", "content": "A1", "cost": 0.01, "response_time_ms": 900},
        {"model": "gemini", "served_by": "gemini", "content": "B1", "cost": 0.001, "response_time_ms": 300}]})
    assert comparison.hidden
    first_shown = comparison.display_order()[0]
    vote = comparison.vote("A")
    assert vote["winner"] == ["claude", "gemini"][first_shown]
    assert vote["costs"] == {"claude": 0.01, "gemini": 0.001} and vote["prompt"] is None
    assert not comparison.hidden
    with pytest.raises(BadRequestError):
        comparison.vote("E")


def test_money_has_the_precision_the_amount_needs():
    assert [money(a) for a in (0, 0.00004, 0.00123, 0.0154, 0.25, 1234.567)] == [
        "$0", "< $0.0001", "$0.0012", "$0.0154", "$0.25", "$1,234.57"]
    assert cost_label(0.00004) == "< $0.0001" and cost_label(0.0, is_local=True) == "local"


def test_a_vote_between_settings_of_one_model_names_the_configurations():
    columns = [ColumnConfig("local", 0.2, 1024), ColumnConfig("local", 0.9, 1024, "Be brief.")]
    comparison = Comparison.new("pat", columns, blind=True, rng=random.Random(1))
    comparison.turns.append({"prompt": "q", "vote": None, "answers": [
        {"model": "local", "served_by": "local", "content": "A1", "cost": 0.0},
        {"model": "local", "served_by": "local", "content": "B1", "cost": 0.0}]})
    vote = comparison.vote("tie")
    assert sorted(vote["models"]) == ["local · t=0.2 · max 1024",
                                      f"local · t=0.9 · max 1024 · system prompt {_digest('Be brief.')}"]


def test_identical_columns_vote_as_configurations_told_apart_by_their_letters():
    columns = [ColumnConfig("local", 0.2, 1024)] * 2 + [ColumnConfig("local", 0.9, 1024)]
    comparison = Comparison.new("pat", columns, blind=True, rng=random.Random(1))
    comparison.turns.append({"prompt": "q", "vote": None, "answers": [
        {"model": "local", "content": "A1", "cost": 0.0}, {"model": "local", "content": "B1", "cost": 0.0},
        {"model": "local", "content": "C1", "cost": 0.0}]})
    shown = [comparison.display_order().index(i) for i in range(3)]  # where each column was shown
    vote = comparison.vote(LETTERS[shown[0]])
    twins = sorted(f"local · t=0.2 · max 1024{IDENTICAL}{LETTERS[shown[i]]}" for i in (0, 1))
    assert sorted(vote["models"]) == sorted([*twins, "local · t=0.9 · max 1024"])
    assert vote["winner"] == f"local · t=0.2 · max 1024{IDENTICAL}{LETTERS[shown[0]]}"
    assert sorted(shown_as(name) for name in twins) == sorted(LETTERS[shown[i]] for i in (0, 1))
    assert shown_as("local · t=0.9 · max 1024") is None


def _digest(text: str) -> str:
    import hashlib
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def test_exports_carry_every_turn_and_reopen_the_same_comparison():
    comparison = Comparison.new("pat", [ColumnConfig("claude"), ColumnConfig("gpt")])
    comparison.turns.append({"prompt": "What is 2+2?", "vote": None, "answers": [
        {"model": "claude", "content": "Four.", "input_tokens": 5, "output_tokens": 2, "cost": None},
        {"model": "gpt", "content": "", "error": "gpt failed: rate limited."}]})
    markdown = comparison.to_markdown()
    assert "What is 2+2?" in markdown and "Four." in markdown and "price unknown" in markdown
    assert "gpt failed: rate limited." in markdown
    again = Comparison.from_data(json.loads(comparison.to_json()))
    assert again == comparison and again.history(0)[-1] == {"role": "assistant", "content": "Four."}
    assert again.history(1) == []


def test_word_diff_shows_what_changed():
    pieces = word_diff("the cat sat on the mat", "the dog sat on the mat")
    assert ("delete", "cat ") in pieces and ("insert", "dog ") in pieces
    assert "".join(t for op, t in pieces if op != "insert") == "the cat sat on the mat"


def test_columns_are_estimated_with_their_own_history_and_max_tokens(service):
    from core.pricing import estimate_columns
    columns = [ColumnConfig("gpt", max_tokens=10), ColumnConfig("gpt", max_tokens=1000)]
    history = [[{"role": "user", "content": "a long earlier question " * 20},
                {"role": "assistant", "content": "a long earlier answer " * 20}], []]
    with_history, without = estimate_columns(service.catalog, "now?", columns, service.count_tokens, history)
    assert with_history.input_tokens > without.input_tokens
    assert (with_history.max_output_tokens, without.max_output_tokens) == (10, 1000)


def test_a_reader_waiting_on_a_slow_column_sees_time_pass(service, emulator):
    emulator.enqueue(PROVIDER_MODELS["claude"], Reply(text="late", ttft=1.0))
    emulator.enqueue(PROVIDER_MODELS["gemini"], Reply(text="late too", ttft=1.0))
    run = FanOut(service, "hi", ["claude", "gemini"], user_id="u1").start()
    kinds = [e.kind for e in run.events(poll_seconds=0.1, ticks=True)]
    assert kinds[0] == "tick" and kinds.count("result") == 2


def test_the_cli_compares_models_and_keeps_each_failure(emulator, tmp_path, monkeypatch, capsys):
    from core.cli import main
    from tests.emulated import write_config
    for name, env in (("claude", "ANTHROPIC_API_KEY"), ("gpt", "OPENAI_API_KEY")):
        monkeypatch.setenv(env, KEYS[name])
    monkeypatch.setenv("PARLEY_CONFIG", str(write_config(emulator, tmp_path / "parley.yaml",
                                                         models=("claude", "gpt"))))
    emulator.set_default(PROVIDER_MODELS["gpt"], Fault("401"))
    assert main(["compare", "same prompt", "--models", "claude,gpt,claude", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["model"] for e in entries] == ["claude", "gpt", "claude"]
    assert entries[0]["content"] == "Echo: same prompt" and entries[0]["cost"] > 0
    assert entries[1]["error"] and KEYS["gpt"] not in entries[1]["error"]
    assert main(["compare", "hi", "--models", "claude,nope"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
