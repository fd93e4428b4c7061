"""The call browser and the recorder's batches on the Supabase store: ``calls``/``call`` through
``parley_calls``/``parley_call`` (``20251205000100_parley_call_browser.sql``) read exactly what
the Postgres store reads of the same rows, a plain user's JWT sees only their own calls (not
another's by its id either), and ``record_call_json`` records a spooled batch once."""
from __future__ import annotations

import datetime as dt

import pytest
from postgrest import APIError
from psycopg.types.json import Jsonb

from core.errors import BadRequestError
from core.recording.codec import encode_record
from core.recording.recorder import Recorder
from core.store.call_pages import CallQuery, page_query_json
from core.store.supabase import SupabaseStore
from tests.core.store.conftest import SERVICE_ROLE_KEY, SUPABASE_URL
from tests.core.store.records import BASE_TIME, make_record, random_records
from tests.core.store.test_supabase_ledgers import rpc_as

ROOT, ANN, BOB = "root@example.com", "ann@example.com", "bea@example.com"
QUERIES = [
    {"sort": "time", "limit": 13},
    {"sort": "cost", "limit": 11},
    {"models": ("claude", "gpt"), "status": "success", "min_cost": 0.002, "max_cost": 0.008,
     "limit": 7},
    {"users": ("carol", "dan-42"), "services": ("xray",), "sort": "cost", "limit": 5},
    {"status": "failure", "since": BASE_TIME - dt.timedelta(days=3),
     "until": BASE_TIME + dt.timedelta(days=1), "limit": 4},
    {"fallback": True}, {"fallback": False, "keys": ("key-1",)}, {"users": ()},
]


def pages(store, query: dict, **kwargs) -> list[dict]:
    """Every page of ``query``, following each page's cursor."""
    out, cursor = [], None
    while True:
        out.append(store.calls(CallQuery(**query, cursor=cursor), **kwargs))
        cursor = out[-1]["next"]
        if cursor is None:
            return out


@pytest.fixture
def recorded(supabase_store, pg_conn):
    """A varied call log, with a fallback pair and calls kept under each privacy setting,
    recorded over REST as the recorder ships it."""
    records = random_records(120, seed=5) + [make_record(user_id=ANN, key_id="key-1"),
                                             make_record(user_id=BOB, call_id="bobs")]
    records += [make_record(call_id="ans.1", user_id=ANN, status="failure", model="claude",
                            error_class="RateLimitError", error="Claude is rate limited."),
                make_record(call_id="ans", user_id=ANN, fallback_of="ans.1", model="gemini",
                            saved_cost=0.0125, messages=[{"role": "user", "content": "hi"}],
                            response="hello", metadata={"route": "user", "route_reason": "Yours."})]
    lines = [encode_record(r, "store") for r in records]
    lines += [encode_record(make_record(call_id="hashed", user_id=ANN, response="secret answer",
                                        messages=[{"role": "user", "content": "x"}]), "hash")]
    assert supabase_store.record_call_json(b"[" + b",".join(lines) + b"]") == len(lines)
    pg_conn.execute("insert into parley_admins (user_id) values (%s)", (ROOT,))
    return records


@pytest.mark.parametrize("query", QUERIES)
def test_every_page_reads_the_same_over_rest_as_over_sql(recorded, supabase_store, pg_store, query):
    assert pages(supabase_store, query) == pages(pg_store, query)
    for reader in (ANN, ROOT, "nobody"):
        assert pages(supabase_store, query, as_user=reader) == pages(pg_store, query, as_user=reader)


def test_a_call_and_its_attempts_read_the_same_over_rest_as_over_sql(recorded, supabase_store,
                                                                   pg_store):
    for call_id in ("ans", "ans.1", "hashed", "bobs", recorded[0].call_id, "absent"):
        for reader in (None, ANN, BOB, ROOT):
            assert supabase_store.call(call_id, as_user=reader) == \
                pg_store.call(call_id, as_user=reader), (call_id, reader)
    answer = supabase_store.call("ans", as_user=ANN)
    assert (answer["response"], answer["messages"], answer["route_reason"], answer["saved_cost"]) == \
        ("hello", [{"role": "user", "content": "hi"}], "Yours.", 0.0125)
    assert [a["error"] for a in answer["attempts"]] == ["Claude is rate limited."]
    hashed = supabase_store.call("hashed")
    assert "secret answer" not in str(hashed) and len(hashed["response"]) == 64  # a digest


def test_a_plain_users_jwt_never_sees_another_users_call(recorded, supabase_store):
    everyone = {"sort": "time", "limit": 500}
    own = rpc_as(supabase_store, ANN, "parley_calls", {"p_query": everyone})
    assert own and {row["user_id"] for row in own} == {ANN}
    for users in ([BOB], [BOB, "carol"], None):
        asked = rpc_as(supabase_store, ANN, "parley_calls", {"p_query": {**everyone, "users": users}})
        assert {row["user_id"] for row in asked} <= {ANN}
    assert rpc_as(supabase_store, ANN, "parley_call", {"p_call_id": "bobs"}) == []
    assert supabase_store.call("bobs", as_user=ANN) is None
    assert [r["user_id"] for r in rpc_as(supabase_store, BOB, "parley_call", {"p_call_id": "bobs"})] == [BOB]
    seen = {row["user_id"] for row in rpc_as(supabase_store, ROOT, "parley_calls", {"p_query": everyone})}
    assert {ANN, BOB, "carol"} <= seen  # an admin reads everyone's
    for fn, args in (("parley_calls", {"p_query": everyone}), ("parley_call", {"p_call_id": "bobs"})):
        with pytest.raises(APIError) as anonymous:
            rpc_as(supabase_store, None, fn, args)
        assert anonymous.value.code == "42501"


def test_an_evaluation_set_is_built_from_calls_over_rest(recorded, supabase_store):
    from core.evals.from_calls import call_ids_for_service, rows_from_calls

    assert rows_from_calls(supabase_store, ["ans"], as_user=ANN) == \
        [{"prompt": "hi", "system": "", "expected": "hello"}]
    with pytest.raises(BadRequestError, match="no call 'ans' you can see"):
        rows_from_calls(supabase_store, ["ans"], as_user=BOB)
    assert set(call_ids_for_service(supabase_store, "xray", as_user=BOB)) == {"bobs"}


def test_without_the_jwt_secret_the_store_keeps_a_user_to_their_own_calls(recorded, fake_postgrest):
    store = SupabaseStore(SUPABASE_URL, SERVICE_ROLE_KEY)
    try:
        calls = [c for page in pages(store, {}, as_user=ANN) for c in page["calls"]]
        assert calls and {c["user_id"] for c in calls} == {ANN}
        assert pages(store, {"users": (BOB,)}, as_user=ANN) == [{"calls": [], "next": None}]
        assert store.call("bobs", as_user=ANN) is None and store.call("ans", as_user=ANN)
        assert store.call("bobs")["user_id"] == BOB
    finally:
        store.close()


@pytest.mark.parametrize("query, message", [
    ({"sort": "price"}, "sort by 'time' or 'cost'"),
    ({"limit": 0}, "A page holds 1 to 500 calls"),
    ({"status": "maybe"}, "Status is 'success' or 'failure'"),
    ({"models": "claude"}, "models must be a list"),
])
def test_the_function_refuses_a_bad_query_in_one_sentence(supabase_store, query, message):
    with pytest.raises(APIError) as refused:
        rpc_as(supabase_store, ANN, "parley_calls", {"p_query": {"sort": "time", "limit": 5, **query}})
    assert refused.value.code == "22023" and message in refused.value.message


def test_a_spooled_batch_is_recorded_exactly_once(supabase_store, pg_conn, fake_postgrest):
    records = [make_record(call_id=f"batch-{n}", total_cost=0.001) for n in range(40)]
    payload = b"[" + b",".join(encode_record(r, "none") for r in records) + b"]"
    requests = len(fake_postgrest.requests)
    assert supabase_store.record_call_json(payload) == 40
    assert len(fake_postgrest.requests) == requests + 1  # one request for the whole batch
    assert supabase_store.record_call_json(payload) == 0  # shipped again after a lost answer
    assert pg_conn.execute("select count(*) from request_logs where litellm_call_id like "
                           "'batch-%'").fetchone()[0] == 40
    [usage] = supabase_store.usage("model")
    assert (usage["calls"], usage["cost"]) == (40, pytest.approx(0.04))


def test_a_malformed_batch_is_refused_as_data_so_the_recorder_can_fall_back(supabase_store):
    with pytest.raises(BadRequestError, match="not JSON"):
        supabase_store.record_call_json(b'[{"call_id": "x", "us')
    bad = encode_record(make_record(status="maybe"), "none")
    with pytest.raises(BadRequestError, match="refused"):
        supabase_store.record_call_json(b"[" + bad + b"]")


def test_the_recorder_ships_to_supabase_as_json_and_sets_aside_only_the_bad_line(
        supabase_store, fake_postgrest, tmp_path):
    recorder = Recorder(lambda: SupabaseStore(SUPABASE_URL, SERVICE_ROLE_KEY), tmp_path / "spool",
                        "none", flush_interval=0.05, max_backoff=0.2)
    try:
        for n in range(25):
            recorder.record(make_record(call_id=f"rec-{n}"))
        assert recorder.flush(timeout=30) == 25
        shipped = [r for r in fake_postgrest.requests if r.url.path.endswith("/parley_record_calls")]
        assert len(shipped) == 1  # the spool lines went as one batch, not decoded and bisected
        recorder.record(make_record(status="maybe"))
        recorder.record(make_record(call_id="rec-good"))
        assert recorder.flush(timeout=30) == 1
        assert recorder.stats()["rejected"] == 1 and recorder.backlog() == 0
    finally:
        recorder.close(timeout=1)
    assert {c["litellm_call_id"] for page in pages(supabase_store, {}) for c in page["calls"]} == \
        {f"rec-{n}" for n in range(25)} | {"rec-good"}


@pytest.mark.parametrize("query", [
    {}, {"sort": "cost"}, {"users": (ANN,)}, {"users": (ANN,), "sort": "cost"},
    {"status": "failure"}, {"fallback": True}, {"models": ("claude",)},
])
def test_a_deep_page_over_rest_walks_an_index(supabase_store, pg_conn, query):
    """The page parley_calls runs, as auto_explain saw it: an index scan from the cursor."""
    supabase_store.record_calls(random_records(50) + [make_record(user_id=ANN) for _ in range(9)])
    first = supabase_store.calls(CallQuery(limit=5, **query))
    plans = []
    pg_conn.add_notice_handler(lambda diag: plans.append(diag.message_primary or ""))
    with pg_conn.transaction():
        for setting in ("auto_explain.log_min_duration = 0", "auto_explain.log_nested_statements = on",
                        "client_min_messages = log", "enable_sort = off", "enable_seqscan = off"):
            pg_conn.execute(f"set local {setting}")
        pg_conn.execute("load 'auto_explain'")
        pg_conn.execute("select public.parley_calls(%s)",
                        (Jsonb(page_query_json(CallQuery(limit=5, cursor=first["next"], **query))),))
    [plan] = [p for p in plans if "from public.request_logs" in p]
    page = plan.split("->  Limit", 1)[1]
    assert "Sort" not in page and "Index" in page, plan
