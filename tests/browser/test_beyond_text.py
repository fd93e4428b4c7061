"""In a real browser: an image attached on /compare reaches two vision models side by side while a
column whose model cannot see says so; a tool defined for the columns is called by both models,
a result supplied per column brings each model's final answer; /images shows two image models'
pictures with their cost."""
from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.browser.streamlit_page import open_app, settle
from tests.fakes.parts import png

WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                          "required": ["city"]}}}]


def blind_model(emulator) -> dict:
    return {"model_name": "blind", "litellm_params": {"model": "openai/o3-mini", "api_key": "os.environ/OPENAI_API_KEY",
                                                      "api_base": emulator.openai_base}}


def type_into(page, label: str, text: str, nth: int = 0) -> None:
    box = page.get_by_label(label, exact=True).nth(nth)
    box.fill(text)
    box.blur()  # a text widget sends its value when it loses focus
    settle(page)


def ask(page, text: str) -> None:
    """Type the prompt into /compare's form (sent by the Send button)."""
    page.get_by_placeholder(re.compile("Ask all columns the same thing")).fill(text)


def send(page) -> None:
    button = page.get_by_role("button", name="Send", exact=True)
    expect(button).to_be_enabled(timeout=60_000)  # the first estimate loads the tokenizers
    settle(page)
    button.click()
    settle(page, timeout_ms=60_000)


def test_an_image_two_vision_models_and_one_that_cannot_see(page, parley_app, emulator, tmp_path):
    app = parley_app(models=("claude", "gemini"), extra_models=[blind_model(emulator)])
    picture = tmp_path / "fox.png"
    picture.write_bytes(png("fox"))
    open_app(page, f"{app.url}/compare")
    page.get_by_text("3 columns", exact=True).click()
    settle(page)
    expect(page.get_by_role("button", name=re.compile(r"^C · blind"))).to_be_visible()
    page.get_by_text("Attach images or a PDF", exact=True).first.click()
    page.locator('input[type="file"]').set_input_files(str(picture))
    expect(page.get_by_text("fox.png")).to_be_visible()
    ask(page, "What is in this picture?")
    send(page)
    answers = page.get_by_text("Echo: What is in this picture? [seen: image/png]").filter(visible=True)
    expect(answers).to_have_count(2, timeout=120_000)  # the suite's first answers load models cold
    expect(page.get_by_text("blind cannot read images; pick a model that can, or send the prompt "
                            "without them.")).to_be_visible()
    expect(page.get_by_text("You: What is in this picture? 📎 fox.png")).to_be_visible()


def test_both_models_call_a_tool_and_answer_after_its_result(page, parley_app):
    app = parley_app(models=("claude", "gemini"))
    open_app(page, f"{app.url}/compare")
    page.get_by_text("Same settings for all", exact=True).click()
    settle(page)
    page.get_by_role("button", name=re.compile(r"^A · ")).click()  # column A's settings popover
    page.get_by_text("Tools · JSON schema · reasoning").first.click()
    type_into(page, "Tools (JSON)", json.dumps(WEATHER))
    page.keyboard.press("Escape")  # close the popover
    settle(page)
    ask(page, "Weather in Paris?")
    send(page)
    calls = page.get_by_text(re.compile(r"tool call get_weather\(\{\"city\": \"Weather in Paris\?\"\}\)"))
    expect(calls).to_have_count(2, timeout=60_000)  # both columns stream first
    for answered, result in enumerate(("sunny, 21 C", "rain, 12 C"), start=1):
        box = page.get_by_label("Result of get_weather", exact=True).first
        box.fill(result)
        box.press("Enter")  # commits the value (and reruns)
        settle(page)
        button = page.get_by_role("button", name="Send tool results").first
        expect(button).to_be_enabled()
        button.click()
        expect(page.get_by_text("After the tool results:")).to_have_count(answered, timeout=60_000)
        settle(page)
    expect(page.get_by_text("Echo: get_weather returned sunny, 21 C")).to_be_visible()
    expect(page.get_by_text("Echo: get_weather returned rain, 12 C")).to_be_visible()
    expect(page.get_by_text("After the tool results:")).to_have_count(2)


def test_two_image_models_side_by_side_with_their_cost(page, parley_app, emulator):
    images = [{"model_name": "gpt-image", "litellm_params": {
                  "model": "openai/gpt-image-1", "api_key": "os.environ/OPENAI_API_KEY",
                  "api_base": emulator.openai_base}},
              {"model_name": "imagen", "litellm_params": {
                  "model": "gemini/imagen-3.0-generate-001", "api_key": "os.environ/GEMINI_API_KEY",
                  "api_base": emulator.gemini_base}}]
    app = parley_app(models=("gemini",), extra_models=images)
    open_app(page, f"{app.url}/images")
    type_into(page, "Prompt", "a lighthouse at dusk")
    page.get_by_role("button", name="Generate").click()
    settle(page, timeout_ms=60_000)
    expect(page.locator('[data-testid="stImage"]')).to_have_count(2, timeout=60_000)
    expect(page.get_by_text(re.compile(r"^1 image · \$0\.04 · "))).to_be_visible()  # Imagen: $0.04 an image
    expect(page.get_by_text(re.compile(r"^1 image · \$0\.04\d+ · \d+ in / 1056 out tokens"))).to_be_visible()


def test_an_image_attached_in_chat_reaches_the_model(page, parley_app, tmp_path):
    app = parley_app(models=("claude", "gemini"))
    picture = tmp_path / "fox.png"
    picture.write_bytes(png("fox"))
    open_app(page, f"{app.url}/chat")
    page.locator('[data-testid="stChatInput"] input[type="file"]').set_input_files(str(picture))
    box = page.locator('[data-testid="stChatInputTextArea"]')
    box.fill("What is this?")
    # The file is in the box (its chip), and uploaded (Send is disabled while it uploads).
    # Under load the chip came after the text, and Enter sent the text alone (seen in CI).
    expect(page.get_by_role("button", name="Remove fox.png")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stChatInputSubmitButton")).to_be_enabled(timeout=30_000)
    box.press("Enter")
    settle(page, timeout_ms=60_000)
    expect(page.get_by_text("Echo: What is this? [seen: image/png]")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("📎 fox.png")).to_be_visible()
