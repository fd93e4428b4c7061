"""The ledgers on the Supabase store (issue #25): the price book, provider bills, the audit log
and the checks behind ``db verify`` go through the SQL functions of
``20251204000100_parley_ledger_functions.sql``, answered by the fake PostgREST with the real
functions on the test Postgres, and read exactly as the Postgres store reads the same tables.
Signed-in callers are forged JWT claims under the ``authenticated`` role, as PostgREST sets them."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from types import SimpleNamespace

import psycopg
import pytest
from postgrest import APIError

from core.cli import main
from core.errors import BadRequestError
from core.price_book import PriceBook
from core.recording.codec import encode_record
from core.recording.recorder import spool_dir_for
from core.recording.verify import verify_recording
from core.store.supabase import SupabaseStore
from tests.core.store.conftest import ANON_KEY, JWT_SECRET, SERVICE_ROLE_KEY, SUPABASE_URL
from tests.core.store.postgrest_fake import FakePostgrest
from tests.core.store.records import make_record
from tests.core.store.test_audit_log import OneModel
from tests.core.store.test_rls import acting

DAY = dt.datetime(2025, 11, 3, 12, tzinfo=dt.timezone.utc)
ROOT, ANN = "root@example.com", "ann@example.com"


def unique(name: str) -> str:
    """The session database keeps price-book and audit rows between tests."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def rpc_as(store: SupabaseStore, user_id: str | None, fn: str, params: dict):
    """One RPC over HTTP as ``user_id``'s JWT (None: the anon key)."""
    api = store._client.postgrest.schema("public")
    api = api.auth(store._user_token(user_id) if user_id else ANON_KEY)
    return api.rpc(fn, params).execute().data


def price(model: str, per_token_in: float, per_token_out: float, **fields) -> dict:
    return {"model": model, "provider_model": "openai/gpt-x", "valid_from": DAY.isoformat(),
            "input": per_token_in, "output": per_token_out, "source": "litellm",
            "created_by": "system", **fields}


def test_the_ledgers_read_the_same_over_rest_as_over_sql(supabase_store, pg_store):
    model = unique("gpt")
    ids = supabase_store.add_prices([price(model, 1e-6, 2e-6, tiers={"above_200k": 2.0}),
                                     price(model, 3e-6, 4e-6, source="manual")])
    assert len(ids) == 2 and ids[0] < ids[1]
    records = [make_record(created_at=DAY, total_cost=0.5, provider_model="openai/gpt-x",
                           provider_cost=0.55, price_id=ids[0]) for _ in range(2)]
    assert supabase_store.record_calls(records) == 2
    provider = unique("openai")
    bill = [{"provider": provider, "day": "2025-11-03", "model": "gpt-x", "token_class": "input",
             "tokens": 10, "billed": 0.9}]
    assert supabase_store.import_bills(bill, "first.csv") == 1
    assert supabase_store.import_bills([{**bill[0], "billed": 1.1}], "second.csv") == 1
    audit_id = supabase_store.append_audit(ROOT, "prices.set", model, None, {"input": 3.0})

    assert supabase_store.price_entries(model) == pg_store.price_entries(model)
    [first, second] = supabase_store.price_entries(model)
    assert (first["id"], first["input"], first["tiers"], first["valid_from"]) == \
        (ids[0], pytest.approx(1e-6), {"above_200k": 2.0}, DAY.isoformat())
    assert second["source"] == "manual"
    assert supabase_store.bills("2025-11-01") == pg_store.bills("2025-11-01")
    assert [b["billed"] for b in supabase_store.bills("2025-11-01") if b["provider"] == provider] == [1.1]
    assert supabase_store.recorded_by_day("2025-11-01") == pg_store.recorded_by_day("2025-11-01")
    [day] = supabase_store.recorded_by_day("2025-11-01")
    assert (day["day"], day["calls"], day["cost"], day["provider_cost"]) == \
        ("2025-11-03", 2, pytest.approx(1.0), pytest.approx(1.1))
    assert supabase_store.audit_entries(actor=ROOT) == pg_store.audit_entries(actor=ROOT)
    [entry] = [e for e in supabase_store.audit_entries(action="prices.") if e["id"] == audit_id]
    assert (entry["actor"], entry["target"], entry["before"], entry["after"]) == \
        (ROOT, model, None, {"input": 3.0})
    call_ids = [r.call_id for r in records] + ["absent"]
    assert supabase_store.call_id_counts(call_ids) == pg_store.call_id_counts(call_ids) == \
        {records[0].call_id: 1, records[1].call_id: 1, "absent": 0}
    assert supabase_store.rollup_mismatches() == []


def test_a_manual_price_prices_later_calls_and_old_calls_keep_their_cost(supabase_store,
                                                                         pg_conn):
    model = unique("gpt")
    [seeded] = supabase_store.add_prices([price(model, 1e-6, 2e-6, valid_from="2025-01-01T00:00:00+00:00")])
    book = PriceBook(lambda: supabase_store, OneModel())  # nothing to seed from configuration

    def answered():
        result = SimpleNamespace(ok=True, served_by=model, model=model, cache_hit=False,
                                 input_tokens=1000, output_tokens=500, cache_read_tokens=0,
                                 cache_write_tokens=0, reasoning_tokens=0, price_id=None,
                                 cost=0.002, price_known=True)
        book.apply(result)
        record = make_record(model="gpt", total_cost=result.cost, price_id=result.price_id,
                             input_tokens=1000, output_tokens=500)
        supabase_store.record_calls([record])
        return record

    old = answered()
    assert old.price_id == seeded and old.total_cost == pytest.approx(0.002)  # LiteLLM's cost
    new_entry = book.set_price(model, {"input": 100.0, "output": 200.0}, actor=ROOT)
    new = answered()
    assert new.price_id == new_entry["id"] != seeded
    assert new.total_cost == pytest.approx(1000 * 100e-6 + 500 * 200e-6)

    def row(call_id):
        return pg_conn.execute("select price_id, total_cost::float8 from request_logs "
                               "where litellm_call_id = %s", (call_id,)).fetchone()

    assert row(old.call_id) == (seeded, pytest.approx(0.002))
    assert row(new.call_id) == (new_entry["id"], pytest.approx(0.2))
    with pytest.raises(psycopg.errors.RaiseException, match="never changes"):
        pg_conn.execute("update request_logs set total_cost = 0 where litellm_call_id = %s",
                        (old.call_id,))
    [audited] = supabase_store.audit_entries(action="prices.set", actor=ROOT, limit=100_000)[:1]
    assert audited["target"] == model and audited["before"]["id"] == seeded
    assert audited["after"]["input"] == 100.0


def test_an_admin_token_may_add_prices_and_a_plain_user_token_may_not(supabase_store, pg_conn):
    supabase_store.sync_admins([ROOT])
    model = unique("claude")
    [new_id] = rpc_as(supabase_store, ROOT, "parley_add_prices",
                      {"p_entries": [price(model, 1e-6, 2e-6, source="manual", created_by="forged")]})
    [entry] = supabase_store.price_entries(model)
    assert (entry["id"], entry["created_by"]) == (new_id, ROOT)  # the caller, not the claim
    with pytest.raises(APIError) as refused:
        rpc_as(supabase_store, ANN, "parley_add_prices", {"p_entries": [price(model, 0, 0)]})
    assert refused.value.code == "42501" and "Only an admin" in refused.value.message
    assert [e["id"] for e in rpc_as(supabase_store, ANN, "parley_price_entries",
                                    {"p_model": model})] == [new_id]  # prices are for everyone
    with pytest.raises(APIError) as anonymous:
        rpc_as(supabase_store, None, "parley_price_entries", {"p_model": model})
    assert anonymous.value.code == "42501"
    assert len(supabase_store.price_entries(model)) == 1


READS = {
    "parley_audit_entries": {"p_since": None, "p_action": None, "p_actor": None, "p_limit": 10},
    "parley_bills": {"p_since": None},
    "parley_recorded_by_day": {"p_since": None},
    "parley_call_id_counts": {"p_call_ids": ["c1"]},
    "parley_rollup_mismatches": {},
    "parley_import_bills": {"p_lines": [], "p_source_file": "x.csv"},
}


@pytest.mark.parametrize("fn", sorted(READS))
def test_a_plain_user_is_refused_what_only_admins_may_do(pg_conn, fn):
    pg_conn.execute("insert into parley_admins (user_id) values (%s)", (ROOT,))
    args = READS[fn]
    call = f"select public.{fn}({', '.join(f'{k} => %s' for k in args)})"
    values = [json.dumps(v) if isinstance(v, list) else v for v in args.values()]
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="Only an admin"):
        with acting(pg_conn, "authenticated", sub=ANN) as cur:
            cur.execute(call, values)
    for claims in ({"sub": ROOT}, {"sub": "dana", "app_metadata": {"role": "admin"}}):
        with acting(pg_conn, "authenticated", **claims) as cur:
            cur.execute(call, values)  # an admin, by the table or by the JWT's app_metadata
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with acting(pg_conn, "anon") as cur:
            cur.execute(call, values)


def test_a_plain_user_reads_no_audit_entry_and_nobody_signed_in_appends_one(supabase_store,
                                                                            pg_conn):
    supabase_store.sync_admins([ROOT])
    supabase_store.append_audit(ROOT, "budgets.set", "parley.budgets", None, {"default": 1})
    everything = {"p_since": None, "p_action": None, "p_actor": None, "p_limit": 10}
    with pytest.raises(APIError) as refused:
        rpc_as(supabase_store, ANN, "parley_audit_entries", everything)
    assert refused.value.code == "42501"
    assert rpc_as(supabase_store, ROOT, "parley_audit_entries", everything)[0]["action"] == "budgets.set"
    for user in (ANN, ROOT):
        with pytest.raises(APIError) as forged:
            rpc_as(supabase_store, user, "parley_append_audit",
                   {"p_actor": "someone", "p_action": "keys.create", "p_target": "",
                    "p_before": None, "p_after": None})
        assert forged.value.code == "42501"
    with pytest.raises(BadRequestError, match="who acted"):
        supabase_store.append_audit("", "keys.create", "", None, None)


def test_audit_rows_refuse_update_and_delete(supabase_store, pg_conn):
    supabase_store.sync_admins([ROOT])
    target = unique("parley.budgets")
    entry_id = supabase_store.append_audit(ROOT, "budgets.set", target, None, {"default": 5})
    for statement in ("update audit_log set actor = 'someone else' where id = %s",
                      "delete from audit_log where id = %s"):
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            pg_conn.execute(statement, (entry_id,))  # even the tables' owner
        for role, claims in (("service_role", {}), ("authenticated", {"sub": ROOT})):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with acting(pg_conn, role, **claims) as cur:
                    cur.execute(statement, (entry_id,))
    [kept] = [e for e in supabase_store.audit_entries(action="budgets.set", limit=100_000)
              if e["id"] == entry_id]
    assert (kept["actor"], kept["target"], kept["after"]) == (ROOT, target, {"default": 5})


def journal(spool, records) -> None:
    """The recorder's journal of shipped lines, as ``db verify`` reads it."""
    (spool / "journal").mkdir(parents=True)
    (spool / "journal" / "0001.jsonl").write_bytes(b"".join(encode_record(r, "none") for r in records))


@pytest.fixture
def verified(supabase_store, pg_conn, monkeypatch, isolated_environment):
    """Three calls recorded over REST and journaled where ``db verify`` looks for them."""
    monkeypatch.setenv("PARLEY_DATABASE_URL", "supabase")
    monkeypatch.setenv("SUPABASE_URL", SUPABASE_URL)
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", SERVICE_ROLE_KEY)
    records = [make_record(created_at=DAY) for _ in range(3)]
    supabase_store.record_calls(records)
    spool = spool_dir_for(isolated_environment / ".parley", "supabase")
    journal(spool, records)
    return SimpleNamespace(store=supabase_store, conn=pg_conn, spool=spool,
                           ids=[r.call_id for r in records])


def test_db_verify_on_supabase_passes_then_catches_a_deleted_row(verified, capsys):
    assert main(["db", "verify", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and out["recorded"] == 3
    verified.conn.execute("delete from request_logs where litellm_call_id = %s", (verified.ids[1],))
    assert main(["db", "verify", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["missing"] == [verified.ids[1]] and out["recorded"] == 2
    [mismatch] = out["rollup_mismatches"]
    assert (mismatch["row_calls"], mismatch["rollup_calls"]) == (2, 3)
    assert SERVICE_ROLE_KEY not in json.dumps(out)


def test_db_verify_on_supabase_catches_a_call_folded_in_twice(verified):
    verified.conn.execute("update usage_daily set calls = calls * 2, cost = cost * 2")
    report = verify_recording(verified.spool, verified.store)
    assert not report.ok and report.missing == [] and report.doubled == []
    [mismatch] = report.rollup_mismatches
    assert (mismatch["row_calls"], mismatch["rollup_calls"]) == (3, 6)
    assert mismatch["rollup_cost"] == pytest.approx(2 * mismatch["row_cost"])


def test_db_verify_on_supabase_catches_a_doubled_row(fresh_pg_url, tmp_path):
    """A copied row needs the unique call id gone: a database of the test's own."""
    with FakePostgrest(SUPABASE_URL, fresh_pg_url, JWT_SECRET), \
            psycopg.connect(fresh_pg_url, autocommit=True) as conn:
        store = SupabaseStore(SUPABASE_URL, SERVICE_ROLE_KEY, jwt_secret=JWT_SECRET)
        records = [make_record(created_at=DAY) for _ in range(2)]
        store.record_calls(records)
        journal(tmp_path / "spool", records)
        assert verify_recording(tmp_path / "spool", store).ok
        conn.execute("alter table request_logs drop constraint request_logs_litellm_call_id_key")
        columns = ", ".join(name for (name,) in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'public' "
            "and table_name = 'request_logs' and column_name <> 'id' and is_generated = 'NEVER'").fetchall())
        conn.execute(f"insert into request_logs ({columns}) select {columns} from request_logs "
                     "where litellm_call_id = %s", (records[0].call_id,))
        report = verify_recording(tmp_path / "spool", store)
        store.close()
    assert report.doubled == [records[0].call_id] and report.missing == [] and not report.ok
    assert report.recorded == 1 and report.rollup_mismatches[0]["row_calls"] == 3


def test_admin_actions_on_supabase_land_in_its_audit_log(supabase_store):
    from core.identity import sync_admins
    from core.keys import KeyRing, sync_key_policy

    store = supabase_store
    settings = SimpleNamespace(admins=(ROOT,), key_policy={"max_keys": 3})
    before = {e["id"] for e in store.audit_entries(limit=100_000)}
    sync_admins(settings, store)
    sync_key_policy(settings, store)
    _, key = KeyRing(lambda: store).create(ANN, created_by=ROOT, budget=5.0)
    KeyRing(lambda: store).revoke(key.prefix, as_user=None)
    new = [e for e in store.audit_entries(limit=100_000) if e["id"] not in before]
    assert [e["action"] for e in new if e["target"] == key.prefix] == ["keys.revoke", "keys.create"]
    created = next(e for e in new if e["action"] == "keys.create")
    assert created["actor"] == ROOT and created["after"]["monthly_budget"] == 5.0
    assert "sha256" not in created["after"]
    assert store.audit_entries(action="keys.", limit=1)[0]["action"] == "keys.revoke"
