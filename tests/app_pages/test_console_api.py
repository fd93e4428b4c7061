"""The cost console's API sections (AppTest): what the response cache saved per user and
model, and the latest spend alerts with their delivery state."""
from __future__ import annotations

import datetime as dt

from core.store import open_store
from tests.app_pages.test_console import app  # noqa: F401 - the fixture
from tests.core.store.records import make_record

NOW = dt.datetime.now(dt.timezone.utc)


def test_the_console_shows_what_the_cache_saved(app, tmp_path):  # noqa: F811
    calls = [make_record(user_id="alice@example.com", model="claude", total_cost=0.4, created_at=NOW),
             make_record(user_id="alice@example.com", model="claude", total_cost=0.0, cache_hit=True,
                         saved_cost=0.4, created_at=NOW)]
    at = app("costs", calls=calls).run()
    assert not at.exception
    assert "1 calls answered from the response cache saved $0.40." in [c.value for c in at.caption]
    saved = [d.value for d in at.dataframe if "saved" in d.value.columns][0]
    assert saved.to_dict("records") == [{"user": "alice@example.com", "model": "claude", "hits": 1,
                                         "saved": 0.4}]


def test_the_console_lists_alerts_and_whether_they_were_delivered(app, tmp_path):  # noqa: F811
    at = app("costs", calls=[make_record(created_at=NOW)])
    store = open_store("", data_dir=tmp_path / ".parley")
    store.raise_alert({"id": "a1", "kind": "budget_80", "subject": "user:alice", "period": "2026-11",
                       "message": "alice has spent $8.00 of a $10.00 monthly budget."})
    [leased] = store.lease_alerts(1, 60)
    store.alert_attempted(leased["id"], "webhook: ConnectError", 60)
    store.close()
    at.run()
    assert not at.exception
    [alerts] = [d.value for d in at.dataframe if "alert" in d.value.columns]
    assert alerts["alert"].tolist() == ["alice has spent $8.00 of a $10.00 monthly budget."]
    assert alerts["delivered"].tolist() == ["not yet (webhook: ConnectError)"]


def test_the_console_shows_spend_per_client_and_user(app):  # noqa: F811
    calls = [make_record(user_id="alice@example.com", total_cost=0.5, created_at=NOW,
                         metadata={"client": "claude-code"}),
             make_record(user_id="bob@example.com", total_cost=0.25, created_at=NOW,
                         metadata={"client": "claude-code"}),
             make_record(user_id="bob@example.com", total_cost=0.125, created_at=NOW,
                         metadata={"client": "openai-python"})]
    at = app("costs", calls=calls).run()
    assert not at.exception
    assert "Clients" in [h.value for h in at.subheader]
    [clients] = [d.value for d in at.dataframe if "Client" in d.value.columns]
    assert clients[["Client", "User", "Spend"]].to_dict("records") == [
        {"Client": "claude-code", "User": "alice@example.com", "Spend": 0.5},
        {"Client": "claude-code", "User": "bob@example.com", "Spend": 0.25},
        {"Client": "openai-python", "User": "bob@example.com", "Spend": 0.125}]


def test_a_call_made_on_a_page_reads_as_the_app_in_the_clients_section(app):  # noqa: F811
    """The chat page's answer is recorded as ``parley-app`` (not unknown), and the console's
    Clients section shows it so."""
    from ui.deps import parts

    chat = app("chat").run()
    chat.chat_input[0].set_value("What is the capital of France?").run()
    assert not chat.exception, chat.exception
    parts().close()  # ships what it recorded
    at = app("costs").run()
    assert not at.exception
    [clients] = [d.value for d in at.dataframe if "Client" in d.value.columns]
    assert clients[["Client", "User"]].to_dict("records") == [
        {"Client": "parley-app", "User": "alice@example.com"}]
