"""The database down: calls with a key seen before go on (the key is served from the cache,
the records wait in the spool), a key never seen gets a 503 naming the store, and once the
database is back every answered call is in it exactly once."""
from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.core.api.conftest import _gateway
from tests.core.store.conftest import _migrated, create_database  # noqa: F401 - the fixture

HELLO = {"model": "gemini", "messages": [{"role": "user", "content": "still there?"}]}


@pytest.fixture
def pg_api(api_env, create_database, monkeypatch):  # noqa: F811
    from core.api import create_app
    from core.keys import KeyRing
    from core.service import AIService
    from core.store import open_store

    url = _migrated(create_database())
    monkeypatch.setenv("PARLEY_DATABASE_URL", url)
    service = AIService.from_env()
    keyring = KeyRing(lambda: open_store(url), ttl_s=0)  # every request asks the store
    with TestClient(create_app(service, keyring)) as client:  # one loop, closed with its clients
        yield _gateway("http://testserver", client, api_env, keyring, service.recorder.flush), url, service
    service.close()
    keyring.close()


def set_database(url: str, up: bool) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'alter database "{name}" allow_connections {str(up).lower()}')
        if not up:
            admin.execute("select pg_terminate_backend(pid) from pg_stat_activity "
                          "where datname = %s and pid <> pg_backend_pid()", (name,))


def stored_ids(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("select litellm_call_id from request_logs")]


def test_calls_go_on_while_the_database_is_down_and_are_recorded_once_it_is_back(pg_api, emulator):
    api, url, service = pg_api
    secret = api.make_key("mo")
    never_seen = api.make_key("nia")
    headers = {"Authorization": f"Bearer {secret}"}
    first = api.http.post("/v1/chat/completions", json=HELLO, headers=headers)
    assert first.status_code == 200, first.text
    answered = [first.headers["x-parley-call-id"]]

    set_database(url, up=False)
    try:
        for _ in range(5):
            reply = api.http.post("/v1/chat/completions", json=HELLO, headers=headers)
            assert reply.status_code == 200, reply.text
            answered.append(reply.headers["x-parley-call-id"])
        refused = api.http.post("/v1/chat/completions", json=HELLO,
                                headers={"Authorization": f"Bearer {never_seen}"})
        assert refused.status_code == 503
        assert "Postgres" in refused.json()["error"]["message"] or "store" in refused.json()["error"]["message"]
        assert urlsplit(url).password is None or urlsplit(url).password not in refused.text
    finally:
        set_database(url, up=True)

    service.recorder.flush(timeout=60)
    stored = stored_ids(url)
    assert set(answered) <= set(stored)
    assert len(stored) == len(set(stored))
