"""Which client sent a request, from its ``User-Agent`` and SDK headers, so spend can be
told apart per client ("what does Claude Code cost us, per developer?").

    client_of(request.headers)  # -> ("claude-code", "2.0.14") or ("unknown", None)

The name is one of ``CLIENTS``' names, ``"other"`` for a User-Agent not recognised, or
``"unknown"`` when none was sent. The version is the client's own, when the header carries it.
"""
from __future__ import annotations

import re
from typing import Mapping

__all__ = ["CLIENTS", "client_of"]

# (name, User-Agent pattern with the version as its group), first match wins: the more
# specific clients (built on an SDK) come before the SDK they are built on.
CLIENTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE)) for name, pattern in (
        ("claude-code", r"claude-cli/([\w.\-]+)"),
        ("openai-agents", r"Agents/Python ([\w.\-]+)"),
        ("langchain", r"langchain[\w\-]*/([\w.\-]+)"),
        ("llama-index", r"llama[-_]?index[\w\-]*/([\w.\-]+)"),
        ("ai-sdk", r"ai-sdk/[\w\-]+/([\w.\-]+)"),
        ("ai-sdk", r"\bai/([\w.\-]+)"),
        ("anthropic-python", r"Anthropic/Python ([\w.\-]+)"),
        ("anthropic-js", r"Anthropic/JS ([\w.\-]+)"),
        ("openai-python", r"(?:Async)?OpenAI/Python ([\w.\-]+)"),
        ("openai-js", r"OpenAI/JS ([\w.\-]+)"),
        ("litellm", r"litellm/([\w.\-]+)"),
        ("curl", r"curl/([\w.\-]+)"),
        ("httpx", r"python-httpx/([\w.\-]+)"),
        ("requests", r"python-requests/([\w.\-]+)"),
    ))


def client_of(headers: Mapping[str, str]) -> tuple[str, str | None]:
    """``(name, version)`` of the client that sent ``headers`` (names are case-insensitive;
    Starlette's ``Headers`` and a plain dict with lower-case names both work)."""
    agent = _header(headers, "user-agent")
    for name, pattern in CLIENTS:
        found = pattern.search(agent)
        if found:
            return name, found.group(1)
    if _header(headers, "x-stainless-lang"):  # a Stainless SDK without its usual User-Agent
        package = _header(headers, "x-stainless-package-version") or None
        return f"sdk-{_header(headers, 'x-stainless-lang').lower()}", package
    return ("other", None) if agent else ("unknown", None)


def _header(headers: Mapping[str, str], name: str) -> str:
    return str(headers.get(name) or headers.get(name.title()) or "")
