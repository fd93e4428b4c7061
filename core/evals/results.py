"""A run's results: the matrix (rows x models) and per-model totals, and their export.

Totals per model (``TOTAL_FIELDS``): ``answered``, ``failures``, ``pass_rate`` (rows whose
checks all passed, among rows where a check applied), ``mean_judge_score``, ``win_rate``
with its 95% Wilson interval (``win_low``, ``win_high``) over ``battles``, a Bradley-Terry
``bt_rating`` and ``rank`` from the blind row votes, ``cost`` (answers; ``judge_cost`` is
apart), ``cost_per_row``, ``unpriced`` answers, ``p50_ms``/``p95_ms`` latency, and
``quality_per_dollar`` (mean judge score, else pass rate, per dollar spent per row; None
when nothing was priced or nothing was scored).

A judge that gave every answer of the run the same score told the answers apart no better
than no judge: ``judge_discriminates`` is then False and ``mean_judge_score`` None, and its
scores decide no battle (``judge_discriminates`` None: nothing was scored).

Battles: every blind vote between two models of a row; when a run has no votes, the judge's
scores are compared pairwise row by row instead (``win_source`` says which).
"""
from __future__ import annotations

import csv
import io
import itertools
import json
from typing import Any

from core.evals.stats import bradley_terry, percentile, wilson_interval
from core.pricing import money

__all__ = ["summarize", "matrix", "to_csv", "to_json", "judge_discriminates", "cost_text",
           "TOTAL_FIELDS"]

TOTAL_FIELDS = ("model", "answered", "failures", "pass_rate", "mean_judge_score", "win_rate",
                "win_low", "win_high", "battles", "win_source", "bt_rating", "rank", "cost",
                "judge_cost", "cost_per_row", "unpriced", "p50_ms", "p95_ms",
                "quality_per_dollar", "judge_discriminates")


def matrix(results: list[dict[str, Any]], dataset_rows: tuple, labels: list[str]) -> list[dict[str, Any]]:
    """One entry per dataset row: its inputs and, per model label, that model's result (or
    None while it has none)."""
    by_pair = {(r["row_index"], r["model"]): r for r in results}
    return [{"row_index": i, "inputs": row, "cells": {label: by_pair.get((i, label)) for label in labels}}
            for i, row in enumerate(dataset_rows)]


def judge_discriminates(results: list[dict[str, Any]]) -> bool | None:
    """Did the judge's scores vary across the run's answers? None when fewer than two were
    scored (nothing to tell apart yet)."""
    scores = [r["judge_score"] for r in results if r.get("judge_score") is not None]
    return None if len(scores) < 2 else len(set(scores)) > 1


def battles_from(results: list[dict[str, Any]], votes: list[dict[str, Any]]) -> tuple[list, str]:
    """(battles, source): votes when there are any, else pairwise judge scores per row (none
    from a judge that does not discriminate)."""
    if votes:
        out = []
        for vote in votes:
            for a, b in itertools.combinations(sorted(vote["models"]), 2):
                if vote["winner"] == a:
                    out.append((a, b, 1.0))
                elif vote["winner"] == b:
                    out.append((a, b, 0.0))
                elif vote["winner"] == "tie":
                    out.append((a, b, 0.5))
        return out, "votes"
    if judge_discriminates(results) is False:
        return [], "none"
    scored: dict[int, dict[str, float]] = {}
    for r in results:
        if r.get("judge_score") is not None:
            scored.setdefault(r["row_index"], {})[r["model"]] = r["judge_score"]
    out = []
    for row in scored.values():
        for a, b in itertools.combinations(sorted(row), 2):
            out.append((a, b, 1.0 if row[a] > row[b] else 0.0 if row[a] < row[b] else 0.5))
    return out, "judge" if out else "none"


def summarize(results: list[dict[str, Any]], labels: list[str], votes: list[dict[str, Any]],
              rows: int) -> list[dict[str, Any]]:
    """Per-model totals (``TOTAL_FIELDS``), in the run's model order."""
    battles, source = battles_from(results, votes)
    ratings = bradley_terry(battles) if source == "votes" else {}
    rounded = {m: round(r, 6) for m, r in ratings.items()}  # equal strengths share a rank
    discriminates = judge_discriminates(results)
    totals = []
    for label in labels:
        mine = [r for r in results if r["model"] == label]
        total = _totals(label, mine, battles, source, rows, ratings.get(label),
                        1 + sum(r > rounded[label] for r in rounded.values())
                        if label in rounded else None,
                        use_judge=discriminates is not False)
        totals.append({**total, "judge_discriminates": discriminates})
    return totals


def _totals(label, mine, battles, source, rows, rating, rank, *, use_judge: bool) -> dict[str, Any]:
    ok = [r for r in mine if r["status"] == "success"]
    checked = [r["passed"] for r in mine if r["passed"] is not None]
    scores = [r["judge_score"] for r in mine if r["judge_score"] is not None and use_judge]
    priced = [r["cost"] for r in ok if r["cost"] is not None]
    wins, fought = 0.0, 0
    for a, b, score in battles:
        if label in (a, b):
            fought += 1
            wins += score if label == a else 1 - score
    interval = wilson_interval(wins, fought)
    cost = sum(priced)
    cost_per_row = cost / len(priced) if priced else None
    quality = (sum(scores) / len(scores)) if scores else (sum(checked) / len(checked) if checked else None)
    return {
        "model": label, "answered": len(ok), "failures": len(mine) - len(ok),
        "pass_rate": sum(checked) / len(checked) if checked else None,
        "mean_judge_score": sum(scores) / len(scores) if scores else None,
        "win_rate": wins / fought if fought else None,
        "win_low": interval[0] if interval else None, "win_high": interval[1] if interval else None,
        "battles": fought, "win_source": source, "bt_rating": rating, "rank": rank,
        "cost": cost, "judge_cost": sum(r["judge_cost"] or 0.0 for r in mine),
        "cost_per_row": cost_per_row, "unpriced": len(ok) - len(priced),
        "p50_ms": percentile([r["response_time_ms"] for r in ok], 50),
        "p95_ms": percentile([r["response_time_ms"] for r in ok], 95),
        "quality_per_dollar": quality / cost_per_row if quality is not None and cost_per_row else None,
    }


def cost_text(cost: float | None, *, is_local: bool, answered: int = 0, unpriced: int = 0) -> str:
    """A money figure of a model's totals as people read it: ``local`` for a free local
    model, ``price unknown`` when no answer had a price, else dollars (``core.pricing.money``),
    noting answers left out for want of a price."""
    if is_local and not cost:
        return "local"
    if cost is None or (answered and unpriced >= answered):
        return "price unknown"
    return money(cost) + (f" (+{unpriced} unpriced)" if unpriced else "")


_CSV_FIELDS = ("row", "model", "status", "answer", "passed", "judge_score", "judge_reason",
               "cost", "response_time_ms", "input_tokens", "output_tokens", "call_id", "error")


def to_csv(results: list[dict[str, Any]], dataset_columns: tuple, dataset_rows: tuple) -> str:
    """One line per row x model: the row's inputs, then the result's fields."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*dataset_columns, *_CSV_FIELDS])
    for r in results:
        inputs = dataset_rows[r["row_index"]]
        writer.writerow([*(inputs.get(c, "") for c in dataset_columns), r["row_index"] + 1,
                         r["model"], r["status"], r["answer"] or "", _blank(r["passed"]),
                         _blank(r["judge_score"]), r["judge_reason"] or "", _blank(r["cost"]),
                         _blank(r["response_time_ms"]), r["input_tokens"], r["output_tokens"],
                         r["call_id"] or "", r["error"] or ""])
    return out.getvalue()


def to_json(run: dict[str, Any], totals: list[dict], results: list[dict]) -> str:
    return json.dumps({"run": run, "totals": totals, "results": results}, indent=2, default=str)


def _blank(value: Any) -> Any:
    return "" if value is None else value
