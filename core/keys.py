"""API keys: made, listed, revoked, and checked on every HTTP request.

A key's secret is ``pk-`` + 43 random URL-safe characters, shown once when it is made;
the store keeps only its SHA-256 and its first ``PREFIX_LENGTH`` characters (the prefix,
shown on lists and used to revoke it). A key belongs to a user and may carry a service
type, a list of allowed models, a monthly budget (USD, calendar month in UTC), a rate limit
(calls started per minute) and an expiry.

``KeyRing.authenticate(header)`` turns an ``Authorization`` header into an ``ApiKey`` or
raises ``KeyRefused`` (401: missing, unknown, revoked or expired; 429: over budget). A found
key is cached for ``ttl_s`` seconds, so revoking takes effect within that time on every
worker (and while the store is down, a key seen before keeps working from the cache); the
budget is checked against the key's known spend this month, read with it. The cache is
bounded: at most ``max_keys`` found keys (least recently used leave first) and, apart from
them, at most ``MAX_UNKNOWN`` unknown ones for ``UNKNOWN_TTL_S``, so random tokens neither
grow memory nor push real keys out.

A user who is not an admin makes keys only for themselves and within the key policy
(``parley.key_policy``, ``core/store/key_policy.py``): ``create(..., as_user=)`` checks it, and
on Postgres/Supabase the SQL function checks it again. ``sync_key_policy`` copies the policy
into the database, as ``core.identity.sync_admins`` copies the admins.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from core.audit import last_recorded, record_change, record_if_changed
from core.errors import BadRequestError, ParleyError, StoreUnavailableError
from core.key_cache import KeyCache
from core.store.key_policy import check_new_key, policy_rows

__all__ = ["ApiKey", "KeyRing", "KeyRefused", "new_secret", "hash_secret", "PREFIX_LENGTH",
           "month_start", "parse_expiry", "sync_key_policy"]

PREFIX_LENGTH = 11  # "pk-" + 8 characters
_SECRET = re.compile(r"^pk-[A-Za-z0-9_\-]{20,100}$")


class KeyRefused(ParleyError):
    """The request's key cannot be used. ``status`` is 401 (no, unknown, revoked or expired
    key) or 429 (budget spent); ``code`` names which, for the API's error body."""

    kind = "key_refused"

    def __init__(self, message: str, *, status: int = 401, code: str = "invalid_api_key",
                 retry_after: float | None = None):
        super().__init__(message)
        self.status, self.code, self.retry_after = status, code, retry_after


@dataclass(frozen=True)
class ApiKey:
    id: str
    user_id: str
    prefix: str
    name: str = ""
    service_type: str | None = None
    models: tuple[str, ...] | None = None  # None: any configured model
    monthly_budget: float | None = None
    rate_limit_per_minute: int | None = None
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    created_by: str = ""
    month_spend: float = 0.0

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "ApiKey":
        return cls(id=row["id"], user_id=row["user_id"], prefix=row["prefix"],
                   name=row.get("name") or "", service_type=row.get("service_type"),
                   models=None if row.get("models") is None else tuple(row["models"]),
                   monthly_budget=row.get("monthly_budget"),
                   rate_limit_per_minute=row.get("rate_limit_per_minute"),
                   expires_at=_time(row.get("expires_at")), revoked_at=_time(row.get("revoked_at")),
                   created_at=_time(row.get("created_at")), created_by=row.get("created_by") or "",
                   month_spend=float(row.get("month_spend") or 0))

    def to_json(self) -> dict[str, Any]:
        """The key as ``keys list --json`` and the /keys page show it (never the secret)."""
        return {"id": self.id, "user": self.user_id, "prefix": self.prefix, "name": self.name,
                "service_type": self.service_type,
                "models": None if self.models is None else list(self.models),
                "monthly_budget": self.monthly_budget,
                "rate_limit_per_minute": self.rate_limit_per_minute,
                "expires_at": _iso(self.expires_at), "revoked_at": _iso(self.revoked_at),
                "created_at": _iso(self.created_at), "created_by": self.created_by,
                "status": self.status()}

    def status(self, now: dt.datetime | None = None) -> str:
        """``active``, ``revoked`` or ``expired``."""
        now = now or _now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def allows(self, model: str) -> bool:
        return self.models is None or model in self.models


def new_secret() -> str:
    return "pk-" + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def month_start(now: dt.datetime | None = None) -> dt.datetime:
    now = now or _now()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def parse_expiry(text: str | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """``2026-12-31`` (the end of that UTC day), an ISO time, or ``30d`` (days from now)."""
    if text is None or text == "":
        return None
    now = now or _now()
    if re.fullmatch(r"\d{1,4}d", text):
        return now + dt.timedelta(days=int(text[:-1]))
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
        else:
            moment = _time(text)
    except ValueError:
        raise BadRequestError(f"Expiry {text!r} is not a date (2026-12-31), a time or a number "
                              "of days (30d).") from None
    if moment <= now:
        raise BadRequestError(f"Expiry {text!r} is in the past.")
    return moment


class KeyRing:
    """Keys in the store ``store_opener()`` opens (on first use). Thread-safe."""

    UNKNOWN_TTL_S = 2.0  # a token no key matches is refused from memory this long
    MAX_UNKNOWN = 1_000

    def __init__(self, store_opener: Callable[[], Any], *, ttl_s: float = 5.0,
                 now: Callable[[], dt.datetime] = lambda: _now(), spend=None,
                 max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        """``spend``: a ``core.guards.SpendCounter`` sharing each key's month-to-date spend
        across workers (None: this process adds its own calls to the store's figure).
        ``clock``: seconds, for the cache's expiry."""
        self._opener, self._ttl, self._now, self._spend = store_opener, ttl_s, now, spend
        self._store = None
        self._lock = threading.Lock()
        self._cache = KeyCache(max_keys, self.MAX_UNKNOWN, clock)
        self._clock = clock
        self._reading: set[str] = set()  # digests of keys being read from the store now

    @property
    def store(self):
        with self._lock:
            if self._store is None:
                self._store = self._opener()
            return self._store

    def create(self, user_id: str, *, created_by: str, catalog=None, name: str = "",
               service_type: str | None = None, models: list[str] | None = None,
               budget: float | None = None, rate_limit: int | None = None,
               expires: str | dt.datetime | None = None,
               as_user: str | None = None) -> tuple[str, ApiKey]:
        """Make a key; returns ``(secret, key)``. The secret is not kept: show it once.
        Bad input raises ``BadRequestError`` and stores nothing. ``as_user`` (the signed-in
        user) makes keys only for themselves, within their key policy, unless an admin;
        ``as_user=None`` is a trusted caller (the CLI) and is not limited."""
        _check_user(user_id)
        models = _check_models(models, catalog)
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float))
                                   or budget < 0):
            raise BadRequestError(f"A budget is a number of US dollars, 0 or more, not {budget!r}.")
        if rate_limit is not None and (isinstance(rate_limit, bool) or not isinstance(rate_limit, int)
                                       or not 1 <= rate_limit <= 100_000):
            raise BadRequestError(f"A rate limit is a whole number of calls per minute from 1 to "
                                  f"100000, not {rate_limit!r}.")
        expires_at = expires if isinstance(expires, dt.datetime) else parse_expiry(expires, self._now())
        limits = None if as_user is None else self.store.key_limits(as_user, as_user=as_user)
        if limits is not None:  # a signed-in user who is not an admin
            if user_id != as_user:
                raise BadRequestError(f"{as_user} may create keys only for themselves.")
            check_new_key(limits, models=models, budget=budget, rate_limit=rate_limit,
                          expires_at=expires_at, now=self._now())
        secret = new_secret()
        row = {"id": str(uuid.uuid4()), "user_id": user_id, "prefix": secret[:PREFIX_LENGTH],
               "sha256": hash_secret(secret), "name": name or "", "service_type": service_type,
               "models": models, "monthly_budget": None if budget is None else float(budget),
               "rate_limit_per_minute": rate_limit, "expires_at": _iso(expires_at),
               "created_at": _iso(self._now()), "created_by": created_by}
        self.store.create_key(row, as_user=as_user)
        key = ApiKey.from_row(row)
        record_change(self.store, as_user or created_by, "keys.create", key.prefix, None,
                      key.to_json())
        return secret, key

    def list(self, user_id: str | None = None, *, as_user: str | None = None) -> list[ApiKey]:
        return [ApiKey.from_row(row) for row in self.store.list_keys(user_id, as_user=as_user)]

    def revoke(self, prefix: str, *, as_user: str | None = None) -> dict[str, Any]:
        """Revoke the key with ``prefix``; ``BadRequestError`` when there is none the caller
        may revoke. Cached copies on other workers expire within ``ttl_s``."""
        if not isinstance(prefix, str) or not prefix.startswith("pk-") or len(prefix) < 6:
            raise BadRequestError("Name the key by its prefix, as `keys list` shows it (pk-...).")
        done = self.store.revoke_key(prefix[:PREFIX_LENGTH], as_user=as_user)
        if done is None:
            raise BadRequestError(f"There is no key {prefix} you may revoke.")
        self._cache.clear()
        record_change(self.store, as_user, "keys.revoke", prefix[:PREFIX_LENGTH], None, done)
        return done

    def cached(self, authorization: str | None) -> bool:
        """Would ``authenticate`` answer from its cache (without reading the store)?"""
        try:
            digest = hash_secret(_bearer(authorization))
        except KeyRefused:
            return True  # refused without a read
        cached = self._cache.get(digest)
        return self._fresh(cached) or self._being_read(digest, cached)

    def _being_read(self, digest: str, cached: tuple[float, ApiKey | None] | None) -> bool:
        """Is a key seen before being read from the store by another request now? Then its
        copy serves meanwhile. Before, when a busy key's copy went stale every request in
        flight read it (a sum over the key's calls this month each), one after another on the
        store's one connection, behind the recorder's write transactions (which, with two
        workers, wait for each other's); in a two-worker bench run, 7 requests waited over 2 s."""
        return cached is not None and cached[1] is not None and digest in self._reading

    def _fresh(self, cached: tuple[float, ApiKey | None] | None) -> bool:
        if cached is None:
            return False
        ttl = self._ttl if cached[1] is not None else min(self._ttl, self.UNKNOWN_TTL_S)
        return self._clock() - cached[0] < ttl

    def authenticate(self, authorization: str | None) -> ApiKey:
        """The usable key named by an ``Authorization: Bearer pk-...`` header, or ``KeyRefused``."""
        secret = _bearer(authorization)
        digest = hash_secret(secret)
        cached = self._cache.get(digest)
        if self._fresh(cached) or self._being_read(digest, cached):
            key = cached[1]
        else:
            key = self._read_once(digest, cached)
        if key is None:
            raise KeyRefused("This API key is not valid; check it, or make a new one with "
                             "`python -m core keys create`.")
        if self._spend is not None and key.monthly_budget is not None:
            shared = self._spend.current(f"key:{key.id}", self._month(), key.month_spend)
            key = _replace_spend(key, shared)
        state = key.status(self._now())
        if state != "active":
            raise KeyRefused(f"API key {key.prefix} has been {state}; make a new one.",
                             code=f"key_{state}")
        if key.monthly_budget is not None and key.month_spend >= key.monthly_budget:
            raise KeyRefused(f"API key {key.prefix} has spent ${key.month_spend:,.2f} of its "
                             f"${key.monthly_budget:,.2f} monthly budget; calls are refused until "
                             "next month unless its budget is raised.", status=429,
                             code="budget_exceeded", retry_after=_seconds_to_next_month(self._now()))
        return key

    def _read_once(self, digest: str, cached: tuple[float, ApiKey | None] | None) -> ApiKey | None:
        """``_read``, noted while it runs, so other requests for the key use its copy."""
        with self._lock:
            if self._being_read(digest, cached):
                return cached[1]
            self._reading.add(digest)
        try:
            return self._read(digest, cached)
        finally:
            with self._lock:
                self._reading.discard(digest)

    def _read(self, digest: str, cached: tuple[float, ApiKey | None] | None) -> ApiKey | None:
        """The key from the store, cached. While the store cannot be reached, a key seen
        before is still served from the cache (calls go on and are spooled); a key never
        seen is refused with the store's error (503)."""
        try:
            row = self.store.authenticate_key(digest, month_start(self._now()))
        except StoreUnavailableError:
            if cached is not None:
                return cached[1]
            raise
        key = None if row is None else ApiKey.from_row(row)
        self._cache.put(digest, key)
        return key

    def note_spend(self, key: ApiKey, cost: float | None, *, counted: bool = False) -> None:
        """Add a call's cost to the cached key, so its budget holds between store reads.
        ``counted``: a ``core.key_budgets.KeyBudgetGuard`` on the same Redis already added it to
        the shared spend when it settled the call's hold (so it is not added twice)."""
        if not cost:
            return
        if self._spend is not None and not counted:
            self._spend.add(f"key:{key.id}", self._month(), cost)
        self._cache.add_spend(key.id, cost)

    def _month(self) -> str:
        return self._now().strftime("%Y-%m")

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def sync_key_policy(settings, store) -> int:
    """Copy ``parley.key_policy`` (its defaults where unset) into ``store``; returns how many
    policy rows it now holds (everyone's, and one per user with their own caps). A change is
    audited as ``keys.limits``."""
    rows = policy_rows(settings.key_policy)
    count = store.sync_key_policy(rows)
    shown = json.loads(json.dumps(rows, default=str, sort_keys=True))
    record_if_changed(store, None, "keys.limits", "parley.key_policy",
                      last_recorded(store, "keys.limits", "parley.key_policy"), shown)
    return count


def _replace_spend(key: ApiKey, spent: float) -> ApiKey:
    import dataclasses

    return dataclasses.replace(key, month_spend=spent)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise KeyRefused("This route needs an API key; send `Authorization: Bearer pk-...`.")
    scheme, _, secret = authorization.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer":
        named = f"the {scheme!r} scheme" if scheme.isalpha() and len(scheme) <= 10 else "no scheme"
        raise KeyRefused(f"The Authorization header uses {named}; send `Authorization: Bearer "
                         "pk-...` (or the key alone in `x-api-key`).")
    if not secret:
        raise KeyRefused("The Authorization header has no key after `Bearer`; send "
                         "`Authorization: Bearer pk-...`.")
    if not secret.startswith("pk-"):
        raise KeyRefused("The key sent is not a Parley API key (those start with pk-); a "
                         "provider's key does not work here: make one on /keys or with "
                         "`python -m core keys create`.")
    if not _SECRET.match(secret):
        raise KeyRefused("This API key is not valid: a Parley key is pk- and 20 to 100 letters, "
                         "digits, '-' or '_'; check it was copied whole.")
    return secret


def _check_user(user_id: Any) -> None:
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 256:
        raise BadRequestError("A key belongs to a user: give a user id of at most 256 characters.")


def _check_models(models: list[str] | None, catalog) -> list[str] | None:
    if models is None:
        return None
    models = [m.strip() for m in models if m and m.strip()]
    if not models:
        raise BadRequestError("List at least one model the key may use, or none for any.")
    if catalog is not None:
        for name in models:
            catalog.get(name)  # UnknownModelError names the configured ones
    return list(dict.fromkeys(models))


def _seconds_to_next_month(now: dt.datetime) -> float:
    first = month_start(now)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return (following - now).total_seconds()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _time(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.timezone.utc).isoformat()
