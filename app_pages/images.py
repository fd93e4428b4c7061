"""Images: one prompt to one to four image models side by side, each picture with its cost.

Session keys (all ``img_*``): ``img_results`` holds the last generation's results, so they stay
on screen while the widgets change.
"""
import streamlit as st

from core import ParleyError
from core.image_requests import MAX_IMAGES, image_models
from core.results import GenerationResult
from ui.components import image_results
from ui.deps import service
from ui.state import current_user, is_admin

SIZES = ["1024x1024", "1024x1536", "1536x1024", "auto"]
QUALITY = ["auto", "low", "medium", "high"]

svc = service()
user = current_user()
st.title("Images")

names = [name for name in image_models(svc.settings) if svc.catalog.get(name).available]
if not names and not is_admin():
    st.info("No image model is configured yet. Ask a Parley admin to add one (an image model "
            "is listed in parley.yaml); this page then appears in the sidebar.")
    st.stop()
if not names:
    st.info("No image model is configured, so this page is not in the sidebar yet. Image models "
            "are not offered from a key alone: list one under model_list in parley.yaml (copy "
            "parley.example.yaml), with its provider's key, and restart the app. For example:")
    st.code("model_list:\n  - model_name: gpt-image\n    litellm_params:\n"
            "      model: openai/gpt-image-1\n      api_key: os.environ/OPENAI_API_KEY\n"
            "  - model_name: imagen\n    litellm_params:\n"
            "      model: gemini/imagen-3.0-generate-001\n      api_key: os.environ/GEMINI_API_KEY",
            language="yaml")
    st.stop()

chosen = st.multiselect("Models", names, default=names[:2], max_selections=4, key="img_models")
settings = st.columns(3)
size = settings[0].selectbox("Size", SIZES, key="img_size")
count = settings[1].number_input("Images per model", 1, MAX_IMAGES, 1, key="img_n")
quality = settings[2].selectbox("Quality", QUALITY, key="img_quality")
prompt = st.text_area("Prompt", key="img_prompt", placeholder="Describe the picture…")


def generate(model: str):
    return svc.submit(svc.generate_image(prompt, model=model, size=None if size == "auto" else size,
                                         n=int(count), quality=None if quality == "auto" else quality,
                                         user_id=user))


if st.button("Generate", type="primary", key="img_go", disabled=not prompt.strip() or not chosen):
    with st.spinner("Generating…"):
        futures = [(model, generate(model)) for model in chosen]  # every model at once
        results = []
        for model, future in futures:
            try:
                results.append(future.result())
            except ParleyError as err:
                results.append(GenerationResult(model=model, kind="image", error=str(err)))
    st.session_state.img_results = results

image_results.show(key="img_results_view", results=st.session_state.get("img_results", []))
