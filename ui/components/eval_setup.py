"""Choosing what an evaluation runs: a template (saved, or written and saved here), a
dataset (uploaded CSV/JSONL, or a saved version) and the configurations to compare. Each
returns its choice or None. A user is offered only their own templates and datasets; an
admin everyone's."""
from __future__ import annotations

import streamlit as st

from core.config.model import LOCAL_MODEL_NAME
from core.errors import ParleyError
from core.evals.configurations import offered

__all__ = ["template_picker", "dataset_picker", "configurations_picker"]

_NEW = "(write a new template)"


def template_picker(bench, *, user: str, admin: bool, key: str):
    """The chosen ``PromptTemplate`` version, or None."""
    st.subheader("1. Prompt template")
    reader = None if admin else user
    saved = {t["ref"]: t for t in bench.evals.templates(as_user=reader)}
    refs = [_NEW, *saved]
    if f"{key}_saved" in st.session_state:  # a template saved on the last run: show it
        st.session_state[f"{key}_ref"] = st.session_state.pop(f"{key}_saved")
    if st.session_state.get(f"{key}_ref") not in refs:  # the choice lives in Session State only
        st.session_state[f"{key}_ref"] = refs[-1]
    chosen = st.selectbox("Saved template", refs, key=f"{key}_ref")
    if chosen != _NEW:
        template = bench.template(chosen, as_user=reader)
        st.caption(f"{template.ref} · service type {template.service_type or '-'} · "
                   f"variables: {', '.join(template.variables) or 'none'}")
        with st.expander("Show the template"):
            if template.system:
                st.code(template.system, language=None)
            st.code(template.template, language=None)
        return template
    name = st.text_input("Template name", key=f"{key}_name", placeholder="support_reply")
    services = ["(none)", *bench.service.settings.service_types]
    service_type = st.selectbox("Service type", services, key=f"{key}_service",
                                accept_new_options=bench.service.settings.source == "environment",
                                help="The feature the template serves (parley.service_types); "
                                     "without a config file, type any name.")
    system = st.text_area("System prompt (optional)", key=f"{key}_system")
    text = st.text_area("Template text", key=f"{key}_text", placeholder="Answer the question: {{ question }}")
    if st.button("Save template", key=f"{key}_save"):
        try:
            saved_now = bench.save_template(name, text, user=user, system=system or None,
                                            service_type=None if service_type == "(none)" else service_type,
                                            admin=admin)
        except ParleyError as err:
            st.error(str(err))
        else:
            st.session_state[f"{key}_saved"] = saved_now.ref
            st.rerun()
    return None


def dataset_picker(bench, *, user: str, admin: bool, key: str):
    """The chosen ``Dataset`` version, or None. An uploaded file is stored as a new version
    (the same content as the latest version of its name reuses it)."""
    st.subheader("2. Dataset")
    upload = st.file_uploader("Upload a CSV or JSONL file (columns = variables, plus an "
                              "optional 'expected')", type=["csv", "jsonl"], key=f"{key}_file")
    if upload is not None:
        marker = (upload.name, upload.size)
        if st.session_state.get(f"{key}_seen") != marker:
            try:
                dataset = bench.upload_dataset(upload.getvalue(), upload.name, user=user)
            except ParleyError as err:
                st.error(str(err))
                return None
            st.session_state[f"{key}_seen"] = marker
            st.session_state[f"{key}_pick"] = dataset.id  # before the selectbox exists
    reader = None if admin else user
    saved = {d["id"]: d["ref"] + (f" · by {d['created_by']}" if admin else "")
             for d in bench.evals.datasets(as_user=reader)}
    if not saved:
        st.caption("No dataset yet: upload one.")
        return None
    if st.session_state.get(f"{key}_pick") not in saved:
        st.session_state[f"{key}_pick"] = next(iter(saved))
    dataset = bench.dataset_by_id(st.selectbox("Dataset version", list(saved), key=f"{key}_pick",
                                               format_func=saved.get), as_user=reader)
    st.caption(f"{dataset.ref}: {len(dataset.rows)} rows · columns {', '.join(dataset.columns)}")
    with st.expander("Preview the rows"):
        st.dataframe(list(dataset.rows[:200]), hide_index=True)
    return dataset


def configurations_picker(catalog, *, key: str) -> list[dict]:
    """The configurations chosen (2 to 4 to run): each model as configured, and the bundled
    model at two temperatures too, so it alone fills a run. Each is ``{"label", "model",
    "temperature"}``."""
    choices = {c["label"]: c for c in offered(catalog.names(), bundled=LOCAL_MODEL_NAME)}
    shown = catalog.display_names()

    def name(label: str) -> str:
        choice = choices[label]
        settings = "" if choice["temperature"] is None else f" · t={choice['temperature']:g}"
        return shown.get(choice["model"], choice["model"]) + settings

    picked = st.multiselect("Models (2 to 4)", list(choices), max_selections=4, key=key,
                            format_func=name,
                            help="Each is a model with its settings; the same model at two "
                                 "temperatures is two configurations.")
    return [choices[label] for label in picked if label in choices]


