"""What answers a request no route serves: ``HEAD /`` and ``GET /`` (a client checking that
the server is up, as Claude Code does), and a catch-all for any other path or method.

The catch-all answers in the caller's protocol's error shape (``shape_of``): Anthropic's for
a ``/v1/messages``-like path or a request carrying ``x-api-key`` or ``anthropic-version``,
OpenAI's otherwise. A path served under another method is a 405 with ``Allow``; any other is
a 404 naming the route asked for and listing the routes Parley serves.
"""
from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute

from core.api.errors import ApiError

__all__ = ["router", "shape_of", "served_routes"]

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def shape_of(request: Request) -> str:
    """``"anthropic"`` when the request looks like an Anthropic client's, else ``"openai"``."""
    path = request.url.path
    headers = request.headers
    if "/messages" in path or "x-api-key" in headers or "anthropic-version" in headers:
        return "anthropic"
    return "openai"


def served_routes(app: FastAPI) -> list[tuple[str, str]]:
    """``(method, path)`` of every route the API serves, in its order (docs and the
    catch-all left out)."""
    served = []
    for route in _api_routes(app.routes):
        if route.path in ("/", "/{path:path}"):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            served.append((method, route.path))
    return served


def _api_routes(routes) -> list[APIRoute]:
    """The ``APIRoute``s in ``routes``, those of included routers too (FastAPI keeps an
    included router as one entry; our routers are included without a prefix)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(_api_routes(route.original_router.routes))
    return found


def router(app: FastAPI, route_class: type = APIRoute) -> APIRouter:
    routes = APIRouter(tags=["Server"], route_class=route_class)

    @routes.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def root():
        """The server is up (no key needed; nothing about it is told)."""
        return Response(status_code=200)

    @routes.api_route("/{path:path}", methods=METHODS, include_in_schema=False)
    async def not_served(request: Request):
        """A 404 or 405 for what no route serves, naming the routes that are."""
        raise unserved(app, request.method, request.url.path)

    return routes


def unserved(app: FastAPI, method: str, path: str) -> ApiError:
    """The error for ``method path``: 405 (with ``Allow``) when another method serves it."""
    served = served_routes(app)
    allowed = sorted({m for m, p in served if _matches(p, path)})
    listing = ", ".join(f"{m} {p}" for m, p in served)
    if method in allowed:  # the path differs only by its trailing slash
        return ApiError(404, f"Parley has no route {method} {path}; it serves {method} "
                             f"{path.rstrip('/')} (without the trailing slash).",
                        type="not_found_error", code="route_not_found")
    if allowed:
        return ApiError(405, f"{method} {path} is not served; {path} answers "
                             f"{' and '.join(allowed)}. Parley serves: {listing}.",
                        type="invalid_request_error", code="method_not_allowed",
                        headers={"Allow": ", ".join(allowed)})
    return ApiError(404, f"Parley has no route {method} {path}. It serves: {listing}.",
                    type="not_found_error", code="route_not_found")


def _matches(template: str, path: str) -> bool:
    """Whether ``path`` fits a route path like ``/v1/responses/{response_id}``."""
    want, have = template.rstrip("/").split("/"), path.rstrip("/").split("/")
    return len(want) == len(have) and all(
        w == h or (w.startswith("{") and w.endswith("}")) for w, h in zip(want, have))
