"""An alert reaches each channel once: a retry after a failed email does not post the webhook
again (and a retry after a failed webhook does not send the email again); only the channel
that failed is tried again, until it succeeds."""
from __future__ import annotations

import socket

import pytest

from core.console.alerts import AlertWatcher
from core.store.sqlite import SqliteStore
from tests.core.console.test_alerts import NOW, Receiver, settings_with
from tests.core.store.records import make_record


class Inbox:
    """An SMTP server's mailbox that answers 451 (try later) to the first ``fail`` messages."""

    def __init__(self, fail: int = 0):
        self.messages, self.fail = [], fail

    async def handle_DATA(self, server, session, envelope):
        if self.fail:
            self.fail -= 1
            return "451 Requested action aborted: try again later"
        self.messages.append(envelope.content.decode())
        return "250 OK"


@pytest.fixture
def mail_server():
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "parley.db")
    yield s
    s.close()


def both_channels(store, webhook_url: str, port: int) -> AlertWatcher:
    store.record_calls([make_record(user_id="dan", total_cost=5.0, created_at=NOW)])
    channels = {"webhook": webhook_url,
                "smtp": {"host": "127.0.0.1", "port": port, "sender": "parley@example.com",
                         "to": ["ops@example.com"]}}
    alerts = AlertWatcher(settings_with(channels, {"users": {"dan": 100}}), lambda: store,
                          now=lambda: NOW, env={}, retry_s=lambda attempts: 0)
    store.record_calls([make_record(user_id="dan", total_cost=80.0, created_at=NOW)])
    assert [a["kind"] for a in alerts.check()] == ["budget_80"]
    return alerts


def test_smtp_retries_do_not_post_the_webhook_again(store, mail_server):
    port, inbox = mail_server
    inbox.fail = 3
    webhook = Receiver()
    alerts = both_channels(store, webhook.url, port)

    delivered = [alerts.deliver_due() for _ in range(5)]

    assert delivered == [0, 0, 0, 1, 0]
    assert len(webhook.posts) == 1  # was 4: one post per attempt
    assert len(inbox.messages) == 1
    [row] = store.list_alerts()
    assert row["delivered_at"] is not None and row["attempts"] == 4
    webhook.close()


def test_webhook_retries_do_not_send_the_email_again(store, mail_server):
    port, inbox = mail_server
    webhook = Receiver(fail=2)
    alerts = both_channels(store, webhook.url, port)

    assert alerts.deliver_due() == 0
    [row] = store.list_alerts()
    assert row["last_error"] == "webhook: HTTPStatusError HTTP 500"  # only what is still owed
    assert [alerts.deliver_due() for _ in range(3)] == [0, 1, 0]

    assert len(inbox.messages) == 1 and len(webhook.posts) == 1
    webhook.close()


def test_both_failing_then_one_recovering_retries_only_the_other(store, mail_server):
    port, inbox = mail_server
    inbox.fail = 2
    webhook = Receiver(fail=1)
    alerts = both_channels(store, webhook.url, port)

    assert alerts.deliver_due() == 0  # both failed
    assert store.list_alerts()[0]["last_error"].startswith("webhook: ")
    assert alerts.deliver_due() == 0  # the webhook got through, the email failed again
    assert store.list_alerts()[0]["last_error"].startswith("smtp: ")
    assert alerts.deliver_due() == 1

    assert len(webhook.posts) == 1 and len(inbox.messages) == 1
    webhook.close()
