"""Spend alerts: a user's or an API key's month at 80% and 100% of its budget, and a day whose
spend passes ``spike_factor`` (3) times the trailing 7-day average. Configured by
``parley.alerts`` (``core.config.alerts``: a webhook and/or SMTP).

An ``AlertWatcher`` thread checks the rollups every ``interval_s`` seconds, off every call's
path, so an alert never delays a call. Each alert is raised once per period (the month for a
budget, the day for a spike; the store's unique key makes that hold across workers), recorded
in the ``alerts`` table, and delivered to every configured channel once; a channel that failed
is retried (alone: the others are not sent again) with growing waits until it succeeds. An
alert's ``last_error`` names the channels still owed (``webhook: <failure>; smtp: <failure>``)
and each failure, never the webhook URL or a password.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import threading
import uuid
from email.message import EmailMessage
from typing import Any, Callable, Collection, Mapping

from core.config.alerts import AlertSettings, SmtpSettings

__all__ = ["AlertWatcher", "evaluate", "deliver", "start_watcher", "THRESHOLDS", "DeliveryError",
           "owed_channels"]

THRESHOLDS = (0.8, 1.0)
log = logging.getLogger("parley.alerts")


def _alert(kind: str, subject: str, period: str, message: str, **details: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "kind": kind, "subject": subject, "period": period,
            "message": message, "details": details}


def evaluate(store, budgets, alert_settings: AlertSettings, now: dt.datetime) -> list[dict[str, Any]]:
    """The alerts the current spend calls for (each once per period is the store's job)."""
    from core.store.rollups import RollupQuery

    today = now.date()
    month = today.strftime("%Y-%m")
    first = today.replace(day=1)
    alerts = []
    for row in store.usage_rollup(RollupQuery(by=("user",), since=first, until=today, demo=False)):
        budget = budgets.for_user(row["user"])
        alerts += _budget_alerts(f"user:{row['user']}", row["user"], row["cost"], budget, month)
    spent = store.key_spend(dt.datetime.combine(first, dt.time(), dt.timezone.utc))
    for key in store.list_keys():
        if key.get("monthly_budget") is not None and key.get("revoked_at") is None:
            alerts += _budget_alerts(f"key:{key['id']}", f"API key {key['prefix']} ({key['user_id']})",
                                     spent.get(key["id"], 0.0), key["monthly_budget"], month)
    return (alerts + _spike(store, alert_settings.spike_factor, today)
            + _drift(store, alert_settings.reconcile_drift_pct, today))


def _drift(store, pct: float, today: dt.date) -> list[dict[str, Any]]:
    """One alert per day x model of the last 31 days whose recorded cost is off the imported
    bill by more than ``pct`` percent (none when no bill was imported)."""
    from core.console.reconcile import drifted, reconcile

    if getattr(store, "bills", None) is None:
        return []
    return [_drift_alert(row) for row in drifted(reconcile(store, today - dt.timedelta(days=31)), pct)]


def _drift_alert(row: dict[str, Any]) -> dict[str, Any]:
    from core.pricing import money

    share = "nothing billed" if row["percent"] is None else f"{row['percent']:+.1f}% of the bill"
    return _alert("reconcile_drift", f"{row['provider']}:{row['model']}", row["day"],
                  f"{row['provider']} billed {money(row['billed'])} for {row['model']} on "
                  f"{row['day']}; Parley recorded {money(row['recorded'])} (off by {share}).",
                  billed=row["billed"], recorded=row["recorded"], percent=row["percent"])


def _budget_alerts(subject: str, who: str, spent: float, budget: float | None,
                   month: str) -> list[dict[str, Any]]:
    if not budget:
        return []
    out = []
    for share in THRESHOLDS:
        if spent >= share * budget:
            pct = round(100 * share)
            out.append(_alert(f"budget_{pct}", subject, month,
                              f"{who} has spent ${spent:,.2f} of a ${budget:,.2f} monthly budget "
                              f"({100 * spent / budget:.0f}%, past the {pct}% mark) in {month}.",
                              spent=spent, budget=budget))
    return out


def _spike(store, factor: float, today: dt.date) -> list[dict[str, Any]]:
    from core.store.rollups import RollupQuery

    since = today - dt.timedelta(days=7)
    rows = store.usage_rollup(RollupQuery(by=("day",), since=since, until=today, demo=False))
    by_day = {str(row["day"])[:10]: row["cost"] for row in rows}
    spent = by_day.pop(today.isoformat(), 0.0)
    average = sum(by_day.values()) / 7
    if average <= 0 or spent <= factor * average:
        return []
    return [_alert("spend_spike", "all", today.isoformat(),
                   f"Spend on {today} is ${spent:,.2f}, {spent / average:.1f}x the trailing 7-day "
                   f"average of ${average:,.2f} a day.", spent=spent, average=average)]


def deliver(alert: dict[str, Any], channels: AlertSettings, env: Mapping[str, str],
            only: Collection[str] | None = None) -> None:
    """Send ``alert`` to every configured channel (``webhook``, ``smtp``), or to those of them
    in ``only``; raises ``DeliveryError`` naming each one that failed (the others were sent)."""
    senders: dict[str, Callable[[], None]] = {}
    if channels.webhook:
        senders["webhook"] = lambda: _post_webhook(channels.webhook, alert)
    if channels.smtp:
        senders["smtp"] = lambda: _send_mail(channels.smtp, alert, env)
    failures = {}
    for name, send in senders.items():
        if only is not None and name not in only:
            continue
        try:
            send()
        except Exception as exc:  # noqa: BLE001 - named and retried, never raised into a call
            failures[name] = _describe(exc)
    if failures:
        raise DeliveryError(failures)


class DeliveryError(Exception):
    """Channels that failed: ``failed`` maps each to its failure (no URL, no password);
    ``str()`` is ``"webhook: <failure>; smtp: <failure>"``, as kept in ``last_error``."""

    def __init__(self, failed: Mapping[str, str]):
        self.failed = dict(failed)
        super().__init__("; ".join(f"{name}: {why}" for name, why in self.failed.items()))


def owed_channels(alert: dict[str, Any], channels: AlertSettings) -> set[str] | None:
    """The configured channels ``alert`` still owes: those its ``last_error`` names. None
    (every channel) for an alert never attempted, or whose error names none configured now."""
    error = alert.get("last_error")
    if not error:
        return None
    configured = {name for name, on in (("webhook", channels.webhook), ("smtp", channels.smtp)) if on}
    owed = {part.partition(":")[0].strip() for part in error.split(";")} & configured
    return owed or None


def _post_webhook(url: str, alert: dict[str, Any]) -> None:
    import httpx

    payload = {"text": f":warning: Parley: {alert['message']}",
               "parley_alert": {k: alert[k] for k in ("kind", "subject", "period", "message")}}
    httpx.post(url, json=payload, timeout=10).raise_for_status()


def _send_mail(smtp: SmtpSettings, alert: dict[str, Any], env: Mapping[str, str]) -> None:
    mail = EmailMessage()
    mail["Subject"] = f"[Parley] {alert['kind'].replace('_', ' ')}: {alert['subject']}"
    mail["From"], mail["To"] = smtp.sender, ", ".join(smtp.to)
    mail.set_content(alert["message"])
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as server:
        if smtp.starttls:
            server.starttls()
        if smtp.username:
            server.login(smtp.username, _secret(smtp.password, env) or "")
        server.send_message(mail)


def _secret(value: str | None, env: Mapping[str, str]) -> str | None:
    if value and value.startswith("os.environ/"):
        return env.get(value[len("os.environ/"):])
    return value


def _describe(exc: Exception) -> str:
    """The failure without its text (which may carry the webhook URL or the server's reply)."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    code = getattr(exc, "smtp_code", None)
    detail = f" HTTP {status}" if status else f" {code}" if code else ""
    return f"{type(exc).__name__}{detail}"


class AlertWatcher:
    """Checks spend and delivers alerts on its own thread (``start``), or step by step
    (``check``, ``deliver_due``) for tests and the CLI."""

    LEASE_S = 60.0

    def __init__(self, settings, store_opener: Callable[[], Any], *,
                 env: Mapping[str, str] | None = None,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
                 retry_s: Callable[[int], float] = lambda attempts: min(3600.0, 30.0 * 2 ** (attempts - 1))):
        from core.guards import Budgets

        self.channels = AlertSettings.from_config(settings.alerts, settings.source)
        self.budgets = Budgets.from_settings(settings)
        self._opener, self._env, self._now, self._retry_s = store_opener, env or os.environ, now, retry_s
        self._store = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def store(self):
        if self._store is None:
            self._store = self._opener()
        return self._store

    def check(self) -> list[dict[str, Any]]:
        """Raise the alerts current spend calls for; returns the ones new this time."""
        return [a for a in evaluate(self.store, self.budgets, self.channels, self._now())
                if self.store.raise_alert(a)]

    def deliver_due(self) -> int:
        """Try every alert due for delivery once, on the channels it still owes (a channel
        that took it before is not sent it again); returns how many were delivered."""
        delivered = 0
        for alert in self.store.lease_alerts(20, self.LEASE_S):
            try:
                deliver(alert, self.channels, self._env, owed_channels(alert, self.channels))
            except DeliveryError as exc:
                log.warning("alert %s not delivered (attempt %d): %s", alert["kind"],
                            alert["attempts"], exc)
                self.store.alert_attempted(alert["id"], str(exc), self._retry_s(alert["attempts"]))
                continue
            self.store.alert_attempted(alert["id"], None, 0)
            delivered += 1
        return delivered

    def start(self) -> "AlertWatcher":
        self._thread = threading.Thread(target=self._run, name="parley-alerts", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.channels.interval_s):
            try:
                self.check()
                self.deliver_due()
            except Exception as exc:  # noqa: BLE001 - the next round tries again; logged
                log.warning("checking alerts failed: %s", type(exc).__name__)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._store is not None:
            self._store.close()


def start_watcher(settings, env: Mapping[str, str] | None = None, *,
                  store_opener: Callable[[], Any] | None = None) -> AlertWatcher | None:
    """A running watcher when ``parley.alerts`` is configured, else None; it reads and writes
    alerts in the store ``store_opener`` opens (default: the configured one)."""
    if not settings.alerts:
        return None
    from core.store import open_store

    opener = store_opener or (lambda: open_store(settings.database_url, data_dir=settings.data_dir,
                                                 env=env))
    return AlertWatcher(settings, opener, env=env).start()
