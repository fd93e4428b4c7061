"""Placeholder."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute


def router(caller, route_class: type = APIRoute) -> APIRouter:
    return APIRouter(route_class=route_class)
