"""The providers page: every configured model, its price or "unknown", its context window,
badge and description, whether it can answer now, and never a key."""
from __future__ import annotations

import socket

import pytest
from streamlit.testing.v1 import AppTest

from tests.emulated import KEYS, write_config
from tests.paths import PAGES


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def table(emulator, tmp_path, monkeypatch):
    """The providers page's table (one dict per model) for a config with claude (key set),
    gpt (key not set), a model with no known price, an Ollama model on a server that does not
    answer and a vLLM model on one that does (the emulator)."""
    from ui.deps import parts

    emulator.list_models("served-model")
    extra = [
        {"model_name": "mystery", "litellm_params": {"model": "openai/mystery-model-x",
                                                     "api_key": "os.environ/ANTHROPIC_API_KEY",
                                                     "api_base": emulator.openai_base},
         "model_info": {"badge": "Experimental", "description": "A model nobody has priced."}},
        {"model_name": "llama", "litellm_params": {
            "model": "ollama_chat/llama3.2", "api_base": f"http://127.0.0.1:{closed_port()}"}},
        {"model_name": "served", "litellm_params": {
            "model": "hosted_vllm/served-model", "api_base": emulator.openai_base}},
    ]
    config = write_config(emulator, tmp_path / "parley.yaml", models=("claude", "gpt"), extra=extra)
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEYS["claude"])
    parts.clear()
    at = AppTest.from_file(str(PAGES / "providers.py"), default_timeout=30).run()
    parts.clear()
    assert not at.exception
    page_text = repr(at._tree) + " ".join(str(e.value) for e in [*at.markdown, *at.caption])
    frame = at.table[0].value
    rows = {row["Name"]: row for row in frame.to_dict("records")}
    return rows, page_text + frame.to_csv()


def test_every_configured_model_is_listed(table):
    rows, _ = table
    assert list(rows) == ["claude", "gpt", "mystery", "llama", "served"]


def test_a_cloud_model_with_its_key_set(table):
    claude = table[0]["claude"]
    assert claude["Model"] == "Claude (Anthropic) · default" and claude["Provider"] == "anthropic"
    assert claude["Ready"] == "yes" and claude["API key"] == "set"
    assert claude["Input / 1M"] == "$3.00" and claude["Output / 1M"] == "$15.00"
    assert claude["Context window"] == "200,000 tokens"


def test_a_model_without_its_key_says_which_is_missing(table):
    gpt = table[0]["gpt"]
    assert gpt["Ready"] == "no: OPENAI_API_KEY is not set" and gpt["API key"] == "not set"


def test_an_unpriced_model_shows_unknown_never_zero(table):
    mystery = table[0]["mystery"]
    assert mystery["Input / 1M"] == mystery["Output / 1M"] == "price unknown"
    assert mystery["Context window"] == "unknown"
    assert (mystery["Badge"], mystery["Description"]) == ("Experimental",
                                                           "A model nobody has priced.")


def test_local_servers_are_checked(table):
    rows, _ = table
    assert rows["llama"]["Ready"].startswith("no: Ollama at http://127.0.0.1:")
    assert "not reachable" in rows["llama"]["Ready"]
    assert rows["llama"]["API key"] == "not needed"
    assert rows["served"]["Ready"] == "yes" and rows["served"]["Input / 1M"] == "local (free)"


def test_no_key_appears_on_the_page(table):
    _, text = table
    assert all(key not in text for key in KEYS.values())


def test_a_user_who_is_not_an_admin_sees_no_internal_address(emulator, tmp_path, monkeypatch):
    """In team mode, where local model servers live is for admins: a user sees that llama
    cannot answer, and why, but not the server's address."""
    from tests.core.test_identity import AUTH
    from ui.deps import parts

    port = closed_port()
    emulator.list_models("served-model")
    extra = [{"model_name": "llama", "litellm_params": {
        "model": "ollama_chat/llama3.2", "api_base": f"http://127.0.0.1:{port}"}},
        {"model_name": "served", "litellm_params": {
            "model": "hosted_vllm/served-model", "api_base": emulator.openai_base},
         "model_info": {"description": f"Our GPU box at {emulator.openai_base}."}}]
    config = write_config(emulator, tmp_path / "parley.yaml", models=("claude",), extra=extra,
                          parley={"admins": ["admin@example.com"]})
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    shown, how_to_add = {}, {}
    for user in ("bob@example.com", "admin@example.com"):
        parts.clear()
        at = AppTest.from_file(str(PAGES / "providers.py"), default_timeout=30)
        at.secrets["auth"] = dict(AUTH)
        at.user = {"is_logged_in": True, "email": user, "email_verified": True}
        at.run()
        assert not at.exception
        shown[user] = at.table[0].value.to_csv()
        how_to_add[user] = " ".join(m.value for m in at.markdown)
    parts.clear()
    # nor where the configuration file lives: adding a model is an admin's job
    assert "Ask a Parley admin" in how_to_add["bob@example.com"]
    assert str(config) not in how_to_add["bob@example.com"]
    assert str(config) in how_to_add["admin@example.com"]
    assert str(port) not in shown["bob@example.com"] and "127.0.0.1" not in shown["bob@example.com"]
    assert "[internal address]" in shown["bob@example.com"]
    assert "not reachable" in shown["bob@example.com"]
    assert f"127.0.0.1:{port}" in shown["admin@example.com"]
    assert emulator.openai_base in shown["admin@example.com"]


def test_the_page_says_how_many_models_can_answer_in_words(table, emulator, tmp_path, monkeypatch):
    _, text = table
    assert "3 of the 5 models can answer now; the table says why the others cannot." in text
    from ui.deps import parts

    config = write_config(emulator, tmp_path / "one.yaml", models=("claude",))
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    parts.clear()
    at = AppTest.from_file(str(PAGES / "providers.py"), default_timeout=30).run()
    parts.clear()
    assert "The one configured model can answer now." in [m.value for m in at.markdown]


def test_a_default_install_says_how_to_add_a_model(monkeypatch):
    from ui.deps import parts

    parts.clear()  # no config file, no key: the bundled model alone
    at = AppTest.from_file(str(PAGES / "providers.py"), default_timeout=30).run()
    parts.clear()
    assert not at.exception
    said = " ".join(str(m.value) for m in at.markdown)
    assert [s.value for s in at.subheader] == ["Add a model"]
    assert "set `ANTHROPIC_API_KEY`" in said and "copy `parley.example.yaml` to `parley.yaml`" in said
    assert "The one configured model can answer now." in said


def test_with_a_config_file_a_model_is_added_to_its_model_list(table):
    _, page_text = table
    assert "List it under `model_list` in" in page_text and "parley.yaml" in page_text
