"""The one place Parley caches resources and reads Streamlit secrets.

``service()`` builds one ``AIService`` per process (its Router, connection pools and
recorder are shared by every session). Secrets from ``.streamlit/secrets.toml`` are merged
under the environment, so either can carry a key; they never reach a page.
"""
from __future__ import annotations

import os

import streamlit as st

from core import AIService

__all__ = ["service", "environment", "evals"]


def environment() -> dict[str, str]:
    """The process environment, with Streamlit secrets filling the gaps."""
    env = dict(os.environ)
    try:
        secrets = {k: str(v) for k, v in st.secrets.items() if not isinstance(v, dict)}
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        secrets = {}
    return {**secrets, **env}


@st.cache_resource(show_spinner=False)
def service() -> AIService:
    """The process-wide service (settings read once; restart the app after editing them)."""
    return AIService.from_env(environment())


@st.cache_resource(show_spinner=False)
def evals():
    """The process-wide evaluations workbench and its background runs (a run keeps going
    while its page is closed). Raises ``ConfigError`` when the store cannot hold them."""
    from core.evals.background import BackgroundRuns
    from core.evals.workbench import Workbench

    bench = Workbench(service())
    return bench, BackgroundRuns(bench.runner)
