"""Spend alerts reach a local webhook receiver and a local SMTP server (aiosmtpd): 80% and
100% of a user's and of a key's monthly budget, and a day over 3x the trailing 7-day
average; each once per period, recorded, retried until delivered, never in a call's way."""
from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.console.alerts import AlertWatcher
from core.keys import KeyRing
from core.config import ModelConfig, build_settings
from core.errors import ConfigError
from core.store.sqlite import SqliteStore
from tests.core.store.records import make_record

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)


class Receiver:
    """A webhook endpoint that fails the first ``fail`` posts with a 500, then keeps the rest."""

    def __init__(self, fail: int = 0):
        self.posts, self.fail = [], fail
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                if receiver.fail:
                    receiver.fail -= 1
                    self.send_response(500)
                else:
                    receiver.posts.append(body)
                    self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/SECRET-TOKEN"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, inbox
    controller.stop()


def settings_with(alerts: dict, budgets: dict | None = None):
    models = (ModelConfig("claude", {"model": "anthropic/claude-sonnet-4-5-20250929", "api_key": "x"}, {}),)
    return build_settings(models, {}, {"alerts": alerts, "budgets": budgets or {}}, "test", {})


def watcher(store, alerts, budgets=None, **kwargs) -> AlertWatcher:
    return AlertWatcher(settings_with(alerts, budgets), lambda: store, now=lambda: NOW, env={}, **kwargs)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "parley.db")
    yield s
    s.close()


def test_budget_alerts_at_80_and_100_percent_reach_the_webhook_once(store, receiver):
    store.record_calls([make_record(user_id="alice", total_cost=8.5, created_at=NOW),
                        make_record(user_id="bob", total_cost=2.0, created_at=NOW)])
    alerts = watcher(store, {"webhook": receiver.url}, {"users": {"alice": 10, "bob": 10}})

    assert [a["kind"] for a in alerts.check()] == ["budget_80"]
    assert alerts.deliver_due() == 1
    store.record_calls([make_record(user_id="alice", total_cost=2.0, created_at=NOW)])
    assert [a["kind"] for a in alerts.check()] == ["budget_100"]
    alerts.deliver_due()
    assert alerts.check() == [] and alerts.deliver_due() == 0  # once per month

    texts = [p["text"] for p in receiver.posts]
    assert len(texts) == 2 and all("alice" in t for t in texts)
    assert "$10.50 of a $10.00 monthly budget" in texts[1]
    assert [a["delivered_at"] is not None for a in store.list_alerts()] == [True, True]


def test_a_keys_budget_alert_goes_by_email(store, smtp_server):
    controller, inbox = smtp_server
    _, key = KeyRing(lambda: store, now=lambda: NOW).create("carol", created_by="t", budget=1.0)
    store.record_calls([make_record(user_id="carol", key_id=key.id, total_cost=0.9, created_at=NOW)])
    alerts = watcher(store, {"smtp": {"host": "127.0.0.1", "port": controller.port,
                                      "sender": "parley@example.com", "to": ["ops@example.com"]}})

    assert [(a["kind"], a["subject"]) for a in alerts.check()] == [("budget_80", f"key:{key.id}")]
    assert alerts.deliver_due() == 1
    [(to, body)] = inbox.messages
    assert to == ["ops@example.com"] and key.prefix in body and "$0.90 of a $1.00" in body


def test_a_day_over_three_times_the_weekly_average_raises_a_spike(store, receiver):
    week = [make_record(total_cost=1.0, created_at=NOW - dt.timedelta(days=d)) for d in range(1, 8)]
    store.record_calls(week + [make_record(total_cost=2.5, created_at=NOW)])
    alerts = watcher(store, {"webhook": receiver.url})
    assert alerts.check() == []  # 2.5 is not over 3 x 1.0
    store.record_calls([make_record(total_cost=1.0, created_at=NOW)])
    [spike] = alerts.check()
    assert spike["kind"] == "spend_spike" and spike["period"] == "2026-11-20"
    assert "3.5x" in spike["message"]


def test_a_failed_delivery_is_recorded_and_retried_until_delivered(store):
    failing = Receiver(fail=3)
    store.record_calls([make_record(user_id="dan", total_cost=5.0, created_at=NOW)])
    alerts = watcher(store, {"webhook": failing.url}, {"default": 5}, retry_s=lambda attempts: 0)
    alerts.check()

    assert alerts.deliver_due() == 0
    [row] = [a for a in store.list_alerts() if a["kind"] == "budget_100"]
    assert row["delivered_at"] is None and row["last_error"] == "webhook: HTTPStatusError HTTP 500"
    assert "SECRET-TOKEN" not in json.dumps(store.list_alerts())  # the URL is never kept
    assert alerts.deliver_due() == 1  # the third post fails, the fourth gets through
    assert alerts.deliver_due() == 1
    assert alerts.deliver_due() == 0
    assert len(failing.posts) == 2 and all(a["delivered_at"] for a in store.list_alerts())
    failing.close()


def test_the_watcher_thread_checks_and_delivers_on_its_own(store, receiver):
    store.record_calls([make_record(user_id="eve", total_cost=9.0, created_at=NOW)])
    alerts = watcher(store, {"webhook": receiver.url, "interval_s": 0.05}, {"default": 10}).start()
    try:
        import time

        deadline = time.monotonic() + 10
        while not receiver.posts and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        alerts._stop.set()
        alerts._thread.join(5)
    assert "eve" in receiver.posts[0]["text"]


@pytest.mark.parametrize("alerts, words", [
    ({"webhook": "ftp://x"}, "http"), ({"spike_factor": 3}, "webhook or smtp"),
    ({"webhook": "http://x", "every": 3}, "unknown"), ({"smtp": {"host": "h"}}, "sender"),
    ({"webhook": "http://x", "spike_factor": 0}, "spike_factor")])
def test_a_wrong_alerts_setting_fails_when_the_settings_load(alerts, words):
    with pytest.raises(ConfigError, match=words):
        settings_with(alerts)
