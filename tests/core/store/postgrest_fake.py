"""A tiny PostgREST for ``POST /rest/v1/rpc/<fn>``, answering the real HTTP requests
supabase-py makes by calling the SAME SQL function on the test Postgres.

As PostgREST does: the bearer JWT is verified with the project's secret; its ``role`` claim
becomes the transaction's role (``set local role``) and all its claims ``request.jwt.claims``;
the JSON body's keys are the function's named arguments; a void function answers 204, any
other its result as JSON; a database error answers PostgREST's error object
(``code`` = SQLSTATE, ``message``, ``details``, ``hint``).
"""
from __future__ import annotations

import json
from typing import Any

import httpx
import jwt
import psycopg
import respx
from psycopg import sql

_STATUS = {"42501": 403, "42883": 404, "PGRST202": 404, "PGRST301": 401}


class FakePostgrest:
    def __init__(self, base_url: str, database_url: str, jwt_secret: str):
        self.base_url = base_url.rstrip("/")
        self.database_url = database_url
        self.jwt_secret = jwt_secret
        self.requests: list[httpx.Request] = []
        self._router = respx.mock(base_url=self.base_url, assert_all_called=False,
                                  assert_all_mocked=True)
        self._conn: psycopg.Connection | None = None

    def __enter__(self) -> "FakePostgrest":
        self._conn = psycopg.connect(self.database_url, autocommit=True)
        self._router.start()
        self._router.post(path__regex=r"^/rest/v1/rpc/(?P<fn>\w+)$").mock(side_effect=self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._router.stop()
        self._conn.close()

    def _handle(self, request: httpx.Request, fn: str) -> httpx.Response:
        self.requests.append(request)
        if not request.headers.get("apikey"):
            return _error(401, None, "No API key found in request")
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, self.jwt_secret, algorithms=["HS256"],
                                options={"verify_aud": False})
        except jwt.PyJWTError as exc:
            return _error(401, "PGRST301", f"JWT invalid: {type(exc).__name__}")
        args = json.loads(request.content or b"{}")
        return self._call(fn, claims.get("role", "anon"), claims, args)

    def _call(self, fn: str, role: str, claims: dict, args: dict) -> httpx.Response:
        returns_void = self._returns_void(fn)
        if returns_void is None:
            return _error(404, "PGRST202", f"Could not find the function public.{fn}")
        call = sql.SQL("{}({})").format(
            sql.Identifier("public", fn),
            sql.SQL(", ").join(sql.SQL("{} => %s").format(sql.Identifier(name)) for name in args))
        query = sql.SQL("select {}" if returns_void else "select to_jsonb({})").format(call)
        values = [json.dumps(v) if isinstance(v, (dict, list)) else v for v in args.values()]
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
                cur.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
                cur.execute(query, values)
                result = cur.fetchone()[0]
        except psycopg.Error as exc:
            diag = exc.diag
            return _error(_STATUS.get(exc.sqlstate, 400), exc.sqlstate, diag.message_primary,
                          diag.message_detail, diag.message_hint)
        if returns_void:
            return httpx.Response(204)
        return httpx.Response(200, json=result)

    def _returns_void(self, fn: str) -> bool | None:
        row = self._conn.execute(
            "select p.prorettype = 'void'::regtype from pg_proc p "
            "join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public' and p.proname = %s",
            (fn,)).fetchone()
        return None if row is None else row[0]


def _error(status: int, code: str | None, message: str, details: str | None = None,
           hint: str | None = None) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "details": details,
                                        "hint": hint})
