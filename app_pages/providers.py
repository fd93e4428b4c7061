"""Providers: every configured model, what it costs, and whether it can answer now."""
import pandas as pd
import streamlit as st

from core.catalog import model_statuses
from core.errors import hide_urls
from ui.deps import service
from ui.state import current_user, is_admin

current_user()  # in team mode: the login page unless someone is signed in
svc = service()
# Where local model servers live is for admins; others learn only whether a model can answer.
shown = str if is_admin() else hide_urls
st.title("Providers")
st.caption("Prices are US dollars per 1M tokens. Keys are never shown; only whether one is set.")


def per_million(price: float | None, local: bool) -> str:
    if price is None:
        return "price unknown"
    return "local (free)" if local and not price else f"${price:,.2f}"


statuses = model_statuses(svc.settings, svc.catalog)
if not statuses:
    st.info("No model is configured. Set ANTHROPIC_API_KEY, GEMINI_API_KEY or OPENAI_API_KEY, "
            "or list models in parley.yaml.")
    st.stop()


def readiness(ready: int, count: int) -> str:
    """How many of the configured models can answer, as a sentence."""
    if count == 1:
        return "The one configured model can answer now." if ready else \
            "The one configured model cannot answer now; the table says why."
    if ready == count:
        return f"All {count} models can answer now."
    if not ready:
        return f"None of the {count} models can answer now; the table says why."
    return f"{ready} of the {count} models can answer now; the table says why the others cannot."


st.write(readiness(sum(s.available for s in statuses), len(statuses)))
# A table that wraps its cells, so every column (the reason a model cannot answer, its
# description) shows whole at 1400 px; a badge shows when it says more than the provider does.
table = pd.DataFrame([{
    "Model": s.entry.display_name + (" · default" if s.entry.name == svc.settings.default_model
                                     else ""),
    "Name": s.entry.name, "Provider": s.entry.provider,
    "Badge": "" if (s.entry.badge or "").lower() == s.entry.provider.lower() else s.entry.badge or "",
    "Ready": "yes" if s.available else f"no: {shown(s.problem)}", "API key": s.key,
    "Input / 1M": per_million(s.entry.per_million("input"), s.entry.is_local),
    "Output / 1M": per_million(s.entry.per_million("output"), s.entry.is_local),
    "Context window": f"{s.entry.context_window:,} tokens" if s.entry.context_window else "unknown",
    "Description": shown(s.entry.description or ""),
} for s in statuses])
# Badge and Description only when some model has one (a default install has neither).
st.table(table.drop(columns=[c for c in ("Badge", "Description") if not table[c].str.strip().any()]),
         hide_index=True)

st.subheader("Add a model")
if not is_admin():  # the server's files and environment are an admin's to change
    st.write("Ask a Parley admin to add the model you need; it then shows here and in every "
             "model picker.")
elif svc.settings.source == "environment":
    st.markdown(
        "- **Claude, Gemini or GPT**: set `ANTHROPIC_API_KEY`, `GEMINI_API_KEY` (or "
        "`GOOGLE_API_KEY`) or `OPENAI_API_KEY` in the environment or in "
        "`.streamlit/secrets.toml`, then restart the app.\n"
        "- **A local server**: set `OLLAMA_BASE_URL`, `LM_STUDIO_BASE_URL` or `VLLM_BASE_URL`; "
        "its models are listed here.\n"
        "- **Any other model LiteLLM supports** (other providers, image models, your own "
        "names and prices): copy `parley.example.yaml` to `parley.yaml`, list the model under "
        "`model_list`, and restart the app.")
else:
    st.markdown(f"List it under `model_list` in `{shown(svc.settings.source)}` (LiteLLM proxy's "
                "format: `model_name`, `litellm_params`, optional `model_info`), with its key "
                "as `os.environ/...`, then restart the app.")
