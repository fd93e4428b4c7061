"""Secrets inside URLs and ``password=`` are masked wherever error text is kept or shown."""
from __future__ import annotations

import pytest

from core.errors import hide_urls, redact


@pytest.mark.parametrize("text, shown", [
    ("could not connect to postgresql://parley:hunter2@db.internal:5432/parley",
     "could not connect to postgresql://parley:***@db.internal:5432/parley"),
    ("GET https://AKIA-not-a-pattern@api.example.com/v1 failed",
     "GET https://***@api.example.com/v1 failed"),
    ("redis://:cachepass@cache:6379/0 refused", "redis://:***@cache:6379/0 refused"),
    ("dsn: host=db user=u password=s3cret! dbname=x", "dsn: host=db user=u password=*** dbname=x"),
    ('{"password": "pw123", "user": "u"}', '{"password": "***", "user": "u"}'),
    ("PASSWD: letmein", "PASSWD: ***"),
    ("client_secret=abc123def", "client_secret=***"),
    ("see https://docs.example.com/errors for help", "see https://docs.example.com/errors for help"),
    ("alice@example.com asked", "alice@example.com asked"),
])
def test_credentials_in_urls_and_passwords_are_masked(text, shown):
    assert redact(text) == shown


@pytest.mark.parametrize("text, shown", [
    ("Authorization: Bearer pk-Abc123def456", "Authorization: Bearer ***"),
    ("authorization=bearer eyJhbGciOi", "authorization=bearer ***"),
    ("x-api-key: pk-Abc123def456", "x-api-key: ***"),
    # a placeholder that says what to send is not a secret, and "Bearer" stays with it
    ("This route needs an API key; send `Authorization: Bearer pk-...`.",
     "This route needs an API key; send `Authorization: Bearer pk-...`."),
    ("send the key alone in `x-api-key: pk-...`", "send the key alone in `x-api-key: pk-...`"),
])
def test_keys_are_masked_and_placeholders_kept(text, shown):
    assert redact(text) == shown


def test_internal_addresses_can_be_hidden():
    assert hide_urls("Served by Ollama at http://10.0.0.5:11434. Down (http://h:1/x).") == (
        "Served by Ollama at [internal address]. Down ([internal address]).")


def test_a_store_error_never_shows_the_database_password(tmp_path):
    from core.errors import StoreUnavailableError
    from core.store import open_store

    store = open_store("postgresql://parley:hunter2-SECRET@127.0.0.1:9/parley")
    with pytest.raises(StoreUnavailableError) as caught:
        store.usage("user")
    assert "hunter2-SECRET" not in str(caught.value)
