"""``python -m core keys create|list|revoke``: the secret is printed once and never stored;
a revoked key is refused by the API."""
from __future__ import annotations

import json
import sqlite3

import pytest

from core.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_create_list_revoke(api_env, capsys, in_process):
    code, out, _ = run(capsys, "keys", "create", "--user", "gina", "--service", "xray",
                       "--budget", "12.5", "--models", "claude,gemini", "--rate-limit", "30",
                       "--expires", "30d", "--json")
    assert code == 0
    made = json.loads(out)
    secret = made["secret"]
    assert secret.startswith("pk-") and made["prefix"] == secret[:11]
    assert (made["user"], made["service_type"], made["models"], made["monthly_budget"],
            made["rate_limit_per_minute"], made["status"]) == \
        ("gina", "xray", ["claude", "gemini"], 12.5, 30, "active")

    db = sqlite3.connect(in_process.db_path)
    stored = " ".join(str(v) for row in db.execute("SELECT * FROM api_keys") for v in row)
    assert secret not in stored and made["prefix"] in stored  # only the hash and the prefix

    code, out, _ = run(capsys, "keys", "list")
    assert code == 0 and made["prefix"] in out and "gina" in out and secret not in out

    ok = in_process.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"},
                              json={"model": "claude", "messages": [{"role": "user", "content": "hi"}]})
    assert ok.status_code == 200, ok.text

    code, out, _ = run(capsys, "keys", "revoke", made["prefix"])
    assert code == 0 and "revoked" in out
    in_process.http.app.state.caller.keyring._cache.clear()  # another worker's cache: 5 s at most
    refused = in_process.http.post("/v1/chat/completions",
                                   headers={"Authorization": f"Bearer {secret}"},
                                   json={"messages": [{"role": "user", "content": "hi"}]})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "key_revoked"


@pytest.mark.parametrize("argv, words", [
    (["keys", "create", "--user", "gina", "--models", "claude,llama"], "llama"),
    (["keys", "create", "--user", "gina", "--service", "nope"], "nope"),
    (["keys", "create", "--user", "gina", "--budget", "-3"], "budget"),
    (["keys", "create", "--user", "gina", "--expires", "2001-01-01"], "past"),
    (["keys", "revoke", "pk-nothere"], "no key"),
    (["keys", "revoke", "nonsense"], "prefix"),
])
def test_bad_input_is_one_line_and_changes_nothing(api_env, capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2 and words in err and err.count("\n") == 1 and "Traceback" not in err
    assert run(capsys, "keys", "list", "--json")[1].strip() == "[]"
