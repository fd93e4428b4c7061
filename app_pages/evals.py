"""Evaluations: a prompt template x a dataset x 2-4 models, run with a progress bar, voted on
blind, summed up per model, exported, and turned into the service type's model.

Each user sees and runs only their own templates, datasets and runs (admins: everyone's).
``/evals?run=<id>`` opens one run read-only for its owner or an admin; anyone else signed in
opens it only through a share link its owner or an admin made, ``/evals?share=<token>``
(inputs and answers shown as ``parley.privacy`` allows)."""
import streamlit as st

from core.config.model import LOCAL_MODEL_NAME
from core.errors import ParleyError
from core.evals.scoring import DEFAULT_RUBRIC, JudgeSpec
from ui.components import eval_results, eval_setup
from ui.deps import evals, service
from ui.state import current_user, is_admin

svc, user, admin = service(), current_user(), is_admin()
reader = None if admin else user  # the store's row rule: a user reads only their own work
try:
    bench, runs = evals()
except ParleyError as err:
    st.title("Evaluations")
    st.error(str(err))
    st.stop()

token, linked = st.query_params.get("share"), st.query_params.get("run")
if token or linked:
    run_id = bench.shared_run(token) if token else linked
    if run_id is None:
        st.title("Evaluations")
        st.error("This share link opens no run: its owner may have stopped sharing it.")
        st.stop()
    eval_results.show(bench, runs, run_id, user=user, admin=admin, key="shared", read_only=True,
                      reader=None if token else reader)
    st.stop()

st.title("Evaluations")
st.caption("Run one prompt template over real inputs on 2 to 4 configurations (a model and "
           "its settings); compare quality, cost and speed together; then use the winner for "
           "the feature.")
new_run, past = st.tabs(["New run", "Runs"])

with new_run:
    template = eval_setup.template_picker(bench, user=user, admin=admin, key="evals_template")
    dataset = eval_setup.dataset_picker(bench, user=user, admin=admin, key="evals_dataset")
    configs = eval_setup.configurations_picker(svc.catalog, key="evals_models")
    names, shown = svc.catalog.names(), svc.catalog.display_names()
    judges = ["(no judge)", *names]
    default_judge = judges.index(LOCAL_MODEL_NAME) if LOCAL_MODEL_NAME in judges else 0
    judge = st.selectbox("Judge", judges, index=default_judge, key="evals_judge",
                         format_func=lambda n: shown.get(n, n),
                         help="A model that scores every answer from 1 to 10 against the rubric. "
                              "One that gives every answer the same score is reported as not "
                              "discriminating.")
    rubric = st.text_area("Rubric", DEFAULT_RUBRIC, key="evals_rubric",
                          disabled=judge == "(no judge)")
    checks = st.multiselect("Checks against the 'expected' column",
                            ["equals", "contains", "regex", "numeric"], key="evals_checks")
    concurrency = st.number_input("Concurrency", 1, 64, 4, key="evals_concurrency")
    max_tokens = st.number_input("Max tokens per answer", 1, 32_000, 512, key="evals_max_tokens",
                                 help="Caps every model's answer, and so the estimate.")
    if template is not None and dataset is not None and len(configs) >= 2:
        try:
            plan = bench.runner.plan(template.ref, dataset,
                                     [{**c, "max_tokens": int(max_tokens)} for c in configs],
                                     user_id=user,
                                     judge=None if judge == "(no judge)" else JudgeSpec(judge, rubric),
                                     checks=checks, concurrency=int(concurrency), as_user=reader)
        except ParleyError as err:
            st.error(str(err))
        else:
            st.info(f"{plan.calls:,} calls ({len(dataset.rows):,} rows x {len(configs)} "
                    f"configurations{' + judge' if plan.judge else ''}); estimated cost "
                    f"{plan.estimate_text(svc.catalog)}.")
            if st.button("Start run", type="primary", key="evals_start"):
                run_id = bench.runner.start(plan)
                runs.start(run_id, as_user=user)
                st.session_state["evals_run"] = run_id
    else:
        st.caption("Choose a template, a dataset and two to four configurations (one model at "
                   "two temperatures counts as two) to see the estimate.")
    current = st.session_state.get("evals_run")
    if current:
        eval_results.progress(bench, runs, current, user=user, owner=user, admin=admin,
                              key="evals_progress")

with past:
    listed = bench.evals.runs(as_user=reader)
    if not listed:
        st.info("No runs yet: start one in New run.")
    else:
        labels = {r["id"]: f"{r['id']} · {r['status']} · {r['answered']} answers · "
                           f"{', '.join(m['label'] for m in r['models'])} · {r['created_at'][:16]}"
                           + (f" · by {r['created_by']}" if admin else "")
                  for r in listed}
        chosen = st.selectbox("Run", list(labels), format_func=labels.get, key="evals_pick")
        eval_results.show(bench, runs, chosen, user=user, admin=admin, key="evals_results",
                          reader=reader)
