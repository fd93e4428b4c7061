"""The calls explorer's keyset pages on SQLite, Postgres and Supabase (over the fake PostgREST): every call once in order, the
filters, users seeing only their own, and pages that walk an index instead of sorting."""
from __future__ import annotations

import datetime as dt

import pytest

from core.errors import BadRequestError
from core.store.call_pages import CallQuery, page_sql
from core.store.sqlite import SqliteStore
from tests.database import sql
from tests.core.store.records import BASE_TIME, make_record, random_records


@pytest.fixture(params=["sqlite", "postgres", "supabase"])
def explorer(request, tmp_path):
    """(store, make_admin) on each backend that serves the explorer."""
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "parley.db")

        def make_admin(user_id):
            sql(store, "insert into parley_admins values (?, 'now')", (user_id,))
        yield store, make_admin
        store.close()
        return
    conn = request.getfixturevalue("pg_conn")
    store = request.getfixturevalue({"postgres": "pg_store", "supabase": "supabase_store"}[request.param])
    yield store, lambda user_id: conn.execute(
        "insert into parley_admins (user_id) values (%s)", (user_id,))


def _walk(store, query, **kwargs):
    seen, cursor = [], None
    while True:
        page = store.calls(CallQuery(**{**query, "cursor": cursor}), **kwargs)
        seen.extend(page["calls"])
        cursor = page["next"]
        if cursor is None:
            return seen


def _key(call, sort):
    return (dt.datetime.fromisoformat(call["created_at"]) if sort == "time"
            else (-1.0 if call["total_cost"] is None else call["total_cost"]), call["id"])


@pytest.mark.parametrize("sort", ["time", "cost"])
def test_walking_every_page_returns_every_call_once_in_order(explorer, sort):
    store, _ = explorer
    records = random_records(230, seed=3)
    records += [make_record(created_at=BASE_TIME, total_cost=0.002) for _ in range(7)]  # ties
    store.record_calls(records)
    seen = _walk(store, {"sort": sort, "limit": 17})
    assert sorted(c["litellm_call_id"] for c in seen) == sorted(r.call_id for r in records)
    keys = [_key(c, sort) for c in seen]
    assert keys == sorted(keys, reverse=True)
    if sort == "cost":
        unknown = [c for c in seen if c["total_cost"] is None]
        assert unknown and seen[-len(unknown):] == unknown  # unknown prices come last


def test_filters_combine_and_match_a_filter_in_python(explorer):
    store, _ = explorer
    records = random_records(300, seed=11)
    store.record_calls(records)
    query = {"models": ("claude", "gpt"), "services": ("xray",), "status": "success",
             "min_cost": 0.002, "max_cost": 0.008, "since": BASE_TIME - dt.timedelta(days=2),
             "until": BASE_TIME + dt.timedelta(days=2), "limit": 9}
    got = {c["litellm_call_id"] for c in _walk(store, query)}
    want = {r.call_id for r in records if r.model in ("claude", "gpt") and r.service_type == "xray"
            and r.status == "success" and r.total_cost is not None and 0.002 <= r.total_cost <= 0.008
            and BASE_TIME - dt.timedelta(days=2) <= r.created_at < BASE_TIME + dt.timedelta(days=2)}
    assert got == want and want


def test_calls_made_through_an_api_key_are_found_by_it(explorer):
    store, _ = explorer
    store.record_calls([make_record(key_id="key-1"), make_record(key_id="key-2"),
                        make_record(call_id="no-key")])
    found = _walk(store, {"keys": ("key-1",)})
    assert [c["key_id"] for c in found] == ["key-1"]


def test_fallback_attempts_and_details_of_a_call(explorer):
    store, _ = explorer
    first = make_record(call_id="c1.1", status="failure", error_class="RateLimitError",
                        error="Claude is rate limited.", total_cost=0.0, model="claude")
    answer = make_record(call_id="c1", fallback_of="c1.1", model="gemini",
                         messages=[{"role": "user", "content": "hi"}], response="hello",
                         metadata={"route_source": "user", "route_reason": "Your default."})
    store.record_calls([first, answer, make_record(call_id="other")])
    assert [c["litellm_call_id"] for c in _walk(store, {"fallback": True})] == ["c1"]
    detail = store.call("c1")
    assert detail["response"] == "hello" and detail["messages"][0]["content"] == "hi"
    assert detail["route_reason"] == "Your default." and detail["model"] == "gemini"
    assert [a["litellm_call_id"] for a in detail["attempts"]] == ["c1.1"]
    assert detail["attempts"][0]["error"] == "Claude is rate limited."
    assert store.call("nope") is None


def test_each_call_shows_its_kind_and_token_classes(explorer):
    store, _ = explorer
    store.record_calls([
        make_record(call_id="chat", input_tokens=10_000, output_tokens=500, reasoning_tokens=120,
                    cache_read_tokens=6_000, cache_write_tokens=3_000, tool_calls=2, saved_cost=0.01395),
        make_record(call_id="image", kind="image", total_cost=0.08)])
    calls = {c["litellm_call_id"]: c for c in _walk(store, {})}
    chat, image = calls["chat"], calls["image"]
    assert (chat["kind"], chat["reasoning_tokens"], chat["cache_read_tokens"], chat["cache_write_tokens"],
            chat["tool_calls"], chat["saved_cost"]) == ("chat", 120, 6_000, 3_000, 2, 0.01395)
    assert (image["kind"], image["saved_cost"], image["total_cost"]) == ("image", None, 0.08)


def test_a_user_sees_only_their_own_calls_and_an_admin_everyones(explorer):
    store, make_admin = explorer
    store.record_calls([make_record(user_id="ana"), make_record(user_id="bob", call_id="bobs")])
    make_admin("root")
    assert {c["user_id"] for c in _walk(store, {}, as_user="ana")} == {"ana"}
    assert _walk(store, {"users": ("bob",)}, as_user="ana") == []
    assert {c["user_id"] for c in _walk(store, {}, as_user="root")} == {"ana", "bob"}
    assert store.call("bobs", as_user="ana") is None


@pytest.mark.parametrize("query, message", [
    ({"sort": "price"}, "Calls sort by 'time' or 'cost'"),
    ({"limit": 0}, "A page holds 1 to 500 calls"),
    ({"cursor": "garbage"}, "That page position is not valid"),
    ({"min_cost": -1}, "min_cost must be a number"),
])
def test_bad_queries_get_one_sentence(explorer, query, message):
    store, _ = explorer
    with pytest.raises(BadRequestError, match=message):
        store.calls(CallQuery(**query))


@pytest.mark.parametrize("query", [
    {}, {"sort": "cost"}, {"models": ("claude",)}, {"services": ("xray",)}, {"status": "failure"},
    {"fallback": True}, {"users": ("ana",)}, {"users": ("ana",), "sort": "cost"},
    {"models": ("claude", "gpt")}, {"providers": ("openai",)}, {"keys": ("k1",)},
])
def test_sqlite_pages_walk_an_index_instead_of_sorting(tmp_path, query):
    store = SqliteStore(tmp_path / "plan.db")
    store.record_calls(random_records(50))
    first = store.calls(CallQuery(limit=5, **{**query}))
    deep = CallQuery(limit=5, cursor=first["next"], **query)
    sql, params = page_sql(deep if first["next"] else CallQuery(limit=5, **query), "sqlite")
    with store._reading() as conn:
        plan = " / ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
    assert "USE TEMP B-TREE" not in plan and "INDEX" in plan, plan


@pytest.mark.parametrize("query", [
    {}, {"sort": "cost"}, {"models": ("claude",)}, {"services": ("xray",)}, {"status": "failure"},
    {"fallback": True}, {"users": ("ana",)}, {"users": ("ana",), "sort": "cost"},
    {"providers": ("openai",)},
])
def test_postgres_has_an_index_for_every_page_order(pg_store, pg_conn, query):
    pg_store.record_calls(random_records(50))
    first = pg_store.calls(CallQuery(limit=5, **query))
    sql, params = page_sql(CallQuery(limit=5, cursor=first["next"], **query), "postgres")
    with pg_store._transaction() as cur:
        cur.execute("set local enable_sort = off")
        cur.execute("set local enable_seqscan = off")
        cur.execute("explain " + sql, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "Sort" not in plan and "Index" in plan, plan
