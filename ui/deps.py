"""The one place Parley caches resources and reads Streamlit secrets.

``service()`` builds one ``AIService`` per process (its Router, connection pools and
recorder are shared by every session). Secrets from ``.streamlit/secrets.toml`` are merged
under the environment, so either can carry a key; they never reach a page.
"""
from __future__ import annotations

import logging
import os

import streamlit as st

from core import AIService, ParleyError
from core.guards import TEAM_RATE_LIMIT_PER_MINUTE, CallLimiter
from core.identity import sync_admins

__all__ = ["service", "environment", "team_mode"]

log = logging.getLogger("parley")


def team_mode() -> bool:
    """Whether Streamlit auth is configured (an ``[auth]`` section in the secrets)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return False


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
    """The process-wide service (settings read once; restart the app after editing them).
    At start, ``parley.admins`` is copied to the database; in team mode every user gets a
    rate limit (``parley.rate_limit_per_minute``, else ``TEAM_RATE_LIMIT_PER_MINUTE``)."""
    svc = AIService.from_env(environment())
    if team_mode():
        svc.limiter = CallLimiter(svc.settings.rate_limit_per_minute or TEAM_RATE_LIMIT_PER_MINUTE)
    if svc.store is not None:
        try:
            sync_admins(svc.settings, svc.store)
        except ParleyError as err:  # the app still decides from parley.admins; the DB catches up
            log.warning("could not copy parley.admins to the database: %s", err)
    return svc
