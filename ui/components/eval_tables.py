"""A run's figures as a report: per-model totals and the rows x models grid, every number
formatted for reading (``1,234 ms``, ``512 tokens``, ``$0.0154``), ``local`` for a free local
model's cost and ``price unknown`` where no price applies, never ``$0.000000`` or ``None``;
inputs as columns; a column that says nothing for any row (no checks, no judge) left out."""
from __future__ import annotations

import streamlit as st

from core.errors import ParleyError
from core.evals.results import cost_text

__all__ = ["totals", "matrix", "local_labels", "BLANK"]

BLANK = "–"


def local_labels(bench, run: dict) -> dict[str, bool]:
    """For each of the run's labels: does a local model (no price, by design) answer it?"""
    out = {}
    for model in run["models"]:
        try:
            out[model["label"]] = bench.service.catalog.get(model["model"]).is_local
        except ParleyError:  # no longer configured: its figures show as recorded
            out[model["label"]] = False
    return out


def totals(rows: list[dict], local: dict[str, bool]) -> None:
    """Per-model totals (``core.evals.results.TOTAL_FIELDS``) as one table."""
    st.markdown("**Per model**")
    table = [_total_row(t, local.get(t["model"], False)) for t in rows]
    st.dataframe(_without_empty_columns(table, keep=("Model",)), hide_index=True)
    if any(t["judge_discriminates"] is False for t in rows):
        st.warning("The judge is **not discriminating**: it gave every answer the same score, "
                   "so its scores are not shown and rank nothing. Choose a stronger judge model, "
                   "add checks, or vote blind below.")


def _total_row(t: dict, is_local: bool) -> dict[str, str]:
    counts = {"answered": t["answered"], "unpriced": t["unpriced"]}
    if t["judge_discriminates"] is False:
        judge = "not discriminating"
    else:
        judge = _number(t["mean_judge_score"], "{:.1f} / 10")
    return {
        "Model": t["model"], "Rank": _number(t["rank"], "{}"),
        "Pass rate": _number(t["pass_rate"], "{:.0%}"), "Judge score": judge,
        "Win rate (95%)": BLANK if t["win_rate"] is None else
        f"{t['win_rate']:.0%} ({t['win_low']:.0%}–{t['win_high']:.0%})",
        "Bradley-Terry": _number(t["bt_rating"], "{:.0f}"),
        "Answers": f"{t['answered']:,}", "Failures": f"{t['failures']:,}",
        "Cost": cost_text(t["cost"], is_local=is_local, **counts),
        "Cost per row": BLANK if t["cost_per_row"] is None and not is_local
        else cost_text(t["cost_per_row"], is_local=is_local, **counts),
        "p50": _number(t["p50_ms"], "{:,.0f} ms"), "p95": _number(t["p95_ms"], "{:,.0f} ms"),
        "Quality per $": _number(t["quality_per_dollar"], "{:,.1f}"),
        "Judge cost": cost_text(t["judge_cost"], is_local=False) if t["judge_cost"] else BLANK,
    }


def matrix(report: dict, local: dict[str, bool], texts: bool = True) -> None:
    """The rows x models grid: the row's inputs as columns, then each model's answer, score,
    pass, cost, time and tokens. ``texts`` False shows ``(private)`` for inputs and answers.
    A judge that does not discriminate shows no score here either."""
    st.markdown("**Rows x models**")
    labels = [m["label"] for m in report["run"]["models"]]
    columns = report["dataset"].columns
    judged = all(t["judge_discriminates"] is not False for t in report["totals"])
    table = []
    for entry in report["matrix"]:
        row = {"Row": str(entry["row_index"] + 1)}
        for column in columns:
            row[column] = _text(entry["inputs"].get(column)) if texts else "(private)"
        for label in labels:
            row.update(_cell(label, entry["cells"][label], local.get(label, False), texts, judged))
        table.append(row)
    st.dataframe(_without_empty_columns(table, keep=("Row", *labels)), hide_index=True)


def _cell(label: str, cell: dict | None, is_local: bool, texts: bool,
          judged: bool) -> dict[str, str]:
    if cell is None:
        return {label: "(not answered yet)"}
    answer = cell.get("answer") or (f"failed: {cell['error']}" if cell.get("error") else "")
    passed = cell.get("passed")
    tokens = cell.get("output_tokens")
    return {
        label: answer if texts else ("(private)" if answer else ""),
        f"{label} · judge": _number(cell.get("judge_score") if judged else None, "{:.0f} / 10"),
        f"{label} · pass": BLANK if passed is None else ("yes" if passed else "no"),
        f"{label} · cost": cost_text(cell.get("cost"), is_local=is_local)
        if cell.get("status") == "success" else BLANK,
        f"{label} · time": _number(cell.get("response_time_ms"), "{:,.0f} ms"),
        f"{label} · tokens": BLANK if tokens is None else f"{tokens:,}",
    }


def _number(value, pattern: str) -> str:
    return BLANK if value is None else pattern.format(value)


def _text(value) -> str:
    return BLANK if value is None or value == "" else str(value)


def _without_empty_columns(table: list[dict[str, str]], *, keep: tuple[str, ...]) -> list[dict]:
    """Drop the columns that are blank on every row (``keep`` stays regardless)."""
    if not table:
        return table
    empty = {name for name in table[0]
             if name not in keep and all(row.get(name) in (BLANK, "") for row in table)}
    return [{k: v for k, v in row.items() if k not in empty} for row in table]

