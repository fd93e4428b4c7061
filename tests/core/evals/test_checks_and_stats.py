"""Checks, the judge's verdict parser and the statistics, against answers worked out by hand."""
from __future__ import annotations

import math

import pytest

from core.errors import BadRequestError, ProviderBadResponse
from core.evals.scoring import parse_checks, parse_verdict, passed, run_checks
from core.evals.stats import bradley_terry, percentile, wilson_interval


@pytest.mark.parametrize("spec, answer, expected, verdict", [
    ("equals", "  Paris ", "paris", True),
    ("equals", "Paris, France", "Paris", False),
    ({"kind": "equals", "case": True}, "paris", "Paris", False),
    ("contains", "The capital is PARIS.", "paris", True),
    ("contains", "The capital is Lyon.", "paris", False),
    ({"kind": "regex", "pattern": r"^\d{4}-\d{2}-\d{2}$"}, "2024-05-01", None, True),
    ({"kind": "regex", "pattern": r"^\d{4}-\d{2}-\d{2}$"}, "May 1st", None, False),
    ("regex", "order #12345 shipped", r"#\d+", True),
    ("numeric", "About 3.14 or so", "3.14159", False),
    ({"kind": "numeric", "tolerance": 0.01}, "About 3.14 or so", "3.14159", True),
    ({"kind": "numeric", "rel": 0.05}, "It costs 1,020 dollars", "1000", True),
    ({"kind": "numeric", "rel": 0.01}, "It costs 1,020 dollars", "1000", False),
    ("numeric", "no number here", "4", False),
    ({"kind": "json_schema", "schema": {"type": "object", "required": ["name"]}},
     '```json\n{"name": "Ada"}\n```', None, True),
    ({"kind": "json_schema", "schema": {"type": "object", "required": ["name"]}},
     '{"age": 3}', None, False),
    ({"kind": "json_schema", "schema": {"type": "object"}}, "not json", None, False),
    ("equals", "anything", None, None),   # no expected: the check does not apply
    ("contains", "anything", "", None),
])
def test_checks_give_the_known_verdicts(spec, answer, expected, verdict):
    checks = parse_checks([spec])
    assert run_checks(checks, answer, expected) == {checks[0].label: verdict}


def test_passed_needs_every_applicable_check():
    assert passed({"equals": True, "contains": None}) is True
    assert passed({"equals": True, "contains": False}) is False
    assert passed({"equals": None}) is None


@pytest.mark.parametrize("spec, fragment", [
    ({"kind": "nope"}, "Check 1 must name a kind"),
    ({"kind": "regex", "pattern": "(unclosed"}, "the regex '(unclosed' is invalid"),
    ({"kind": "json_schema"}, "needs a 'schema' object"),
    ({"kind": "json_schema", "schema": {"type": "no-such-type"}}, "the JSON schema is invalid"),
    ({"kind": "numeric", "tolerance": -1}, "tolerance must be a number"),
])
def test_a_bad_check_is_refused_with_its_reason(spec, fragment):
    with pytest.raises(BadRequestError) as caught:
        parse_checks([spec])
    assert fragment in str(caught.value)


@pytest.mark.parametrize("text, score", [
    ('{"score": 8, "reason": "Correct and short."}', 8.0),
    ('Sure! {"score": "7", "reason": "fine"} hope that helps', 7.0),
    ("Score: 9/10. Accurate.", 9.0),
    ("6", 6.0),
    ("10/10", 10.0),
])
def test_judge_verdicts_are_read(text, score):
    assert parse_verdict(text, "gpt")[0] == score


@pytest.mark.parametrize("text", ["I think it is good", '{"score": 42}', "", "Score: eleven",
                                  "<html>502</html>"])
def test_a_garbage_verdict_is_a_clear_error_not_a_score(text):
    with pytest.raises(ProviderBadResponse) as caught:
        parse_verdict(text, "local")
    message = str(caught.value)
    assert message.startswith("The judge (local) did not give a score from 1 to 10")
    assert "stronger judge model" in message


def test_wilson_interval_matches_the_textbook_values():
    low, high = wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    low, high = wilson_interval(0, 5)
    assert low == 0.0 and round(high, 4) == 0.4345
    assert wilson_interval(0, 0) is None


def test_percentiles_interpolate_between_ranks():
    values = [100, 200, 300, 400, 500]
    assert percentile(values, 50) == 300
    assert percentile(values, 95) == pytest.approx(480)
    assert percentile([], 50) is None


def test_bradley_terry_orders_by_strength_and_matches_the_closed_form():
    # Two models: with the half-win-each-way prior the MLE ratio is (wins+0.5)/(losses+0.5).
    battles = [("a", "b", 1.0)] * 7 + [("a", "b", 0.0)] * 3
    ratings = bradley_terry(battles)
    expected_gap = 400 * math.log10(7.5 / 3.5)
    assert ratings["a"] - ratings["b"] == pytest.approx(expected_gap, abs=1e-6)
    three = bradley_terry([("a", "b", 1.0)] * 5 + [("b", "c", 1.0)] * 5 + [("a", "c", 0.5)] * 2)
    assert sorted(three, key=three.get, reverse=True) == ["a", "b", "c"]
    assert bradley_terry([]) == {}


def _result(row: int, model: str, score: float | None = None) -> dict:
    return {"row_index": row, "model": model, "status": "success", "passed": None,
            "judge_score": score, "cost": 0.0, "judge_cost": None, "response_time_ms": 100.0}


def test_configurations_voted_even_share_a_rank():
    from core.evals.results import summarize

    votes = [{"row_index": i, "models": ["a", "b"], "winner": "tie"} for i in range(3)]
    totals = summarize([_result(i, m) for i in range(3) for m in "ab"], ["a", "b"], votes, 3)
    assert [(t["rank"], t["win_rate"]) for t in totals] == [(1, 0.5), (1, 0.5)]
    votes[0]["winner"] = "b"
    assert [t["rank"] for t in summarize([], ["a", "b"], votes, 3)] == [2, 1]


def test_a_judge_that_scores_everything_alike_is_not_discriminating():
    from core.evals.results import summarize

    alike = [_result(i, m, 7.0) for i in range(2) for m in "ab"]
    assert {t["judge_discriminates"] for t in summarize(alike, ["a", "b"], [], 2)} == {False}
    varied = [*alike[:-1], _result(1, "b", 3.0)]
    totals = summarize(varied, ["a", "b"], [], 2)
    assert [(t["judge_discriminates"], t["mean_judge_score"]) for t in totals] == [(True, 7.0), (True, 5.0)]
