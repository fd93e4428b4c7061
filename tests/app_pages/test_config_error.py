"""A wrong parley.yaml stops the app with the same one sentence ``python -m core models``
prints, naming the key, instead of a traceback."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.paths import REPO


def test_the_app_names_the_faulty_key(tmp_path, monkeypatch):
    from ui.deps import parts

    config = tmp_path / "parley.yaml"
    config.write_text("model_list: [{model_name: a, litellm_params: {model: openai/x}}]\n"
                      "router_settings: {num_retires: 2}\n")
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    parts.clear()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    parts.clear()
    assert not at.exception
    assert [t.value for t in at.title] == ["Parley's configuration needs fixing"]
    assert at.error[0].value == (f"{config}: router_settings.num_retires: is not a setting Parley "
                                 "knows; did you mean 'num_retries'?")
