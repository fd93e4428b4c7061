"""Chat: a conversation with one model, streamed, with why it answered and what it cost.

The model is "auto (routed)" (each message goes where its complexity's route says, see
core/routing.py; offered only when ``parley.routes`` names routes), the user's default, or one
picked by name. The conversation is
``st.session_state["chat_thread"]`` (a list of ``{"role", "content"}``; answers also carry a
``"caption"``) and the selection ``st.session_state["chat_model"]`` (a model name, "auto" or
":default"); the compare page's "continue with this answer" sets both. Every call is recorded
with ``service_type="chat"``.
"""
import streamlit as st

from core import ParleyError
from core.attachments import check_attachments, identify
from core.image_requests import image_models
from core.playground.sessions import answer_stats
from ui.components import safe_answer
from ui.deps import service
from ui.state import current_user

AUTO, DEFAULT = "auto", ":default"
FILE_TYPES = ["png", "jpg", "jpeg", "webp", "gif", "pdf"]  # images and a PDF go with the message
THREAD, MODEL = "chat_thread", "chat_model"

svc = service()
user = current_user()
st.title("Chat")

models = {m.name: m for m in svc.catalog.available() if m.name not in image_models(svc.settings)}
if not models:
    st.warning("No model is available. Set ANTHROPIC_API_KEY, GEMINI_API_KEY or OPENAI_API_KEY, "
               "or install the bundled local model (scripts/setup).")
    st.stop()


def default_model() -> str | None:
    try:
        return svc.choose(user_id=user, service_type="chat").model
    except ParleyError:
        return None


def option_label(option: str) -> str:
    if option == AUTO:
        return "auto (routed)"
    if option == DEFAULT:
        mine = default_model()
        return f"Your default: {models[mine].display_name if mine in models else mine}" \
            if mine else "Your default"
    return models[option].choice_label()


def answer_caption(result) -> str:
    """``claude · routed: complex · total 812 ms · 12 in / 40 out tokens · $0.000636``, then why."""
    entry = svc.catalog.get(result.served_by or result.model)
    how = f"routed: {result.route}" if result.route else (result.source or "chosen")
    line = answer_stats(result, entry.is_local, who=f"{entry.display_name} · {how}")
    return f"{line}  \n{result.route_reason}" if result.route_reason else line


routed = bool(svc.settings.routes)  # without routes, "auto" would only be the default again
options = [AUTO, DEFAULT, *models] if routed else [DEFAULT, *models]
if st.session_state.get(MODEL) not in options:
    st.session_state[MODEL] = AUTO if routed else DEFAULT
thread = st.session_state.setdefault(THREAD, [])

picked, restart = st.columns([4, 1], vertical_alignment="bottom")
st.session_state[MODEL] = picked.selectbox("Model", options, format_func=option_label,
                                           index=options.index(st.session_state[MODEL]))
if restart.button("New conversation", disabled=not thread):
    st.session_state[THREAD] = []
    st.rerun()

if not thread:
    st.caption("Ask anything. With auto (routed), each message goes to the model its "
               "complexity calls for; under each answer you see which model, why, and the cost."
               if routed else
               "Ask anything. Messages go to your default model, or to the one you pick above; "
               "under each answer you see which model answered and what it cost.")
for turn in thread:
    with st.chat_message(turn["role"]):
        safe_answer.show(turn["content"])
        if turn.get("caption"):
            st.caption(turn["caption"])

message = st.chat_input("Message", accept_file="multiple", file_type=FILE_TYPES)
prompt, files = (message.text, message.files) if message else ("", [])
try:
    attachments = check_attachments([identify(f.getvalue(), f.name) for f in files])
except ParleyError as err:
    st.error(f"{err} Your message was not sent.")
    prompt = ""
if prompt:
    attached = f"📎 {', '.join(a.name for a in attachments)}" if attachments else ""
    with st.chat_message("user"):
        safe_answer.show(prompt)
        if attached:
            st.caption(attached)
    choice = st.session_state[MODEL]
    with st.chat_message("assistant"):
        box, text, result = st.empty(), "", None
        try:
            for item in svc.stream_sync(prompt, user_id=user, service_type="chat",
                                        model=None if choice == DEFAULT else choice,
                                        history=[{"role": t["role"], "content": t["content"]}
                                                 for t in thread], trim_history=True,
                                                attachments=attachments):
                if isinstance(item, str):
                    text += item
                    safe_answer.show(text, container=box, cursor=True)
                else:
                    result = item
        except ParleyError as err:
            box.empty()
            st.error(f"{err} Your message was not added to the conversation.")
        else:
            thread += [{"role": "user", "content": prompt, "caption": attached},
                       {"role": "assistant", "content": result.content,
                        "caption": answer_caption(result)}]
            st.rerun()  # show the turn from the thread, and enable "New conversation"
