"""In a real browser: a 20-row CSV is uploaded on /evals and run on two emulated models and the
bundled local model; the progress bar moves; a few rows are voted on blind; the results show
per-model totals; the CSV export holds every answer; and the winner, applied to the service
type for everyone, serves a later call of that service type made outside the app."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import REPO
from tests.browser.streamlit_page import open_app, settle
from tests.emulated import PROVIDER_MODELS
from tests.fakes.script import Reply

BUNDLED = {"model_name": "local",
           "litellm_params": {"model": "parley-local/smollm2-135m-instruct"},
           "model_info": {"display_name": "SmolLM2 135M (bundled, local)", "max_input_tokens": 2048}}


def _pick(page, label: str, option: str) -> None:
    settle(page)
    page.get_by_role("combobox", name=label).click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    settle(page)


def _progress(page) -> tuple[int, int] | None:
    shown = page.get_by_text(re.compile(r"^\d+/\d+ answered")).first
    if not shown.count():
        return None
    done, total = re.match(r"^(\d+)/(\d+)", shown.inner_text()).groups()
    return int(done), int(total)


def test_an_evaluation_from_upload_to_the_decision(page, parley_app, emulator, tmp_path):
    app = parley_app(models=("claude", "gemini"), extra_models=[BUNDLED], parley={"privacy": "store"})
    emulator.set_default(PROVIDER_MODELS["claude"], Reply(text="I do not know.", ttft=0.3))
    emulator.set_default(PROVIDER_MODELS["gemini"], Reply(ttft=0.3))  # echoes: the right answer
    rows = tmp_path / "fruit.csv"
    rows.write_text("question,expected\n" + "".join(
        f"Name fruit number {i},Echo: Name fruit number {i}\n" for i in range(20)))
    open_app(page, f"{app.url}/evals")

    page.get_by_label("Template name", exact=True).fill("fruit")
    _pick(page, "Service type", "answer_builder")
    template = page.get_by_label("Template text", exact=True)
    template.fill("{{ question }}")
    template.blur()
    settle(page)
    page.get_by_role("button", name="Save template").click()
    settle(page)
    expect(page.get_by_text("fruit@1 · service type answer_builder · variables: question")).to_be_visible()

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(rows))
    settle(page)
    expect(page.get_by_text("fruit@1: 20 rows · columns question, expected")).to_be_visible()

    _pick(page, "Judge", "(no judge)")
    tokens = page.get_by_role("spinbutton", name="Max tokens per answer")
    tokens.fill("8")
    tokens.press("Enter")
    settle(page)
    for model in ("Claude (Anthropic)", "Gemini (Google)", "SmolLM2 135M (bundled, local)"):
        page.get_by_role("combobox", name="Models (2 to 4)").click()  # display names
        page.get_by_role("option", name=model, exact=True).click()
        page.keyboard.press("Escape")
        settle(page)
    page.get_by_role("heading", name="Evaluations").click()  # the last selection is sent
    settle(page, timeout_ms=90_000)  # the first estimate loads the models' tokenizers
    expect(page.get_by_text(re.compile(r"^60 calls \(20 rows x 3 configurations\); estimated cost"))
           ).to_be_visible(timeout=90_000)

    page.get_by_role("button", name="Start run").click()
    seen, deadline = set(), time.monotonic() + 600  # the bundled model is slow on a busy CPU
    while time.monotonic() < deadline:
        now = _progress(page)
        if now:
            seen.add(now[0])
            if now[0] == now[1]:
                break
        time.sleep(0.2)
    assert max(seen) == 60 and any(0 < n < 60 for n in seen), seen  # the bar moved on its own
    expect(page.get_by_text(re.compile(r"^Run run-\w+ is done"))).to_be_visible(timeout=30_000)

    page.reload()  # a later visit: the run is listed under Runs
    page.wait_for_selector('[data-testid="stApp"]')
    settle(page)
    page.get_by_role("tab", name="Runs").click()
    settle(page)
    for n in range(1, 5):  # blind: the better answer is whichever echoes the question
        expect(page.get_by_text(re.compile(rf"^Row {n} of 20: "))).to_be_visible()
        first = page.locator('[data-testid="stColumn"]',
                             has=page.get_by_text("Answer A", exact=True)).last.inner_text()
        letter = "A" if "Echo: Name fruit" in first else "B"
        page.get_by_role("button", name=f"{letter} better").click()
        expect(page.get_by_text(f"Vote on row {n} saved.")).to_be_visible()
        settle(page)

    expect(page.locator('[data-testid="stDataFrame"]:visible')).to_have_count(2)  # totals, matrix
    page.get_by_text("Per model", exact=True).scroll_into_view_if_needed()
    page.screenshot(path=_shot("evals-results-emulated"))
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)
    exported = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert len(exported) == 60
    assert {r["model"] for r in exported} == {"claude", "gemini", "local"}
    assert {r["answer"] for r in exported if r["model"] == "gemini"} == {
        f"Echo: Name fruit number {i}" for i in range(20)}

    expect(page.get_by_role("combobox", name="Winner")).to_have_value("gemini")  # ranked first
    expect(page.get_by_role("radio", name="for me")).to_be_checked()  # everyone is a choice
    page.get_by_text("for everyone", exact=True).click()
    settle(page)
    expect(page.get_by_role("button", name="Use gemini for answer_builder")).to_be_disabled()
    page.get_by_text(re.compile(r"^Yes: every user's answer_builder calls")).click()
    settle(page)
    page.get_by_role("button", name="Use gemini for answer_builder").click()
    settle(page)
    expect(page.get_by_text(re.compile(r"^answer_builder now uses gemini for everyone"))).to_be_visible()

    later = subprocess.run([sys.executable, "-m", "core", "ask", "hello", "--service",
                            "answer_builder", "--user", "someone@example.com", "--json"],
                           cwd=REPO, env=app.env, capture_output=True, text=True, timeout=120)
    assert later.returncode == 0, later.stderr
    assert json.loads(later.stdout)["model"] == "gemini"  # the app's default is claude


def test_an_evaluation_with_the_bundled_model_only_on_a_default_install(page, parley_app, tmp_path):
    """No config file and no key: the bundled model at two temperatures makes the run, the
    bundled judge scores it (or is reported as not discriminating), costs read "local", and
    blind voting ends with a summary."""
    app = parley_app(env={"PARLEY_CONFIG": "", "ANTHROPIC_API_KEY": "", "GEMINI_API_KEY": "",
                          "OPENAI_API_KEY": ""})
    rows = tmp_path / "capitals.csv"
    rows.write_text("country,expected\nFrance,Paris\nItaly,Rome\nSpain,Madrid\n")
    page.set_viewport_size({"width": 1400, "height": 900})
    open_app(page, f"{app.url}/images")  # no image model: not in the sidebar; a link explains
    expect(page.get_by_text(re.compile(r"^No image model is configured"))).to_be_visible()
    expect(page.get_by_role("link", name="Images")).to_have_count(0)
    expect(page.get_by_role("link", name="Evaluations")).to_have_count(1)
    page.screenshot(path=_shot("images-without-a-model"))
    open_app(page, f"{app.url}/evals")

    page.get_by_label("Template name", exact=True).fill("capital")
    _pick(page, "Service type", "answer_builder")  # not listed: a default install takes any name
    template = page.get_by_label("Template text", exact=True)
    template.fill("What is the capital of {{ country }}? One word.")
    template.blur()
    settle(page)
    page.get_by_role("button", name="Save template").click()
    settle(page)
    expect(page.get_by_text("capital@1 · service type answer_builder · variables: country")
           ).to_be_visible()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(rows))
    settle(page)
    expect(page.get_by_text("capitals@1: 3 rows · columns country, expected")).to_be_visible()

    expect(page.get_by_role("combobox", name="Judge")).to_have_value("SmolLM2 135M (bundled)",
                                                                     timeout=30_000)
    tokens = page.get_by_role("spinbutton", name="Max tokens per answer")
    tokens.fill("6")
    tokens.press("Enter")
    settle(page)
    picker = page.get_by_role("combobox", name="Models (2 to 4)")
    picker.click()
    offered = [o for o in page.get_by_role("option").all_inner_texts() if o != "Select all"]
    assert offered == ["SmolLM2 135M (bundled)", "SmolLM2 135M (bundled) · t=0.2",
                       "SmolLM2 135M (bundled) · t=0.9"]
    for setting in ("t=0.2", "t=0.9"):
        page.keyboard.type(setting)
        page.keyboard.press("Enter")
        settle(page)
    page.keyboard.press("Escape")
    page.get_by_role("heading", name="Evaluations").click()
    settle(page, timeout_ms=90_000)
    expect(page.get_by_text("12 calls (3 rows x 2 configurations + judge); estimated cost "
                            "nothing: local models only.")).to_be_visible(timeout=90_000)
    page.get_by_text(re.compile(r"^12 calls")).scroll_into_view_if_needed()
    page.screenshot(path=_shot("evals-new-run-bundled"))

    page.get_by_role("button", name="Start run").click()
    expect(page.get_by_text(re.compile(r"^Run run-\w+ is done"))).to_be_visible(timeout=600_000)
    page.reload()
    page.wait_for_selector('[data-testid="stApp"]')
    settle(page)
    page.get_by_role("tab", name="Runs").click()
    settle(page)
    expect(page.get_by_role("combobox", name="Run")).to_have_value(
        re.compile(r"local · t=0\.2, local · t=0\.9"))
    page.get_by_text("Rows x models", exact=True).scroll_into_view_if_needed()
    page.screenshot(path=_shot("evals-results-bundled"))
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)
    exported = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert {r["model"] for r in exported} == {"local · t=0.2", "local · t=0.9"}
    scores = {r["judge_score"] for r in exported}
    judged = page.get_by_text(re.compile("The judge is not discriminating"))
    if len(scores - {""}) == 1:  # one score for every answer: no signal, and it says so
        expect(judged).to_be_visible()
    else:
        expect(judged).to_have_count(0)

    for n in (1, 2, 3):
        expect(page.get_by_text(re.compile(rf"^Row {n} of 3: country: "))).to_be_visible()
        page.get_by_role("button", name="Tie").click()
        expect(page.get_by_text(f"Vote on row {n} saved.")).to_be_visible()
        settle(page)
    expect(page.get_by_text(re.compile(r"^You have voted on 3 of 3 rows for this pair: "
                                       r"local · t=0\.2 better 0, local · t=0\.9 better 0, "
                                       r"tie 3"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Row 1 of 3"))).to_have_count(0)
    expect(page.get_by_role("radio", name="for me")).to_be_checked()
    page.get_by_role("button", name="Vote again from row 1").scroll_into_view_if_needed()
    page.screenshot(path=_shot("evals-voted-bundled"))
    log = app.log()
    assert "Traceback" not in log and "created with a default value" not in log, log[-3000:]


def _shot(name: str) -> str:
    folder = Path("/tmp/evals26")
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"{name}.png")
