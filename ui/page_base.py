"""Tell Streamlit's browser client where the server is, so opening a page's address logs no 404
(an ASGI middleware for ``st.App``; it needs no web framework).

Opened at ``/costs``, Streamlit's client first probes ``/costs/_stcore/health`` and
``/costs/_stcore/host-config``, gets two 404s (errors in the browser's console, then a retry),
and only then tries ``/_stcore/...`` (streamlit/streamlit#7074). Its documented embedding hook,
``window.__streamlit.BACKEND_BASE_URL``, names the server's root instead: this middleware adds
that one line to every HTML page the server sends, before Streamlit's own script runs. The app
must be served at the root of its host (no ``server.baseUrlPath``).
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

__all__ = ["PageBase", "SNIPPET"]

SNIPPET = (b'<script>window.__streamlit = Object.assign({BACKEND_BASE_URL: location.origin + "/"},'
           b' window.__streamlit || {});</script>')

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]


class PageBase:
    """``PageBase(app)``: HTML responses get ``SNIPPET`` right after ``<head>``; requests that
    accept HTML are asked for an uncompressed answer (so it can be edited); all else passes."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        headers = dict(scope.get("headers") or [])
        if scope.get("type") != "http" or b"text/html" not in headers.get(b"accept", b""):
            await self.app(scope, receive, send)
            return
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]}
        started: dict[str, Any] = {}
        body: list[bytes] = []

        async def edited(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers") or []).get(b"content-type", b"")
                if not kind.startswith(b"text/html"):
                    await send(message)
                    return
                started.update(message)
                return
            if not started or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            page = b"".join(body).replace(b"<head>", b"<head>" + SNIPPET, 1)
            head = [(k, v) for k, v in started.get("headers", []) if k != b"content-length"]
            await send({**started, "headers": head + [(b"content-length", str(len(page)).encode())]})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, edited)
