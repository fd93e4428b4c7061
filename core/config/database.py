"""``PARLEY_DATABASE_URL`` checked when the settings load, before anything connects."""
from __future__ import annotations

import urllib.parse

from core.errors import ConfigError

__all__ = ["check_postgres_url"]


def check_postgres_url(url: str) -> None:
    """``ConfigError`` (never showing the password) unless ``url`` names a host and a database
    and has a numeric port: a URL with neither would make the driver use its defaults (the
    local socket, the login's database) and Parley would write to a database nobody named."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise ConfigError(f"is not a valid Postgres URL ({_url_fault(exc)}); write "
                          "postgresql://user:password@host:5432/database",
                          key="PARLEY_DATABASE_URL") from None
    query = urllib.parse.parse_qs(parts.query)
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"has port {port}, which is not from 1 to 65535", key="PARLEY_DATABASE_URL")
    if not (host or query.get("host")):
        raise ConfigError("names no host; write postgresql://user:password@host:5432/database",
                          key="PARLEY_DATABASE_URL")
    if not (parts.path.strip("/") or query.get("dbname")):
        raise ConfigError("names no database; end it with /<database name>",
                          key="PARLEY_DATABASE_URL")


def _url_fault(exc: ValueError) -> str:
    text = str(exc)
    if "range" in text:
        return "the port is not from 1 to 65535"
    if "Port" in text or "port" in text:
        return "the port is not a number"
    if "IPv6" in text:
        return "the IPv6 host is not closed with ]"
    return "it cannot be parsed"
