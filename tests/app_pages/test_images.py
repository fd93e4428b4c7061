"""The images page (AppTest): no image model says how to add one; two image models answer side by
side with their pictures and what they cost; a failing model shows its error beside the other."""
from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.emulated import KEYS, write_config
from tests.fakes.script import Fault
from tests.paths import PAGES

PAGE = str(PAGES / "images.py")


@pytest.fixture
def page(emulator, tmp_path, monkeypatch):
    def open_page(image_models: bool = True) -> AppTest:
        extra = [{"model_name": "gpt-image", "litellm_params": {
                      "model": "openai/gpt-image-1", "api_key": "os.environ/OPENAI_API_KEY",
                      "api_base": emulator.openai_base}},
                 {"model_name": "imagen", "litellm_params": {
                      "model": "gemini/imagen-3.0-generate-001", "api_key": "os.environ/GEMINI_API_KEY",
                      "api_base": emulator.gemini_base}}] if image_models else []
        config = write_config(emulator, tmp_path / "parley.yaml", models=("gemini",), extra=extra)
        monkeypatch.setenv("PARLEY_CONFIG", str(config))
        monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{tmp_path / 'parley.db'}")
        monkeypatch.setenv("GEMINI_API_KEY", KEYS["gemini"])
        monkeypatch.setenv("OPENAI_API_KEY", KEYS["gpt"])
        monkeypatch.setenv("PARLEY_USER", "pat@example.com")
        return AppTest.from_file(PAGE, default_timeout=60).run()

    st.cache_resource.clear()
    yield open_page
    from ui.deps import service
    service().close()
    st.cache_resource.clear()


def test_without_an_image_model_the_page_says_how_to_add_one(page):
    at = page(image_models=False)
    assert not at.exception
    assert "No image model is configured" in at.info[0].value
    assert not at.text_area


def test_two_image_models_answer_side_by_side_with_their_cost(page):
    at = page()
    assert at.multiselect(key="img_models").value == ["gpt-image", "imagen"]
    at.selectbox(key="img_quality").set_value("low").run()
    at.number_input(key="img_n").set_value(2).run()
    at.text_area(key="img_prompt").input("a red fox").run()
    at = at.button(key="img_go").click().run()
    assert not at.exception
    pictures = at.get("image")
    assert len(pictures) == 4  # two per model
    captions = [c.value for c in at.caption]
    assert any(c.startswith("2 images · $0.0218 · 7 in / 544 out tokens") for c in captions), captions
    assert any(c.startswith("2 images · $0.08 ") for c in captions), captions
    from ui.deps import service
    service().recorder.flush()
    rows = service().store.usage("model", user_id="pat@example.com")
    assert sorted(row["key"] for row in rows) == ["gpt-image", "imagen"]


def test_a_failing_image_model_shows_its_error_beside_the_other(page, emulator):
    at = page()
    emulator.enqueue("imagen-3.0-generate-001", *[Fault("401")] * 3)
    at.text_area(key="img_prompt").input("a kite").run()
    at = at.button(key="img_go").click().run()
    assert not at.exception
    [error] = at.error
    assert error.value.startswith("imagen rejected the API key")
    assert any(c.value.startswith("1 image · $") for c in at.caption)
