"""Finding 4: 70 tools of 600 properties each (3.8 MB, under the body limit) took 12 s to check,
and a schema nested 300 deep logged a 2,000-line RecursionError traceback on every request.
Now the call's schemas are measured first (tools, values, properties, depth) and refused with
one sentence; the API answers 400 and logs no traceback."""
from __future__ import annotations

import json
import logging

import pytest

from core.bounded import LimitExceeded
from core.errors import BadRequestError
from core.structured import (
    MAX_SCHEMA_DEPTH,
    MAX_SCHEMA_PROPERTIES,
    MAX_TOOLS,
    check_structured,
)


def tools(count: int, properties: int) -> list[dict]:
    return [{"type": "function", "function": {"name": f"tool_{t}", "parameters": {
        "type": "object", "properties": {f"p{p}": {"type": "string", "description": "x" * 40}
                                         for p in range(properties)}}}} for t in range(count)]


def nested(depth: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "array", "items": schema}
    return schema


def test_70_tools_of_600_properties_are_refused_by_the_property_limit():
    many = tools(70, 600)
    assert 3_500_000 < len(json.dumps(many)) < 4 * 1024 * 1024
    with pytest.raises(LimitExceeded, match=f"more than {MAX_SCHEMA_PROPERTIES:,} properties"):
        check_structured(tools=many)


def test_too_many_tools_are_refused():
    with pytest.raises(BadRequestError, match=f"1 to {MAX_TOOLS} tool definitions"):
        check_structured(tools=tools(MAX_TOOLS + 1, 1))


def test_a_schema_nested_300_deep_is_a_clean_refusal():
    with pytest.raises(LimitExceeded, match=f"nested more than {MAX_SCHEMA_DEPTH} levels"):
        check_structured(response_format={"type": "json_schema", "json_schema": {
            "name": "deep", "schema": nested(300)}})


def test_schemas_within_the_limits_pass():
    schema = nested(MAX_SCHEMA_DEPTH // 2 - 1)
    checked = check_structured(tools=tools(3, 100), response_format={
        "type": "json_schema", "json_schema": {"name": "ok", "schema": schema}})
    assert len(checked.tools) == 3 and checked.schema == schema


@pytest.mark.parametrize("payload", ["deep", "wide"])
def test_the_api_answers_400_and_logs_no_traceback(in_process, caplog, payload):
    body = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}
    if payload == "deep":
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "d", "schema": nested(300)}}
    else:
        body["tools"] = tools(70, 600)
    with caplog.at_level(logging.INFO):
        response = in_process.http.post("/v1/chat/completions", json=body,
                                        headers=in_process.headers(in_process.make_key("mallory")))
    assert response.status_code == 400, response.text
    assert "limit" in response.json()["error"]["message"] or "nested" in response.json()["error"]["message"]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert len(caplog.records) <= 1
