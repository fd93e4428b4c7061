"""``POST /v1/images/generations`` through the official openai SDK: images back from an
emulated image model, priced and recorded as an image call of the key's user."""
from __future__ import annotations

import base64

import openai
import pytest
from starlette.testclient import TestClient

from tests.core.api.conftest import ENV_KEYS, _gateway, _keyring
from tests.emulated import write_config
from tests.fakes import Reply


@pytest.fixture
def api(emulator, tmp_path, monkeypatch):
    from core.api import create_app
    from core.service import AIService

    image_model = {"model_name": "gpt-image", "litellm_params": {
        "model": "openai/gpt-image-1", "api_key": "os.environ/OPENAI_API_KEY",
        "api_base": emulator.openai_base}}
    config = write_config(emulator, tmp_path / "parley.yaml", extra=[image_model],
                          parley={"default_model": "gemini"})
    env = {**ENV_KEYS, "PARLEY_CONFIG": str(config), "PARLEY_DATA_DIR": str(tmp_path / ".parley")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    service = AIService.from_env()
    keyring = _keyring(env)
    with TestClient(create_app(service, keyring)) as client:  # one loop, closed with its clients
        yield _gateway("http://testserver", client, env, keyring, service.recorder.flush)
    service.close()
    keyring.close()


def test_images_are_made_priced_and_recorded_for_the_key(api, emulator):
    emulator.enqueue("gpt-image-1", Reply("a red fox in the snow"))
    client = api.openai(api.make_key("pia"))
    raw = client.images.with_raw_response.generate(model="gpt-image", prompt="a red fox", n=2,
                                                   size="1024x1024", quality="low")
    made = raw.parse()
    assert len(made.data) == 2
    assert base64.b64decode(made.data[0].b64_json).startswith(b"\x89PNG")
    cost = float(raw.headers["x-parley-cost"])
    assert cost > 0
    [row] = api.records()
    assert (row["kind"], row["user_id"], row["service_type"], row["model"]) == \
        ("image", "pia", "images", "gpt-image")
    assert row["key_id"] and row["total_cost"] == pytest.approx(cost)


def test_an_image_model_the_key_may_not_use_is_403_and_a_chat_model_400(api, emulator):
    client = api.openai(api.make_key("pia", models=["gemini"]))
    with pytest.raises(openai.PermissionDeniedError, match="may not use gpt-image"):
        client.images.generate(prompt="a fox")
    with pytest.raises(openai.BadRequestError, match="does not make images"):
        api.openai(api.make_key("pia")).images.generate(model="gemini", prompt="a fox")
    assert emulator.requests == []
