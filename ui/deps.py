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
from core.assembly import assemble
from core.identity import sync_admins
from core.keys import sync_key_policy

__all__ = ["parts", "service", "environment", "team_mode", "evals", "api_routes", "keyring",
           "alert_watcher"]

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


def _close(resource) -> None:
    """Close what a cache let go of (``parts.clear()``, the server stopping): the service's
    loop thread, LiteLLM's clients on it and the store, rather than leave them to the
    collector at exit."""
    if resource is not None:
        resource.close()


def _close_parts(resource) -> None:
    """The parts let go: what was built on them (the evaluations workbench) goes too, so no
    page is handed a workbench whose store is closed."""
    evals.clear()
    _close(resource)


@st.cache_resource(show_spinner=False, on_release=_close_parts)
def parts():
    """The process's parts (core.assembly: the service, the keyring and the one store behind
    them), built once (settings read once; restart the app after editing them); closed when
    the cache lets them go. At start,
    ``parley.admins`` and ``parley.key_policy`` are copied to the database; in team mode every
    user gets a rate limit (``parley.rate_limit_per_minute``, else
    ``TEAM_RATE_LIMIT_PER_MINUTE``)."""
    parley = assemble(environment(), team=team_mode(), client="parley-app")
    if parley.service.store is not None:
        try:
            sync_admins(parley.settings, parley.service.store)
            sync_key_policy(parley.settings, parley.service.store)
        except ParleyError as err:  # the app still decides from parley.admins; the DB catches up
            log.warning("could not copy parley.admins and parley.key_policy to the database: %s",
                        err)
        parley.warm_prices()
    return parley


def service() -> AIService:
    """The process-wide service."""
    return parts().service


@st.cache_resource(show_spinner=False, on_release=_close)
def alert_watcher():
    """The spend-alert watcher (core.console.alerts) on its own thread, once per process, when
    ``parley.alerts`` is set (else None). app.py starts it with the first page shown."""
    return parts().start_alerts()


def keyring():
    """The API keys (core.keys.KeyRing) in the service's store: the /keys page and the API
    routes share it, so a key revoked on the page is refused at once."""
    return parts().keyring


def api_routes() -> list:
    """The HTTP API's routes on the process-wide service, for ``st.App`` (server.py). Calls
    run on the service's own loop thread, like the pages' calls."""
    from core.api import api_routes as routes

    alert_watcher()  # API traffic alone must raise alerts too
    return routes(service(), keyring(), own_loop=True)


@st.cache_resource(show_spinner=False)
def evals():
    """The process-wide evaluations workbench and its background runs (a run keeps going
    while its page is closed). Raises ``ConfigError`` when the store cannot hold them."""
    from core.evals.background import BackgroundRuns
    from core.evals.workbench import Workbench

    bench = Workbench(service())
    return bench, BackgroundRuns(bench.runner)
