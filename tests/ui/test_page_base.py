"""ui/page_base.py: an HTML page gets the line naming the server's root; nothing else changes."""
from __future__ import annotations

import asyncio

from ui.page_base import SNIPPET, PageBase


def serve(path: str, accept: bytes, content_type: bytes, body: bytes) -> tuple[dict, bytes, list]:
    """Run one request through ``PageBase`` around an app answering ``body``; return the
    response head, its body, and the request headers the app saw."""
    seen = []

    async def app(scope, receive, send):
        seen.extend(scope["headers"])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", content_type),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body[:5], "more_body": True})
        await send({"type": "http.response.body", "body": body[5:]})

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path,
             "headers": [(b"accept", accept), (b"accept-encoding", b"gzip")]}
    asyncio.run(PageBase(app)(scope, None, send))
    return sent[0], b"".join(m.get("body", b"") for m in sent[1:]), seen


def test_a_page_names_the_server_root_before_streamlits_script():
    page = b"<html><head><script src=x></script></head></html>"
    head, body, seen = serve("/costs", b"text/html,*/*", b"text/html; charset=utf-8", page)
    assert body == b"<html><head>" + SNIPPET + b"<script src=x></script></head></html>"
    assert dict(head["headers"])[b"content-length"] == str(len(body)).encode()
    assert b"accept-encoding" not in dict(seen)  # asked uncompressed, so it can be edited


def test_other_answers_pass_unchanged():
    head, body, seen = serve("/_stcore/health", b"*/*", b"text/plain", b"ok")
    assert body == b"ok" and dict(seen)[b"accept-encoding"] == b"gzip"
    head, body, _ = serve("/static/app.js", b"text/html", b"application/javascript", b"let x = 1;")
    assert body == b"let x = 1;"
