"""Parley's HTTP API (the only package that imports FastAPI/Starlette).

``create_app(service)`` builds the FastAPI app; ``api_routes(service)`` its routes, for
``st.App(..., routes=...)``. Keys (``core.keys``) need no web framework, so the CLI and
pages import them without loading FastAPI.
"""
from __future__ import annotations

__all__ = ["create_app", "api_routes"]


def create_app(service, keyring=None, **options):
    from core.api.app import create_app as build

    return build(service, keyring, **options)


def api_routes(service, keyring=None, **options):
    from core.api.app import api_routes as build

    return build(service, keyring, **options)
