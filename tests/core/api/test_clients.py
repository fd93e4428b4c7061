"""Spend by client: each API call records the client that sent it (User-Agent and SDK
headers), and ``usage --by client`` and the console's analytics show spend per client and user."""
from __future__ import annotations

import json

import pytest

from core.api.clients import client_of
from core.cli import main


@pytest.mark.parametrize("headers, expected", [
    ({"user-agent": "claude-cli/2.1.197 (external, cli)"}, ("claude-code", "2.1.197")),
    ({"user-agent": "Anthropic/Python 2.16.0"}, ("anthropic-python", "2.16.0")),
    ({"user-agent": "OpenAI/Python 2.54.0"}, ("openai-python", "2.54.0")),
    ({"user-agent": "AsyncOpenAI/Python 2.54.0"}, ("openai-python", "2.54.0")),
    ({"user-agent": "Agents/Python 0.6.1"}, ("openai-agents", "0.6.1")),
    ({"user-agent": "langchain-anthropic/1.7.10"}, ("langchain", "1.7.10")),
    ({"user-agent": "ai-sdk/openai/3.0.141 ai-sdk/provider-utils/4.0.1 runtime/node.js/20"},
     ("ai-sdk", "3.0.141")),
    ({"user-agent": "OpenAI/JS 6.1.0"}, ("openai-js", "6.1.0")),
    ({"user-agent": "curl/8.5.0"}, ("curl", "8.5.0")),
    ({"user-agent": "my-app"}, ("other", None)),
    ({}, ("unknown", None)),
])
def test_the_client_is_named_from_its_headers(headers, expected):
    assert client_of(headers) == expected


def test_spend_is_shown_per_client_and_user(api_env, in_process, capsys):
    import anthropic

    alice, bob = in_process.make_key("alice"), in_process.make_key("bob")
    in_process.openai(alice).chat.completions.create(
        model="gemini", messages=[{"role": "user", "content": "hi"}])
    for secret, agent in ((alice, "claude-cli/2.1.197 (external, cli)"),
                          (bob, "claude-cli/2.1.197 (external, cli)")):
        anthropic.Anthropic(base_url=in_process.base_url, api_key=secret, max_retries=0,
                            http_client=in_process.http,
                            default_headers={"User-Agent": agent}).messages.create(
            model="claude", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    rows = in_process.records(3)
    assert [r["client"] for r in rows] == ["openai-python", "claude-code", "claude-code"]
    assert main(["usage", "--by", "client", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {(r["client"], r["user"]) for r in report} == {
        ("openai-python", "alice"), ("claude-code", "alice"), ("claude-code", "bob")}
    by_pair = {(r["client"], r["user"]): r for r in report}
    for row in rows:
        assert by_pair[(row["client"], row["user_id"])]["cost"] == pytest.approx(row["total_cost"])
    assert main(["usage", "--by", "client"]) == 0
    assert "claude-code" in capsys.readouterr().out


def test_the_console_reads_spend_per_client(api_env, in_process):
    from core.console.analytics import Filters, spend_by_client
    from core.service import AIService

    in_process.openai(in_process.make_key("alice")).chat.completions.create(
        model="gemini", messages=[{"role": "user", "content": "hi"}])
    [row] = in_process.records(1)
    service = AIService.from_env()
    try:
        frame = spend_by_client(service.store, Filters())
        assert frame.to_dict("records")[0]["client"] == "openai-python"
        assert frame["cost"].sum() == pytest.approx(row["total_cost"])
        assert spend_by_client(service.store, Filters(users=("bob",))).empty
    finally:
        service.close()


def test_calls_made_by_parley_itself_are_named_not_unknown(api_env, in_process, capsys):
    """The CLI's, the app's (its composition root names it) and the Python API's calls read as
    what they are in ``usage --by client``; an API call without a User-Agent stays unknown."""
    from core.assembly import assemble
    from core.service import AIService

    assert main(["ask", "hi", "--model", "gemini", "--user", "carol", "--json"]) == 0
    app = assemble(client="parley-app")
    backend = AIService.from_env()
    try:
        app.service.generate_sync("hi", user_id="dana", model="gemini")
        backend.generate_sync("hi", user_id="erin", model="gemini")
    finally:
        app.close()
        backend.close()
    in_process.http.post("/v1/chat/completions", headers={
        **in_process.headers(in_process.make_key("frank")), "User-Agent": ""},
        json={"model": "gemini", "messages": [{"role": "user", "content": "hi"}]}).raise_for_status()
    in_process.records(4)
    capsys.readouterr()
    assert main(["usage", "--by", "client", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {(r["client"], r["user"]) for r in report} == {
        ("parley-cli", "carol"), ("parley-app", "dana"), ("parley-python", "erin"),
        ("unknown", "frank")}
