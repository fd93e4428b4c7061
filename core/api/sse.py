"""Server-Sent Events for the API's streams.

``primed(stream)`` waits for a stream's first item before any response is sent, so a call
that fails before its first token (every model down, a bad request) gets a proper status
code; ``SSEResponse`` closes its iterator whatever ends the response (a client that goes
away included), so the service records an abandoned stream at once, with what was sent.
"""
from __future__ import annotations

from typing import Any, AsyncIterator

import orjson
from starlette.responses import StreamingResponse

from core.api.errors import ApiError, from_parley_error
from core.errors import ParleyError

__all__ = ["SSEResponse", "Final", "sse_event", "sse_error", "primed", "prepend", "served_by"]

_NONE = object()


class SSEResponse(StreamingResponse):
    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[bytes], headers: dict[str, str] | None = None):
        super().__init__(content, headers={"cache-control": "no-cache",
                                           "x-accel-buffering": "no", **(headers or {})})

    async def stream_response(self, send) -> None:
        """Starlette's, but a ``Final`` piece ends the body in the same write (not one more
        empty write after it)."""
        try:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            async for chunk in self.body_iterator:
                final = isinstance(chunk, Final)
                await send({"type": "http.response.body", "body": chunk, "more_body": not final})
                if final:
                    return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await self.body_iterator.aclose()


class Final(bytes):
    """The last bytes of an ``SSEResponse``'s stream: nothing is sent after them."""


def sse_event(data: Any) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


def sse_error(exc: BaseException, secrets: tuple[str, ...] = ()) -> bytes:
    """An error event in OpenAI's error shape (what its SDK raises as an APIError)."""
    if isinstance(exc, ParleyError):
        error = from_parley_error(exc, secrets)
    elif isinstance(exc, ApiError):
        error = exc
    else:
        error = ApiError(500, "Parley failed while streaming this answer; it has been logged.",
                         type="api_error", code="internal_error")
    return sse_event(error.body())


async def primed(stream: AsyncIterator) -> tuple[AsyncIterator, Any]:
    """``(stream, first item)``; an error before the first item closes the stream and is
    raised here. An empty stream gives ``_NONE`` as its first item."""
    try:
        first = await stream.__anext__()
    except StopAsyncIteration:
        return stream, _NONE
    except BaseException:
        await stream.aclose()
        raise
    return stream, first


def served_by(first: Any, chosen: str) -> str:
    """The model answering a stream, known from its first item (a ``core.results.Delta`` or,
    for an empty answer, the result): a fallback's name when ``chosen`` failed before it."""
    return getattr(first, "served_by", None) or chosen


async def prepend(first: Any, stream: AsyncIterator) -> AsyncIterator:
    if first is not _NONE:
        yield first
    async for item in stream:
        yield item
