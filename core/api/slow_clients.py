"""Slow clients cannot hold the server: a request's headers must arrive within
``HEADER_SECONDS`` (its body within ``core.api.app.BODY_SECONDS``, in any host). uvicorn itself waits for headers as long as a client keeps dripping them,
so a few hundred such connections would hold every socket and file descriptor.

``HeaderDeadlineProtocol`` is uvicorn's own HTTP protocol (httptools when installed, else h11)
with one timer: armed when a connection opens or a new request's first bytes arrive, cancelled
when the request's headers are complete (uvicorn then has a ``cycle`` for it). When it fires,
the client gets ``408 Request Timeout`` and the connection is closed.
"""
from __future__ import annotations

import asyncio

from uvicorn.protocols.http.auto import AutoHTTPProtocol

__all__ = ["HEADER_SECONDS", "HeaderDeadlineProtocol"]

HEADER_SECONDS = 10.0
_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\nconnection: close\r\n"
            b"content-length: 44\r\n\r\nThe request headers did not arrive in time.\n")


class HeaderDeadlineProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol, closing a connection whose request headers are late."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers():
            self._arm()
        super().data_received(data)
        if not self._awaiting_headers():
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = asyncio.get_running_loop().call_later(HEADER_SECONDS, self._late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _late(self) -> None:
        self._header_timer = None
        if self._awaiting_headers() and not self.transport.is_closing():
            self.transport.write(_TIMEOUT)
            self.transport.close()
