"""Ask one model: prompt in, streamed answer out, with tokens, time and cost."""
import streamlit as st

from core import ParleyError
from ui.deps import service
from ui.state import current_user

svc = service()
st.title("Ask")

models = svc.catalog.available()
if not models:
    st.warning("No model is available. Set ANTHROPIC_API_KEY, GEMINI_API_KEY or OPENAI_API_KEY, "
               "or install the bundled local model (scripts/setup).")
    st.stop()

names = [m.name for m in models]
default = svc.settings.default_model if svc.settings.default_model in names else names[0]
choice = st.selectbox("Model", names, index=names.index(default),
                      format_func=lambda n: f"{svc.catalog.get(n).display_name} · {svc.catalog.get(n).price_label()}")
prompt = st.text_area("Prompt", placeholder="Ask anything…")

if st.button("Send", type="primary", disabled=not prompt.strip()):
    box = st.empty()
    text, result = "", None
    try:
        for item in svc.stream_sync(prompt, user_id=current_user(), service_type="ask", model=choice):
            if isinstance(item, str):
                text += item
                box.markdown(text + "▌")
            else:
                result = item
        box.markdown(result.content)
        cost = "price unknown" if result.cost is None else f"${result.cost:.6f}"
        if result.provider == "local" and not result.cost:
            cost = "local"
        st.caption(f"{result.served_by} · {result.input_tokens} in / {result.output_tokens} out tokens"
                   f" · {cost} · {result.response_time_ms:.0f} ms"
                   + (f" · first token {result.ttft_ms:.0f} ms" if result.ttft_ms else "")
                   + (f" · fallback for {result.model}" if result.fallback_used else ""))
    except ParleyError as err:
        st.error(str(err))
