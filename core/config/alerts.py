"""``parley.alerts``: where spend alerts go and how often spend is checked (the watcher is
``core.console.alerts``). Parsed when the settings load, so a wrong one fails at once::

    parley:
      alerts:
        webhook: https://hooks.slack.com/services/...   # Slack-compatible JSON: {"text": ...}
        smtp: {host: smtp.example.com, port: 587, starttls: true, sender: parley@example.com,
               to: [finance@example.com], username: parley, password: os.environ/SMTP_PASSWORD}
        spike_factor: 3
        interval_s: 60
        reconcile_drift_pct: 5   # a day x model whose recorded cost is off the bill by more
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from core.errors import ConfigError

__all__ = ["AlertSettings", "SmtpSettings"]

_KEY = "parley.alerts"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    sender: str
    to: tuple[str, ...]
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None  # may be os.environ/NAME, read when sending


@dataclass(frozen=True)
class AlertSettings:
    webhook: str | None = None
    smtp: SmtpSettings | None = None
    spike_factor: float = 3.0
    interval_s: float = 60.0
    reconcile_drift_pct: float = 5.0  # core/console/reconcile.py

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None, source: str = "configuration") -> "AlertSettings | None":
        """Parse ``parley.alerts`` (None when unset); a wrong shape raises ``ConfigError``."""
        if not raw:
            return None
        unknown = sorted(set(raw) - {"webhook", "smtp", "spike_factor", "interval_s",
                                     "reconcile_drift_pct"})
        if unknown:
            raise ConfigError(f"has unknown key(s) {unknown}; use webhook, smtp, spike_factor, "
                              "interval_s and reconcile_drift_pct", source=source, key=_KEY)
        webhook = raw.get("webhook")
        if webhook is not None and (not isinstance(webhook, str)
                                    or not webhook.startswith(("http://", "https://"))):
            raise ConfigError("webhook must be an http(s) URL", source=source, key=f"{_KEY}.webhook")
        smtp = _smtp(raw.get("smtp"), source)
        if webhook is None and smtp is None:
            raise ConfigError("needs a webhook or smtp to send alerts to", source=source, key=_KEY)
        factor, interval = raw.get("spike_factor", 3.0), raw.get("interval_s", 60.0)
        drift = raw.get("reconcile_drift_pct", 5.0)
        for name, value, low in (("spike_factor", factor, 1), ("interval_s", interval, 0.01),
                                 ("reconcile_drift_pct", drift, 0)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
                raise ConfigError(f"must be a number of at least {low}", source=source,
                                  key=f"{_KEY}.{name}")
        return cls(webhook, smtp, float(factor), float(interval), float(drift))


def _smtp(raw: Any, source: str) -> SmtpSettings | None:
    if raw is None:
        return None
    key = f"{_KEY}.smtp"
    if not isinstance(raw, Mapping) or not raw.get("host") or not raw.get("sender") or not raw.get("to"):
        raise ConfigError("needs host, sender and to", source=source, key=key)
    to = raw["to"] if isinstance(raw["to"], list) else [raw["to"]]
    port = raw.get("port", 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError("port must be a TCP port number", source=source, key=key)
    return SmtpSettings(str(raw["host"]), str(raw["sender"]), tuple(map(str, to)), port,
                        bool(raw.get("starttls", False)), raw.get("username"), raw.get("password"))
