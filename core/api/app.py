"""The HTTP API as a FastAPI app, or as its routes for another Starlette server.

    app = create_app(service)                  # uvicorn core.api.serve:app, python -m core serve
    routes = api_routes(service, own_loop=True)  # st.App("app.py", routes=routes)

Every route is a ``ParleyRoute``: it refuses a body over ``max_body_bytes`` (413) before
reading it, and turns every failure into its protocol's error shape (core/api/errors.py:
Anthropic's on ``/v1/messages*``, OpenAI's elsewhere) itself, so the routes behave the same in
any Starlette app, Streamlit's included. Unexpected exceptions are logged and answered with a
fixed sentence: no traceback, no secret. Any other path or method is answered by the
catch-all (core/api/fallback_routes.py) in the caller's shape, naming the routes served.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any, Callable

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from core.api.caller import Caller
from core.api.errors import ApiError, from_parley_error
from core.assembly import keyring_for
from core.keys import KeyRing
from core.errors import ParleyError

__all__ = ["create_app", "api_routes", "MAX_BODY_BYTES", "BODY_SECONDS"]

MAX_BODY_BYTES = 4 * 1024 * 1024
BODY_SECONDS = 30.0  # 4 MB at about 140 KB/s; a client dripping its body is cut off after it
JSON_DEPTH = 1024  # orjson's limit; a deeper body is refused before the stdlib parser recurses
log = logging.getLogger("parley.api")


def create_app(service, keyring: KeyRing | None = None, *, own_loop: bool = False,
               max_body_bytes: int | None = None) -> FastAPI:
    """The API on ``service`` (an ``AIService``, built by ``core.assembly``). ``keyring``
    defaults to the keys in the service's store; ``own_loop`` runs calls on the service's loop
    thread (for a host whose loop the service does not own, like Streamlit's)."""
    from core.api import (anthropic_routes, fallback_routes, observability, openai_routes,
                          parley_routes, protocol_routes, responses_routes)

    caller = Caller(service, keyring or keyring_for(service), own_loop=own_loop)
    limit = max_body_bytes or int(os.environ.get("PARLEY_API_MAX_BODY_BYTES") or MAX_BODY_BYTES)
    secrets = service.settings.secrets()
    route_class = _route_class(limit, secrets)
    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        if not own_loop:  # the calls ran on the host's loop: close what they opened on it
            await service.gateway.aclose()

    app = FastAPI(title="Parley API", version="1", openapi_url="/api/openapi.json",
                  lifespan=lifespan,
                  docs_url="/api/docs", redoc_url=None,
                  description="OpenAI- and Anthropic-compatible routes and Parley's own. "
                              "Every route needs `Authorization: Bearer pk-...` "
                              "(or `x-api-key: pk-...`).")
    app.include_router(openai_routes.router(caller, route_class))
    app.include_router(protocol_routes.router(caller, route_class))
    app.include_router(responses_routes.router(caller, route_class))
    app.include_router(anthropic_routes.router(caller, _route_class(limit, secrets, "anthropic")))
    app.include_router(parley_routes.router(caller, route_class))
    app.include_router(observability.router(caller, route_class))
    app.include_router(fallback_routes.router(app, _route_class(limit, secrets, "caller")))  # last
    app.state.caller = caller
    return app


def api_routes(service, keyring: KeyRing | None = None, **options: Any) -> list:
    """``create_app``'s app mounted at ``/v1`` and ``/api``, for ``st.App(..., routes=...)``
    (outside Streamlit's reserved /_stcore/, /media/, /component/ and /static/). The app is
    mounted whole, not as loose routes: FastAPI's routes need the app's own middleware."""
    from starlette.routing import Mount

    from starlette.routing import Route

    app = _Unprefixed(create_app(service, keyring, **options))
    return [Mount("/v1", app=app), Mount("/api", app=app), Route("/metrics", endpoint=app)]


class _Unprefixed:
    """The API app under a ``Mount`` that keeps the full path: the app's routes are written
    with their prefixes (``/v1/...``), so the mount's prefix is not stripped."""

    def __init__(self, app: FastAPI):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "root_path": scope.get("app_root_path", "")}
        await self.app(scope, receive, send)


def _route_class(max_body_bytes: int, secrets: tuple[str, ...],
                 shape: str = "openai") -> type[APIRoute]:
    """Routes whose failures answer in ``shape``: ``"openai"``, ``"anthropic"``, or
    ``"caller"`` (whichever the request's path and headers say its client speaks)."""
    from core.api.fallback_routes import shape_of

    class ParleyRoute(APIRoute):
        def get_route_handler(self) -> Callable:
            handler = super().get_route_handler()

            async def guarded(request: Request):
                from core.api.observability import TRACEPARENT, traceparent

                TRACEPARENT.set(traceparent(request.headers.get("traceparent")))
                try:
                    await _read_limited(request, max_body_bytes)
                    return await handler(request)
                except Exception as exc:  # noqa: BLE001 - every failure gets an answer
                    return error_response(exc, secrets,
                                          shape_of(request) if shape == "caller" else shape)

            return guarded

    return ParleyRoute


async def _read_limited(request: Request, limit: int) -> None:
    """Read the body (kept for the handler) unless it is over ``limit`` bytes (413) or has not
    all arrived ``BODY_SECONDS`` after reading began (408)."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    declared = request.headers.get("content-length")
    too_big = ApiError(413, f"The request body is over the {limit:,}-byte limit; send less.",
                       code="request_too_large")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    try:
        async with asyncio.timeout(BODY_SECONDS):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_big
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError(408, f"The request body did not arrive within {BODY_SECONDS:g} seconds; "
                            "send it at once.", type="invalid_request_error",
                       code="request_timeout") from None
    request._body = b"".join(chunks)  # Starlette's documented cache of the body
    _parse_json(request)


def _parse_json(request: Request) -> None:
    """Parse a JSON body with orjson (a 3 MB body in about a third of the stdlib's time, on
    the event loop every request shares) into Starlette's cache of it, ``request.json()``. A
    body orjson refuses (NaN, a huge integer, bad UTF-8) is left to the stdlib parser, which
    answers it exactly as before."""
    if not request._body or "json" not in request.headers.get("content-type", "json"):
        return
    try:
        request._json = orjson.loads(request._body)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):  # the stdlib parser would recurse
            raise ApiError(400, f"The request body is nested over {JSON_DEPTH:,} levels deep; "
                                "send a flatter one.", code="invalid_request") from None
        # otherwise the stdlib parser decides, as before: accepted, or FastAPI's "not valid JSON"


def error_response(exc: BaseException, secrets: tuple[str, ...] = (),
                   shape: str = "openai") -> JSONResponse:
    """The JSON error for ``exc`` in ``shape`` (``"openai"`` or ``"anthropic"``;
    core/api/errors.py)."""
    if isinstance(exc, ParleyError):
        exc = from_parley_error(exc, secrets)
    elif isinstance(exc, RequestValidationError):
        exc = ApiError(400, _validation_sentence(exc), code="invalid_request")
    elif isinstance(exc, HTTPException):
        exc = ApiError(exc.status_code, str(exc.detail), code="http_error")
    elif not isinstance(exc, ApiError):
        log.error("API route failed: %s", type(exc).__name__, exc_info=exc)
        exc = ApiError(500, "Parley failed to handle this request; it has been logged. "
                            "Try again, and tell the operator if it persists.",
                       type="api_error", code="internal_error")
    return JSONResponse(exc.body(shape), status_code=exc.status, headers=exc.headers())


def _validation_sentence(exc: RequestValidationError) -> str:
    """One sentence for the first problem pydantic found (the body is never echoed)."""
    errors = exc.errors()
    if not errors:
        return "The request body is not valid."
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "the body"
    message = str(first.get("msg", "is not valid"))
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return f"{where}: {message}."
