"""The caller's trace and Parley's metrics over HTTP.

``TRACEPARENT`` holds the W3C ``traceparent`` header of the request being handled (set by
the API's route class); ``Caller.plan`` copies a well-formed one into the call's metadata, so
the call's span (``core/recording/telemetry.py``) is a child of the caller's trace.

``GET /metrics`` answers Prometheus' text format to a client on the loopback interface or
one holding an admin's key (a user in ``parley.admins``); anyone else gets 403, and a
service that records nothing has no metrics (404).
"""
from __future__ import annotations

import contextvars
import ipaddress
import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from core.api.errors import ApiError
from core.identity import is_admin

__all__ = ["TRACEPARENT", "traceparent", "router"]

TRACEPARENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("traceparent", default=None)
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")


def traceparent(value: str | None) -> str | None:
    """``value`` when it is a well-formed W3C traceparent, else None."""
    value = (value or "").strip().lower()
    return value if _TRACEPARENT.match(value) else None


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def router(caller, route_class) -> APIRouter:
    routes = APIRouter(route_class=route_class)

    @routes.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        if not _loopback(request):
            key = caller.keyring.authenticate(request.headers.get("authorization"))
            if not is_admin(caller.service.settings, key.user_id):
                raise ApiError(403, "Only an admin's key (or a client on this machine) may read "
                                    "the metrics.", code="not_allowed")
        telemetry = getattr(caller.service.recorder, "telemetry", None)
        if telemetry is None:
            raise ApiError(404, "This server records no calls, so it has no metrics.",
                           code="not_found")
        from core.recording.telemetry import METRICS_CONTENT_TYPE

        return Response(telemetry.metrics_text(), media_type=METRICS_CONTENT_TYPE)

    return routes
