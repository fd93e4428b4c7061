"""One run on screen: its progress bar (with cost so far, cancel and resume), per-model
totals, the matrix of answers, export, share links, blind votes row by row, and the decision.

Only the run's owner resumes it (its calls spend under their id and budget); the owner or an
admin cancels it and makes or stops its share links."""
from __future__ import annotations

import hashlib
import json

import streamlit as st

from core.errors import ParleyError
from core.evals.results import to_csv, to_json
from ui.components import share_links, vote_buttons

__all__ = ["progress", "show"]


def progress(bench, runs, run_id: str, *, user: str, owner: str, admin: bool, key: str) -> None:
    """A progress bar that refreshes itself while the run is active here; ``owner`` is the
    run's creator, the only one offered Resume."""

    @st.fragment(run_every=0.5)
    def bar() -> None:
        now = bench.progress(run_id)
        total = now["total"]
        st.progress(now["answered"] / total if total else 0.0,
                    text=f"{now['answered']}/{total} answered · ${now['cost']:.6f} so far")
        active = runs.active(run_id)
        if active:
            st.button("Cancel", key=f"{key}_cancel", on_click=runs.cancel, args=(run_id,),
                      kwargs={"as_user": None if admin else user})
        elif now["status"] != "done":
            note = f" ({now['note']})" if now["note"] else ""
            status = "interrupted" if now["status"] in ("running", "pending") else now["status"]
            st.warning(f"The run is {status}{note}; answered rows are kept.")
            if user == owner:
                st.button("Resume", key=f"{key}_resume", on_click=runs.start, args=(run_id,),
                          kwargs={"as_user": user})
            else:
                st.caption(f"Only {owner} can resume this run: its calls are made under their "
                           "id and budget.")
        else:
            st.success(f"Run {run_id} is done: see its results under Runs.")
        if st.session_state.get(f"{key}_was_active") and not active:
            st.session_state[f"{key}_was_active"] = False
            st.rerun(scope="app")
        st.session_state[f"{key}_was_active"] = active

    bar()


def show(bench, runs, run_id: str, *, user: str, admin: bool, key: str,
         read_only: bool = False, reader: str | None = None) -> None:
    """The run's results, if ``reader`` may open it (None: anyone may, e.g. through a share
    link); ``read_only`` (a link) leaves out cancel/resume, sharing, votes and the decision."""
    try:
        report = bench.report(run_id, as_user=reader)
    except ParleyError as err:
        st.error(str(err))
        return
    run = report["run"]
    st.subheader(f"Run {run_id}")
    st.caption(f"{run['template']} x {run['dataset']} ({run['rows']} rows) · status {run['status']}"
               f" · by {run['created_by']}")
    if run["status"] != "done" and not read_only:
        progress(bench, runs, run_id, user=user, owner=run["created_by"], admin=admin,
                 key=f"{key}_progress")
    if not read_only:
        share_links.show(bench, run_id, user=user, admin=admin, key=f"{key}_share")
    _totals(report["totals"])
    texts = texts_visible(read_only=read_only, admin=admin, user=user, author=run["created_by"],
                          privacy=bench.service.settings.privacy)
    _matrix(report, texts)
    if not texts:
        st.caption("Inputs and answers are hidden: this deployment keeps prompts private "
                   "(parley.privacy), so a shared run shows its figures only.")
        return
    left, right = st.columns(2)
    left.download_button("Export CSV", to_csv(report["results"], report["dataset"].columns,
                                              report["dataset"].rows),
                         file_name=f"{run_id}.csv", mime="text/csv", key=f"{key}_csv")
    right.download_button("Export JSON", to_json(run, report["totals"], report["results"]),
                          file_name=f"{run_id}.json", mime="application/json", key=f"{key}_json")
    if read_only:
        st.caption("Read-only: open Evaluations to vote or to use a model.")
        return
    _vote(bench, report, user=user, admin=admin, key=f"{key}_vote")
    _decide(bench, report, user=user, admin=admin, key=f"{key}_decide")


def _totals(totals: list[dict]) -> None:
    st.markdown("**Per model**")
    rows = [{"model": t["model"], "rank": t["rank"], "pass rate": t["pass_rate"],
             "judge score": t["mean_judge_score"], "win rate": t["win_rate"],
             "95% interval": None if t["win_low"] is None else f"{t['win_low']:.0%}–{t['win_high']:.0%}",
             "Bradley-Terry": t["bt_rating"], "cost": t["cost"], "cost per row": t["cost_per_row"],
             "p50 ms": t["p50_ms"], "p95 ms": t["p95_ms"], "failures": t["failures"],
             "quality per $": t["quality_per_dollar"], "judge cost": t["judge_cost"]} for t in totals]
    percent, money = st.column_config.NumberColumn(format="percent"), \
        st.column_config.NumberColumn(format="$%.6f")
    st.dataframe(rows, hide_index=True, column_config={
        "pass rate": percent, "win rate": percent, "cost": money, "cost per row": money,
        "judge cost": money, "judge score": st.column_config.NumberColumn(format="%.1f"),
        "Bradley-Terry": st.column_config.NumberColumn(format="%.0f"),
        "p50 ms": st.column_config.NumberColumn(format="%.0f"),
        "p95 ms": st.column_config.NumberColumn(format="%.0f"),
        "quality per $": st.column_config.NumberColumn(format="%.1f")})


def texts_visible(*, read_only: bool, admin: bool, user: str, author: str, privacy: str) -> bool:
    """May this viewer see a run's inputs and answers? A shared (read-only) link shows them as
    ``parley.privacy`` allows: to the run's author and to admins always, to other signed-in
    users only with ``privacy: store``; its figures are shown to everyone."""
    return not read_only or admin or user == author or privacy == "store"


def _matrix(report: dict, texts: bool = True) -> None:
    st.markdown("**Rows x models**")
    labels = [m["label"] for m in report["run"]["models"]]
    table = []
    for entry in report["matrix"]:
        row = {"row": entry["row_index"] + 1,
               "inputs": json.dumps(entry["inputs"], ensure_ascii=False)[:200] if texts else "(private)"}
        for label in labels:
            cell = entry["cells"][label] or {}
            answer = cell.get("answer") or cell.get("error") or ""
            row[label] = answer if texts else ("(private)" if answer else "")
            row[f"{label} score"] = cell.get("judge_score")
            row[f"{label} pass"] = cell.get("passed")
            row[f"{label} $"] = cell.get("cost")
            row[f"{label} ms"] = cell.get("response_time_ms")
        table.append(row)
    st.dataframe(table, hide_index=True, height=320)


def _vote(bench, report: dict, *, user: str, admin: bool, key: str) -> None:
    """Two answers of a row, unlabelled, in an order fixed per (run, row, user)."""
    st.markdown("**Vote blind, row by row**")
    labels = [m["label"] for m in report["run"]["models"]]
    pairs = [(a, b) for i, a in enumerate(labels) for b in labels[i + 1:]]
    pair = st.selectbox("Compare", pairs, format_func=lambda p: f"two of the {len(labels)} models"
                        if len(pairs) == 1 else f"pair {pairs.index(p) + 1}", key=f"{key}_pair")
    rows = report["run"]["rows"]
    index = st.session_state.setdefault(f"{key}_row", 0) % rows
    entry = report["matrix"][index]
    a, b = pair
    seed = hashlib.sha256(f"{report['run']['id']}:{index}:{user}".encode()).digest()[0]
    shown = (a, b) if seed % 2 == 0 else (b, a)
    st.caption(f"Row {index + 1} of {rows}: {json.dumps(entry['inputs'], ensure_ascii=False)[:300]}")
    cols = st.columns(2)
    for column, letter, label in zip(cols, "AB", shown):
        cell = entry["cells"][label] or {}
        column.markdown(f"**Answer {letter}**")
        column.text(cell.get("answer") or cell.get("error") or "(not answered yet)")
    outcome = vote_buttons.show(key=f"{key}_buttons", letters="AB")
    if outcome is not None:
        winner = {"A": shown[0], "B": shown[1], "tie": "tie", "both_bad": None}[outcome]
        bench.vote(report["run"]["id"], index, user, [a, b], winner,
                   as_user=None if admin else user)
        st.session_state[f"{key}_row"] = index + 1
        st.session_state[f"{key}_notice"] = f"Vote on row {index + 1} saved."
        st.rerun()
    notice = st.session_state.pop(f"{key}_notice", None)
    if notice:
        st.success(notice)


def _decide(bench, report: dict, *, user: str, admin: bool, key: str) -> None:
    st.markdown("**Decide**")
    labels = [m["label"] for m in report["run"]["models"]]
    ranked = sorted(report["totals"], key=lambda t: (t["rank"] or 99, -(t["mean_judge_score"] or 0),
                                                     -(t["pass_rate"] or 0)))
    best = labels.index(ranked[0]["model"]) if ranked else 0
    services = list(bench.service.settings.service_types) or [report["run"]["service_type"]]
    service = report["run"]["service_type"]
    # keyed by the leader, so the choice follows the ranking when new votes change it
    model = st.selectbox("Winner", labels, index=best, key=f"{key}_model_{labels[best]}")
    service = st.selectbox("For service type", services,
                           index=services.index(service) if service in services else 0,
                           key=f"{key}_service")
    scopes = ["for everyone", "for me"] if admin else ["for me"]
    scope = st.radio("Apply", scopes, horizontal=True, key=f"{key}_scope")
    if st.button(f"Use {model} for {service}", type="primary", key=f"{key}_apply"):
        try:
            done = bench.decide(report["run"]["id"], model, user=user, everyone=scope == "for everyone",
                                is_admin=admin, service_type=service)
        except ParleyError as err:
            st.error(str(err))
        else:
            who = "everyone" if done["for"] == "*" else "you"
            st.success(f"{service} now uses {done['model']} for {who} (run {done['run_id']}).")
