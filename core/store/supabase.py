"""Supabase store: REST (PostgREST) through supabase-py, with ``SUPABASE_URL`` and
``SUPABASE_SERVICE_ROLE_KEY``.

Every read and write is one ``POST {url}/rest/v1/rpc/<fn>`` to the SQL functions of
``supabase/migrations`` (the Postgres backend calls the same ones), so the logic lives in SQL.
Requests carry ``apikey: <service role key>`` and ``Authorization: Bearer <token>``, where the
token is the service role key, or, for ``as_user`` calls when the project's JWT secret
(``SUPABASE_JWT_SECRET``) is configured, a short-lived HS256 JWT for that user
(``sub`` = user id, ``role`` = authenticated), so Postgres row-level security applies.
Without the secret, ``as_user`` is enforced here instead: the user's own rows only.
The ledgers (price book, provider bills, audit log, ``db verify`` checks) are
``SqlFunctionLedgers``: the same rows as on SQLite and Postgres, through SQL functions; so is
the call browser (``calls``, ``call``: ``parley_calls``, ``parley_call``). The evaluation
workbench (``evals()``) is not served here: it needs the Postgres store.

The schema cannot be migrated over REST: apply ``supabase/migrations`` with the Supabase CLI
(``supabase db push``) or with ``python -m core db upgrade`` and the project's connection string.
Keys never appear in errors, ``status()`` or ``repr``.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any, Sequence
from urllib.parse import urlsplit

import httpx

from core.errors import BadRequestError, StoreUnavailableError, redact
from core.results import CallRecord
from core.store.alerts import SqlFunctionAlerts
from core.store.keys import SqlFunctionKeys
from core.store.ledger_functions import SqlFunctionLedgers
from core.store.rollups import (PERFORMANCE_GRAINS, USAGE_GRAINS, RollupQuery, performance_row,
                                 pick_grain, usage_rollup_row)
from core.store.clients import client_row
from core.store.call_pages import (CallQuery, call_detail, detail_rows_from_json, page_from_rows,
                                   page_query_json, page_rows_from_json)
from core.store.base import (call_row, check_limit, check_usage_query, comparison_row,
                              leaderboard_rows, usage_row, vote_row)
from core.store.postgres import preferences_from_rows
from core.store.token_classes import class_totals

__all__ = ["SupabaseStore"]

_MISSING_SCHEMA = {"PGRST202", "PGRST205", "42883", "42P01"}
_REFUSED_KEY = {"PGRST301", "PGRST302"}


class SupabaseStore(SqlFunctionKeys, SqlFunctionAlerts, SqlFunctionLedgers):
    """A ``Store`` behind a Supabase project's REST API. ``create_client`` does no I/O."""

    backend = "supabase"

    def __init__(self, url: str, service_role_key: str, *, jwt_secret: str | None = None,
                 timeout_s: float = 10.0, user_token_ttl_s: int = 300):
        from supabase import ClientOptions, create_client

        self.location = urlsplit(url).hostname or url
        self._secrets = tuple(s for s in (service_role_key, jwt_secret) if s)
        self._jwt_secret = jwt_secret
        self._user_token_ttl_s = user_token_ttl_s
        options = ClientOptions(postgrest_client_timeout=timeout_s, auto_refresh_token=False,
                                persist_session=False)
        self._client = create_client(url, service_role_key, options=options)

    def __repr__(self) -> str:
        return f"SupabaseStore({self.location!r})"

    # -- plumbing -------------------------------------------------------------------

    def _unavailable(self, problem: str) -> StoreUnavailableError:
        return StoreUnavailableError(redact(f"The supabase store at {self.location} {problem}",
                                            self._secrets))

    def _user_token(self, user_id: str) -> str:
        """A short-lived JWT that PostgREST accepts as ``user_id`` (role authenticated)."""
        import jwt

        now = int(time.time())
        claims = {"sub": user_id, "role": "authenticated", "aud": "authenticated",
                  "iat": now, "exp": now + self._user_token_ttl_s}
        return jwt.encode(claims, self._jwt_secret, algorithm="HS256")

    def _rpc(self, fn: str, params: dict[str, Any], *, as_user: str | None = None) -> Any:
        """POST /rest/v1/rpc/<fn>; as ``as_user`` when set (requires the JWT secret)."""
        from postgrest import APIError

        client = self._client.postgrest
        if as_user is not None:
            client = client.schema("public").auth(self._user_token(as_user))
        try:
            return client.rpc(fn, params).execute().data
        except APIError as exc:
            raise self._translate(exc, as_user) from None
        except httpx.HTTPError as exc:
            raise self._unavailable(f"cannot be reached ({type(exc).__name__}: {exc}); check "
                                    "SUPABASE_URL and the network.") from None

    def _key_fn(self, name: str, args: dict[str, Any], as_user: str | None) -> Any:
        return self._rpc(name, args, as_user=as_user)

    def _translate(self, exc: Any, as_user: str | None) -> Exception:
        message = redact(str(exc.message or exc), self._secrets)
        if exc.code in _MISSING_SCHEMA:
            return self._unavailable("has no Parley schema yet; apply supabase/migrations "
                                     "(`supabase db push`).")
        if exc.code in _REFUSED_KEY:
            return self._unavailable("refused the key; check SUPABASE_SERVICE_ROLE_KEY "
                                     "and SUPABASE_JWT_SECRET.")
        if exc.code == "42501" and as_user is not None:
            return BadRequestError(f"Not allowed for user {as_user!r}: {message}.")
        if exc.code and exc.code[:2] in ("22", "23"):
            return BadRequestError(f"The supabase store refused the request: {message}.")
        return self._unavailable(f"failed ({exc.code or 'no code'}: {message}).")

    def _enforced_here(self, as_user: str | None) -> bool:
        """Without the JWT secret no request can run as a user: the service role reads and
        writes instead, and this backend limits ``as_user`` to their own rows."""
        return as_user is not None and not self._jwt_secret

    # -- Store ----------------------------------------------------------------------

    def upgrade(self) -> list[str]:
        """Nothing can be applied over REST: check the schema is there; return []."""
        self._rpc("parley_status", {})
        return []

    def record_calls(self, records: Sequence[CallRecord]) -> int:
        """One ``parley_record_calls`` request per batch. Returns how many were new."""
        if not records:
            return 0
        rows = json.loads(json.dumps([call_row(record) for record in records], default=str))
        return int(self._rpc("parley_record_calls", {"p_rows": rows}))

    def record_call_json(self, payload: bytes) -> int:
        """``record_calls`` for records already encoded as a JSON array of call rows (the
        recorder's spool lines), in one ``parley_record_calls`` request: parsed once, not
        rebuilt into records. A row Postgres refuses (or text that is not JSON) fails the
        whole batch with ``BadRequestError``, so the recorder falls back to ``record_calls``."""
        try:
            rows = json.loads(payload)
        except ValueError as exc:
            raise BadRequestError(f"A batch of call records is not JSON ({exc}).") from None
        if not isinstance(rows, list):
            raise BadRequestError("A batch of call records is a JSON array of call rows.")
        return int(self._rpc("parley_record_calls", {"p_rows": rows})) if rows else 0

    def spend_by_client(self, *, user_id: str | None = None, since: dt.date | None = None,
                        until: dt.date | None = None,
                        as_user: str | None = None) -> list[dict[str, Any]]:
        """``parley_spend_by_client``: spend per client and user."""
        if self._enforced_here(as_user):
            if user_id not in (None, as_user):
                return []
            user_id, as_user = as_user, None
        rows = self._rpc("parley_spend_by_client", {
            "p_user": user_id, "p_since": since.isoformat() if since else None,
            "p_until": until.isoformat() if until else None}, as_user=as_user)
        return [client_row(row) for row in rows or []]

    def usage(self, by: str, *, user_id: str | None = None, since: dt.date | None = None,
              until: dt.date | None = None, as_user: str | None = None) -> list[dict[str, Any]]:
        """``parley_usage``: spend grouped by ``by``, cost desc (``day``: day asc)."""
        since_iso, until_iso = check_usage_query(by, since, until)
        if self._enforced_here(as_user):
            if user_id not in (None, as_user):
                return []
            user_id, as_user = as_user, None
        rows = self._rpc("parley_usage", {"p_by": by, "p_user_id": user_id, "p_since": since_iso,
                                          "p_until": until_iso}, as_user=as_user)
        return [usage_row(row) for row in rows]

    def usage_rollup(self, query: RollupQuery, *, as_user: str | None = None) -> list[dict[str, Any]]:
        """``parley_console_usage``; without the JWT secret ``as_user`` sees their own rows."""
        query, as_user = self._console_scope(query, as_user)
        grain = pick_grain(USAGE_GRAINS, query, as_user=as_user)
        rows = self._rpc("parley_console_usage", {"p_query": query.to_json(grain)}, as_user=as_user)
        return [usage_rollup_row(row) for row in rows]

    def performance_rollup(self, query: RollupQuery, *,
                           as_user: str | None = None) -> list[dict[str, Any]]:
        """``parley_console_performance``, scoped like ``usage_rollup``."""
        query, as_user = self._console_scope(query, as_user)
        grain = pick_grain(PERFORMANCE_GRAINS, query, as_user=as_user)
        rows = self._rpc("parley_console_performance", {"p_query": query.to_json(grain)},
                         as_user=as_user)
        return [performance_row(row) for row in rows]

    def token_classes(self, query: RollupQuery, *, as_user: str | None = None) -> dict[str, Any]:
        """``parley_token_classes``, scoped like ``usage_rollup``."""
        query, as_user = self._console_scope(query, as_user)
        return class_totals(self._rpc("parley_token_classes", {"p_query": query.to_json()}, as_user=as_user))

    def _console_scope(self, query: RollupQuery, as_user: str | None) -> tuple[RollupQuery, str | None]:
        if self._enforced_here(as_user):
            return query.only_user(as_user), None
        return query, as_user

    def get_preferences(self, user_id: str, *, as_user: str | None = None) -> dict[str | None, str]:
        if self._enforced_here(as_user):
            if as_user != user_id:
                return {}
            as_user = None
        rows = self._rpc("parley_get_preferences", {"p_user_id": user_id}, as_user=as_user)
        return preferences_from_rows(rows)

    def set_preference(self, user_id: str, model: str, service_type: str | None = None, *,
                       as_user: str | None = None) -> None:
        """``parley_set_preference``; under ``as_user`` only the user's own."""
        if self._enforced_here(as_user):
            if as_user != user_id:
                raise BadRequestError(f"User {as_user!r} may not change the preferences of {user_id!r}.")
            as_user = None
        self._rpc("parley_set_preference", {"p_user_id": user_id, "p_model": model,
                                            "p_service_type": service_type}, as_user=as_user)

    def clear_preference(self, user_id: str, service_type: str | None = None, *,
                         as_user: str | None = None) -> bool:
        """``parley_clear_preference``; under ``as_user`` only the user's own."""
        if self._enforced_here(as_user):
            if as_user != user_id:
                raise BadRequestError(f"User {as_user!r} may not change the preferences of {user_id!r}.")
            as_user = None
        return bool(self._rpc("parley_clear_preference", {"p_user_id": user_id,
                                                          "p_service_type": service_type},
                              as_user=as_user))

    def record_vote(self, vote: dict[str, Any]) -> None:
        self._rpc("parley_record_vote", {"p_vote": json.loads(json.dumps(vote_row(vote), default=str))})

    def leaderboard(self, *, user_id: str | None = None,
                    as_user: str | None = None) -> list[dict[str, Any]]:
        """``parley_leaderboard``; without the JWT secret ``as_user`` sees their own votes."""
        if self._enforced_here(as_user):
            if user_id not in (None, as_user):
                return []
            user_id, as_user = as_user, None
        return leaderboard_rows(self._rpc("parley_leaderboard", {"p_user_id": user_id},
                                          as_user=as_user))

    def save_comparison(self, comparison: dict[str, Any]) -> None:
        row = json.loads(json.dumps(comparison_row(comparison), default=str))
        self._rpc("parley_save_comparison", {"p_comparison": row})

    def comparisons(self, user_id: str, *, limit: int = 20,
                    as_user: str | None = None) -> list[dict[str, Any]]:
        """``parley_comparisons``: the user's saved comparisons, newest first."""
        if self._enforced_here(as_user):
            if as_user != user_id:
                return []
            as_user = None
        return self._rpc("parley_comparisons", {"p_user_id": user_id, "p_limit": check_limit(limit)},
                         as_user=as_user)

    def calls(self, query: CallQuery, *, as_user: str | None = None) -> dict[str, Any]:
        """``parley_calls``: one keyset page of the call log (``core/store/call_pages.py``);
        a user who is not an admin gets only their own calls (without the JWT secret: always)."""
        query = query.checked()
        if self._enforced_here(as_user):
            query, as_user = query.only_user(as_user), None
        rows = self._rpc("parley_calls", {"p_query": page_query_json(query)}, as_user=as_user)
        return page_from_rows(query, page_rows_from_json(query, rows or []))

    def call(self, call_id: str, *, as_user: str | None = None) -> dict[str, Any] | None:
        """``parley_call``: one call and the failed attempts its fallback replaced, or None if
        there is none the caller may see (row-level security, or here without the secret)."""
        reader = None if self._enforced_here(as_user) else as_user
        rows = self._rpc("parley_call", {"p_call_id": call_id}, as_user=reader)
        found = [call_detail(row) for row in detail_rows_from_json(rows or [])]
        main = next((c for c in found if c["litellm_call_id"] == call_id), None)
        if main is None or (reader != as_user and main["user_id"] != as_user):
            return None
        return {**main, "attempts": [c for c in found if c is not main]}

    def sync_admins(self, admins: Sequence[str]) -> int:
        """``parley_sync_admins`` over REST, as the service role."""
        return int(self._rpc("parley_sync_admins", {"p_admins": list(admins)}))

    def status(self) -> dict[str, Any]:
        """Backend, project host and row counts; migrations are the Supabase CLI's (None)."""
        return {"backend": self.backend, "location": self.location, "applied_migrations": None,
                "pending_migrations": None, "counts": self._rpc("parley_status", {})}

    def close(self) -> None:
        self._client.postgrest.aclose()
