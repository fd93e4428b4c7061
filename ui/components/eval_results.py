"""One run on screen: its progress bar (with cost so far, cancel and resume), per-model
totals, the matrix of answers, export, share links, blind votes row by row, and the decision.

Only the run's owner resumes it (its calls spend under their id and budget); the owner or an
admin cancels it and makes or stops its share links."""
from __future__ import annotations

import hashlib

import streamlit as st

from core.errors import ParleyError
from core.evals.results import to_csv, to_json
from core.pricing import money
from ui.components import eval_tables, share_links, vote_buttons
from ui.plain_text import plain

__all__ = ["progress", "show"]


def progress(bench, runs, run_id: str, *, user: str, owner: str, admin: bool, key: str) -> None:
    """A progress bar that refreshes itself while the run is active here; ``owner`` is the
    run's creator, the only one offered Resume."""

    @st.fragment(run_every=0.5)
    def bar() -> None:
        now = bench.progress(run_id)
        total = now["total"]
        st.progress(now["answered"] / total if total else 0.0,
                    text=f"{now['answered']}/{total} answered · "
                         f"{money(now['cost']) + ' spent' if now['cost'] else 'nothing spent'} so far")
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
                st.caption(f"Only {plain(owner)} can resume this run: its calls are made under their "
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
    local = eval_tables.local_labels(bench, run)
    eval_tables.totals(report["totals"], local)
    texts = texts_visible(read_only=read_only, admin=admin, user=user, author=run["created_by"],
                          privacy=bench.service.settings.privacy)
    eval_tables.matrix(report, local, texts)
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
    with st.container():  # the vote's rows come and go; what follows keeps its place
        _vote(bench, report, user=user, admin=admin, key=f"{key}_vote_{run_id}")
    _decide(bench, report, user=user, admin=admin, key=f"{key}_decide")


def texts_visible(*, read_only: bool, admin: bool, user: str, author: str, privacy: str) -> bool:
    """May this viewer see a run's inputs and answers? A shared (read-only) link shows them as
    ``parley.privacy`` allows: to the run's author and to admins always, to other signed-in
    users only with ``privacy: store``; its figures are shown to everyone."""
    return not read_only or admin or user == author or privacy == "store"


def _vote(bench, report: dict, *, user: str, admin: bool, key: str) -> None:
    """Two answers of a row, unlabelled, in an order fixed per (run, row, user); after the
    last row, a summary of this user's votes on the pair."""
    st.markdown("**Vote blind, row by row**")
    labels = [m["label"] for m in report["run"]["models"]]
    pairs = [(a, b) for i, a in enumerate(labels) for b in labels[i + 1:]]
    if len(pairs) == 1:
        pair = pairs[0]
    else:
        pair = st.selectbox("Compare", pairs, key=f"{key}_pair",
                            format_func=lambda p: f"Pair {pairs.index(p) + 1} of {len(pairs)}")
    rows = report["run"]["rows"]
    index = st.session_state.setdefault(f"{key}_row", 0)
    notice, slot = st.session_state.pop(f"{key}_notice", None), st.empty()
    if notice:  # in a slot that is always there, so the buttons below keep their places
        slot.success(notice)
    if index >= rows:
        _vote_summary(bench, report, pair, user=user, key=key)
        return
    entry = report["matrix"][index]
    a, b = pair
    seed = hashlib.sha256(f"{report['run']['id']}:{index}:{user}".encode()).digest()[0]
    shown = (a, b) if seed % 2 == 0 else (b, a)
    inputs = " · ".join(f"{k}: {v}" for k, v in entry["inputs"].items())
    st.caption(f"Row {index + 1} of {rows}: {inputs[:300]}")
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


def _vote_summary(bench, report: dict, pair: tuple[str, str], *, user: str, key: str) -> None:
    """What this user's votes on ``pair`` add up to, once every row has been shown."""
    mine = [v for v in bench.evals.row_votes(report["run"]["id"])
            if v["user_id"] == user and sorted(v["models"]) == sorted(pair)]
    count = {label: sum(v["winner"] == label for v in mine) for label in pair}
    ties = sum(v["winner"] == "tie" for v in mine)
    bad = sum(v["winner"] is None for v in mine)
    rows = report["run"]["rows"]
    st.info(f"You have voted on {len(mine)} of {rows} rows for this pair: "
            + ", ".join(f"{label} better {n}" for label, n in count.items())
            + f", tie {ties}, both bad {bad}. The totals above count these votes.")
    if st.button("Vote again from row 1", key=f"{key}_again"):
        st.session_state[f"{key}_row"] = 0
        st.rerun()


def _decide(bench, report: dict, *, user: str, admin: bool, key: str) -> None:
    st.markdown("**Decide**")
    labels = [m["label"] for m in report["run"]["models"]]
    ranked = sorted(report["totals"], key=lambda t: (t["rank"] or 99, -(t["mean_judge_score"] or 0),
                                                     -(t["pass_rate"] or 0)))
    best = labels.index(ranked[0]["model"]) if ranked else 0
    service = report["run"]["service_type"]
    services = list(dict.fromkeys([*bench.service.settings.service_types, service]))
    # keyed by the leader, so the choice follows the ranking when new votes change it
    model = st.selectbox("Winner", labels, index=best, key=f"{key}_model_{labels[best]}")
    service = st.selectbox("For service type", services,
                           index=services.index(service) if service in services else 0,
                           key=f"{key}_service")
    chosen = next(m for m in report["run"]["models"] if m["label"] == model)
    if chosen["model"] != model:
        st.caption(f"A preference names a model: {service} calls will use {chosen['model']} "
                   f"with their own settings, not this run's ({model}).")
    everyone = admin and st.radio("Apply", ["for me", "for everyone"], horizontal=True,
                                  key=f"{key}_scope") == "for everyone"
    if not admin:
        st.caption("This sets your own choice; an admin can set it for everyone.")
    confirmed = True
    if everyone:
        confirmed = st.checkbox(f"Yes: every user's {service} calls will use {model}, unless "
                                "they chose otherwise", key=f"{key}_confirm")
    if st.button(f"Use {model} for {service}", type="primary", key=f"{key}_apply",
                 disabled=not confirmed):
        try:
            done = bench.decide(report["run"]["id"], model, user=user, everyone=everyone,
                                is_admin=admin, service_type=service)
        except ParleyError as err:
            st.error(str(err))
        else:
            who = "everyone" if done["for"] == "*" else "you"
            st.success(f"{service} now uses {done['model']} for {who} (run {done['run_id']}).")
