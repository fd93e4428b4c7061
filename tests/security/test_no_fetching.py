"""Finding 1: a schema's ``$ref`` to a URL (``http://``, ``file://``) made the server fetch it
(jsonschema's default retrieval), and the fetched text came back in ``parley.json_errors``.
Now only references inside the schema (``#/...``) resolve; anything else is refused with a
sentence, and nothing is fetched."""
from __future__ import annotations

import json

import pytest

from core.errors import BadRequestError
from core.evals.scoring import parse_checks, run_checks
from core.structured import Structured, check_structured, judge
from tests.security.conftest import Recorder


def json_schema(schema: dict) -> dict:
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}


class Answer:
    """The fields of a result ``judge`` reads and writes."""

    def __init__(self, content: str, tool_calls: list | None = None):
        self.ok, self.content, self.tool_calls = True, content, tool_calls or []
        self.json_valid = self.json_errors = None


def test_a_remote_ref_in_a_response_schema_is_refused_before_the_call(recorder):
    schema = {"type": "object", "properties": {"n": {"$ref": f"{recorder.url}/x.json"}}}
    with pytest.raises(BadRequestError, match=r"refers to .*x\.json.*fetches nothing"):
        check_structured(response_format=json_schema(schema))
    assert recorder.hits == []


def test_a_file_ref_in_a_tool_schema_is_refused(tmp_path):
    local = tmp_path / "local.json"
    local.write_text('{"type": "integer", "description": "LOCAL-FILE-CONTENT"}')
    tool = {"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"n": {"$ref": local.as_uri()}}}}}
    with pytest.raises(BadRequestError, match="fetches nothing"):
        check_structured(tools=[tool])


def test_judging_never_fetches_even_an_unchecked_schema(recorder):
    """A schema that reached ``judge`` without ``check_structured`` (older stored calls)."""
    answer = Answer('{"n": "seven"}')
    judge(answer, Structured(response_format=json_schema(
        {"type": "object", "properties": {"n": {"$ref": f"{recorder.url}/x.json"}}})))
    assert recorder.hits == []
    assert answer.json_valid is False
    assert Recorder.LEAKED not in json.dumps(answer.json_errors)
    assert "only references inside the schema" in answer.json_errors[0]


def test_an_eval_schema_check_with_a_remote_ref_is_refused(recorder):
    with pytest.raises(BadRequestError, match="fetches nothing"):
        parse_checks([{"kind": "json_schema", "schema": {"$ref": f"{recorder.url}/x.json"}}])
    assert recorder.hits == []


def test_references_inside_the_schema_still_resolve():
    schema = {"$defs": {"n": {"type": "integer"}}, "type": "object",
              "properties": {"n": {"$ref": "#/$defs/n"}}, "required": ["n"]}
    structured = check_structured(response_format=json_schema(schema))
    good, bad = Answer('{"n": 3}'), Answer('{"n": "three"}')
    judge(good, structured)
    judge(bad, structured)
    assert (good.json_valid, bad.json_valid) == (True, False)
    checks = parse_checks([{"kind": "json_schema", "schema": schema}])
    assert run_checks(checks, '{"n": 3}', None) == {"json_schema": True}


def test_through_the_api_the_attacker_gets_a_400_and_nothing_is_fetched(in_process, recorder):
    response = in_process.http.post(
        "/v1/chat/completions", headers=in_process.headers(in_process.make_key("mallory")),
        json={"model": "gpt", "messages": [{"role": "user", "content": "a number"}],
              "response_format": json_schema({"$ref": f"{recorder.url}/x.json"})})
    assert response.status_code == 400
    assert "fetches nothing" in response.json()["error"]["message"]
    assert recorder.hits == []
