"""The real ``openai`` SDK against ``/v1/embeddings`` and legacy ``/v1/completions``, and the
catch-all: unknown routes and wrong methods answer in the caller's protocol's shape."""
from __future__ import annotations

import json

import pytest
import yaml

from tests.core.api.conftest import serve_in_process


@pytest.fixture
def with_embeddings(api_env, emulator):
    """The API with an embedding model (``embed``) beside claude, gemini and gpt."""
    path = api_env["PARLEY_CONFIG"]
    config = yaml.safe_load(open(path))
    config["model_list"].append({"model_name": "embed", "litellm_params": {
        "model": "openai/text-embedding-3-small", "api_key": "os.environ/OPENAI_API_KEY",
        "api_base": emulator.openai_base}})
    open(path, "w").write(yaml.safe_dump(config))
    yield from serve_in_process(api_env)


def test_embeddings_are_priced_and_recorded_as_their_own_kind(with_embeddings):
    api = with_embeddings.openai(with_embeddings.make_key("alice"))
    answer = api.embeddings.create(model="embed", input=["a cat", "a dog sat down"])
    assert len(answer.data) == 2 and len(answer.data[0].embedding) == 8
    assert answer.usage.prompt_tokens > 0
    [row] = with_embeddings.records(1)
    assert row["kind"] == "embedding" and row["model"] == "embed" and row["total_cost"] > 0
    assert row["input_tokens"] == answer.usage.prompt_tokens and row["client"] == "openai-python"
    as_base64 = api.embeddings.create(model="embed", input="a cat")  # the SDK asks for base64
    assert as_base64.data[0].embedding == answer.data[0].embedding


def test_embeddings_without_an_embedding_model_are_a_400(in_process):
    import openai

    api = in_process.openai(in_process.make_key("alice"))
    with pytest.raises(openai.BadRequestError, match="embedding"):
        api.embeddings.create(model="gpt", input="a cat")


@pytest.mark.parametrize("model", ["gpt", "gemini"])
def test_legacy_completions_plain_and_streamed(in_process, model):
    api = in_process.openai(in_process.make_key("alice"))
    plain = api.completions.create(model=model, prompt="Say hello", max_tokens=50)
    assert plain.object == "text_completion" and plain.choices[0].text
    pieces = [c.choices[0].text for c in api.completions.create(
        model=model, prompt="Say hello", max_tokens=50, stream=True) if c.choices]
    assert "".join(pieces) == plain.choices[0].text
    rows = in_process.records(2)
    assert [r["status"] for r in rows] == ["success", "success"] and all(r["total_cost"] > 0 for r in rows)


def test_an_unknown_route_answers_in_the_callers_shape_and_lists_the_routes(in_process):
    import anthropic
    import openai

    secret = in_process.make_key("alice")
    with pytest.raises(openai.NotFoundError, match="/v1/nothing.*POST /v1/chat/completions"):
        in_process.openai(secret).post("/nothing", cast_to=dict, body={})
    http = in_process.http
    wrong = http.get("/v1/chat/completions", headers=in_process.headers(secret))
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    shaped = http.post("/v1/messages/batches", json={}, headers={"x-api-key": secret,
                                                                 "anthropic-version": "2023-06-01"})
    assert shaped.status_code == 404 and shaped.json()["type"] == "error"
    assert shaped.json()["error"]["type"] == "not_found_error"
    assert "POST /v1/messages" in shaped.json()["error"]["message"]
    api = anthropic.Anthropic(base_url=in_process.base_url, api_key=secret,
                              http_client=in_process.http, max_retries=0)
    with pytest.raises(anthropic.NotFoundError, match="no route GET /v1/models/claude"):
        api.models.retrieve("claude")
    assert json.loads(http.get("/v1/models", headers=in_process.headers(secret)).text)["data"]
    slashed = http.post("/v1/chat/completions/", json={}, headers=in_process.headers(secret))
    assert slashed.status_code == 404 and "without the trailing slash" in slashed.json()["error"]["message"]


def test_an_image_model_whose_provider_has_no_image_endpoint_is_a_502(api_env, emulator):
    path = api_env["PARLEY_CONFIG"]
    config = yaml.safe_load(open(path))
    config["model_list"].append({"model_name": "drawer", "litellm_params": {
        "model": "anthropic/claude-sonnet-4-5", "api_key": "os.environ/ANTHROPIC_API_KEY",
        "api_base": emulator.anthropic_base}, "model_info": {"mode": "image_generation"}})
    open(path, "w").write(yaml.safe_dump(config))
    for gateway in serve_in_process(api_env):
        answer = gateway.http.post("/v1/images/generations", json={"model": "drawer", "prompt": "a cat"},
                                   headers=gateway.headers(gateway.make_key("alice")))
        assert answer.status_code == 502, answer.text
        assert answer.json()["error"]["code"] == "provider_error"
        assert "image" in answer.json()["error"]["message"]
