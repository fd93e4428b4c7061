"""The store protocols: where call records, rollups, preferences and votes live.

Three backends implement it: ``sqlite`` (default), ``postgres`` (psycopg) and ``supabase``
(REST through supabase-py, logic in SQL functions). ``open_store(url)`` picks one from
``PARLEY_DATABASE_URL``. Every method is synchronous and safe to call from any thread;
a backend opens its own connections. ``Store`` is the whole of a backend; each caller takes
the small protocol it needs (``CallLog``, ``UsageReader``, ``PreferenceStore``, ``VoteStore``,
``ComparisonStore``).

Errors, for every method of every protocol here: a store that cannot be reached, or has no
schema yet, raises ``StoreUnavailableError`` (naming the backend, never a password or key);
input it refuses (a malformed record or vote, a write ``as_user`` may not make) raises
``BadRequestError``. Days are UTC days of ``created_at``.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Protocol, Sequence, runtime_checkable

from core.errors import BadRequestError
from core.results import CallRecord

if TYPE_CHECKING:
    from core.store.rollups import RollupQuery

__all__ = ["Store", "AdminList", "EvalsHolder", "CallBrowser", "CallLog", "UsageReader", "PreferenceStore", "VoteStore", "ComparisonStore",
           "USAGE_DIMENSIONS", "USAGE_FIELDS", "VOTE_KEYS", "call_row", "check_call",
           "check_usage_query", "usage_row", "utc_iso", "vote_row", "COMPARISON_KEYS",
           "LEADERBOARD_FIELDS", "comparison_row", "leaderboard_rows", "check_limit"]

USAGE_DIMENSIONS = ("user", "model", "provider", "service", "day")
USAGE_FIELDS = ("key", "calls", "failures", "input_tokens", "output_tokens", "cost")


class CallLog(Protocol):
    """Where the recorder ships call records (``core.recording``)."""

    def record_calls(self, records: Sequence[CallRecord]) -> int:
        """Insert records idempotently by ``call_id`` and update the rollups in the same
        transaction; a call id already stored (or repeated in the batch) is skipped and not
        counted again. Returns how many were newly inserted. Safe to call concurrently."""


class UsageReader(Protocol):
    """Spend and performance, read from the rollups only (the console, budgets, ``usage``)."""

    def usage(self, by: str, *, user_id: str | None = None, since: dt.date | None = None,
              until: dt.date | None = None, as_user: str | None = None) -> list[dict[str, Any]]:
        """Spend grouped by one of ``USAGE_DIMENSIONS``, read from ``usage_daily`` only.

        Each row has ``USAGE_FIELDS`` plus ``total_tokens``, ``unpriced_calls`` (calls whose
        price is unknown: their cost is not in ``cost``) and ``demo_calls``. ``key`` is the
        user id, model name, provider, service type, or ``YYYY-MM-DD``. Rows are sorted by
        cost descending, then key (``day``: by day ascending). ``since``/``until`` are
        inclusive. ``as_user`` reads under that user's identity: only their rows, unless
        they are an admin (``parley_admins``)."""

    def usage_rollup(self, query: "RollupQuery", *, as_user: str | None = None) -> list[dict[str, Any]]:
        """The cost console's read of ``usage_daily`` only (``core/store/rollups.py``): one
        row per group of ``query.by`` (keys named as the dimensions: ``day``/``month`` as
        ``YYYY-MM-DD``, ``user``, ``provider``, ``model``, ``service``), in key order, with
        ``calls``, ``failures``, ``input_tokens``, ``output_tokens``, ``total_tokens``,
        ``cost``, ``unpriced_calls``, ``demo_calls``. No matching rows: ``[]``. ``as_user``
        as in ``usage``."""

    def performance_rollup(self, query: "RollupQuery", *,
                           as_user: str | None = None) -> list[dict[str, Any]]:
        """The console's read of ``performance_daily`` only: per group of ``query.by``,
        ``fallbacks`` and the latency histograms ``rt`` and ``ttft`` (lists of
        ``console.BUCKETS`` call counts per bucket of ``console.LATENCY_BOUNDS_MS``)."""

    def token_classes(self, query: "RollupQuery", *, as_user: str | None = None) -> dict[str, Any]:
        """What calls did beyond text over ``query``'s days and filters (its ``by`` is
        ignored): ``image_calls``, ``images``, ``reasoning_tokens``, ``cache_read_tokens``,
        ``cache_write_tokens``, ``tool_calls`` (ints) and ``saved_cost`` (float), from
        ``usage_classes_daily`` (core/store/token_classes.py); ``as_user`` as in
        ``usage_rollup``."""

    def spend_by_client(self, *, user_id: str | None = None, since: dt.date | None = None,
                        until: dt.date | None = None,
                        as_user: str | None = None) -> list[dict[str, Any]]:
        """Spend per client and user (``core/store/clients.py``: ``CLIENT_FIELDS``), read from
        the call log's ``client`` column (no rollup carries it) over the inclusive days,
        cost descending; a call with no client is ``"unknown"``. ``as_user`` as in ``usage``."""


class PreferenceStore(Protocol):
    """Users' model choices (``core.routing.preferences``)."""

    def get_preferences(self, user_id: str, *, as_user: str | None = None) -> dict[str | None, str]:
        """The user's stored choices: service type (None = the user's default) -> model name.
        Under another user's identity (not an admin): ``{}``."""

    def set_preference(self, user_id: str, model: str, service_type: str | None = None, *,
                       as_user: str | None = None) -> None:
        """Upsert one preference (``service_type`` None = the user's default). Under
        ``as_user`` only that user's own preferences may be written; others raise
        ``BadRequestError``."""

    def clear_preference(self, user_id: str, service_type: str | None = None, *,
                         as_user: str | None = None) -> bool:
        """Remove one preference (``service_type`` None = the user's default), so calls fall
        back to the next level: service override -> user default -> ``parley.default_model``.
        Returns True if a stored choice was removed, False if there was none. The same rule
        as ``set_preference``: under ``as_user`` only that user's own may be removed; others
        raise ``BadRequestError`` (even when there is nothing to remove) and nothing changes."""


class VoteStore(Protocol):
    """Blind-comparison outcomes and the leaderboard they make."""

    def record_vote(self, vote: dict[str, Any]) -> None:
        """Store one blind-comparison outcome; ``vote_row`` below says which keys it takes."""

    def leaderboard(self, *, user_id: str | None = None,
                    as_user: str | None = None) -> list[dict[str, Any]]:
        """Blind-vote results per contestant (``LEADERBOARD_FIELDS``; ``model`` names it: a
        model, or a configuration when the columns shared one, see ``Comparison.vote``), from
        votes between at least two different contestants: each counts once per vote;
        ``win_rate`` = (wins + ties / 2) / votes; ``avg_cost`` is the mean known cost of its
        answers (None when none was priced). ``user_id`` limits to that user's votes;
        ``as_user`` reads under that identity (their own votes unless an admin). Sorted by win
        rate, then votes, descending, then model."""


class ComparisonStore(Protocol):
    """The playground's saved comparisons (kept only with ``privacy: store``)."""

    def save_comparison(self, comparison: dict[str, Any]) -> None:
        """Insert or replace one saved comparison (``comparison_row`` says which keys it
        takes) by ``id``; a comparison stored under another user is left unchanged."""

    def comparisons(self, user_id: str, *, limit: int = 20,
                    as_user: str | None = None) -> list[dict[str, Any]]:
        """The user's saved comparisons, most recently updated first, each with
        ``COMPARISON_KEYS`` (``data`` as a dict). Under another user's identity (not an
        admin): ``[]``."""


@runtime_checkable
class AdminList(Protocol):
    """Who is an admin, as the database sees it (row-level security on Postgres, the SQLite
    store's reads): a copy of ``parley.admins``, the one source (``core.identity.sync_admins``)."""

    def sync_admins(self, admins: Sequence[str]) -> int:
        """Make ``parley_admins`` hold exactly ``admins``, lower-cased and trimmed (blank ones
        dropped); returns how many admins it now holds. Service role only."""


@runtime_checkable
class EvalsHolder(Protocol):
    """A store that keeps prompt templates, datasets and evaluation runs (SQLite, Postgres;
    not Supabase's REST store)."""

    def evals(self) -> Any:
        """The evaluations tables (``core.store.evals.EvalsStore``)."""


@runtime_checkable
class CallBrowser(Protocol):
    """A store whose call log can be read a page at a time (the /calls page)."""

    def calls(self, query: Any, *, as_user: str | None = None) -> dict[str, Any]:
        """One keyset page of recorded calls matching ``query`` (``core.store.call_pages``)."""


class Store(CallLog, UsageReader, PreferenceStore, VoteStore, ComparisonStore, AdminList, Protocol):
    """A whole backend: every protocol above, plus its schema and lifetime. Callers take the
    smallest protocol they need; ``open_store`` gives a ``Store``."""

    backend: str  # "sqlite" | "postgres" | "supabase"

    def upgrade(self) -> list[str]:
        """Apply pending migrations in order; return the names applied (empty when current)."""

    def status(self) -> dict[str, Any]:
        """``backend``, ``location`` (no secrets), ``applied_migrations`` and
        ``pending_migrations`` (lists; None where the backend cannot tell), and ``counts``:
        rows in request_logs, usage_daily, user_preferences, votes ({} before migrating)."""

    def close(self) -> None:
        """Release connections."""


# What every backend shares: the row shapes its SQL (or SQLite) receives, and the checks
# that make the three backends accept and refuse the same things.

VOTE_KEYS = ("user_id", "created_at", "prompt_hash", "prompt", "models", "settings", "costs",
             "latencies", "winner", "is_demo", "metadata")


def utc_iso(moment: dt.datetime) -> str:
    """ISO 8601 text in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc).isoformat()
    return moment.astimezone(dt.timezone.utc).isoformat()


def check_call(record: CallRecord) -> CallRecord:
    """Refuse a record no backend would store: no call id, or a status other than
    success/failure. The message names the call, so one bad record is easy to find."""
    if not record.call_id:
        raise BadRequestError("A call record needs a call_id (its idempotency key).")
    if record.status not in ("success", "failure"):
        raise BadRequestError(f"Call {record.call_id}: status must be 'success' or 'failure', "
                              f"not {record.status!r}.")
    return record


def call_row(record: CallRecord) -> dict[str, Any]:
    """One checked record as a JSON-ready dict keyed by ``CallRecord`` field names,
    ``created_at`` in UTC: the element shape of ``parley_record_calls(p_rows jsonb)``."""
    row = dict(vars(check_call(record)))  # a plain dataclass: its fields, copied in C
    row["created_at"] = utc_iso(record.created_at)
    return row


def check_usage_query(by: str, since: dt.date | None,
                      until: dt.date | None) -> tuple[str | None, str | None]:
    """Refuse an unknown ``by``; return ``since``/``until`` as ISO dates (or None)."""
    if by not in USAGE_DIMENSIONS:
        raise BadRequestError(f"Usage can be grouped by {', '.join(USAGE_DIMENSIONS)}, not {by!r}.")
    return _iso_date(since), _iso_date(until)


def _iso_date(value: dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat()


def usage_row(row: dict[str, Any]) -> dict[str, Any]:
    """Normalise one usage row from any backend: counts as int, ``cost`` as float."""
    out = dict(row)
    for name in ("calls", "failures", "input_tokens", "output_tokens", "total_tokens",
                 "unpriced_calls", "demo_calls"):
        out[name] = int(out.get(name) or 0)
    out["cost"] = float(out.get("cost") or 0)
    out["key"] = str(out["key"])
    return out


def vote_row(vote: dict[str, Any]) -> dict[str, Any]:
    """Check one vote and return it JSON-ready (the shape of ``parley_record_vote``).

    Keys are ``VOTE_KEYS``; ``user_id`` and a non-empty ``models`` list are required;
    ``winner`` is one of ``models``, ``"tie"`` or None. Store ``prompt`` only as the
    privacy setting allows; ``prompt_hash`` is always safe."""
    unknown = sorted(set(vote) - set(VOTE_KEYS))
    if unknown:
        raise BadRequestError(f"A vote has no field {', '.join(unknown)}; use {', '.join(VOTE_KEYS)}.")
    row = {key: vote.get(key) for key in VOTE_KEYS}
    if not row["user_id"] or not isinstance(row["user_id"], str):
        raise BadRequestError("A vote needs the user_id of the person who voted.")
    models = row["models"]
    if not isinstance(models, (list, tuple)) or not models:
        raise BadRequestError("A vote needs the list of models that were compared.")
    row["models"] = list(models)
    if row["winner"] not in (*models, "tie", None):
        raise BadRequestError(f"A vote's winner must be one of {', '.join(models)} or 'tie'.")
    row["created_at"] = utc_iso(row["created_at"] or dt.datetime.now(dt.timezone.utc))
    row["is_demo"] = bool(row["is_demo"])
    for key in ("settings", "costs", "latencies", "metadata"):
        row[key] = row[key] or {}
    return row


COMPARISON_KEYS = ("id", "user_id", "created_at", "updated_at", "title", "data")
LEADERBOARD_FIELDS = ("model", "votes", "wins", "ties", "losses", "both_bad", "win_rate",
                      "avg_cost", "priced_answers", "avg_latency_ms")


def comparison_row(comparison: dict[str, Any]) -> dict[str, Any]:
    """Check one saved comparison and return it JSON-ready: ``id``, ``user_id`` and a dict
    ``data`` are required; ``title`` is cut to 200 characters; times default to now."""
    unknown = sorted(set(comparison) - set(COMPARISON_KEYS))
    if unknown:
        raise BadRequestError(f"A comparison has no field {', '.join(unknown)}; "
                              f"use {', '.join(COMPARISON_KEYS)}.")
    row = {key: comparison.get(key) for key in COMPARISON_KEYS}
    for key in ("id", "user_id"):
        if not row[key] or not isinstance(row[key], str):
            raise BadRequestError(f"A comparison needs its {key}.")
    if not isinstance(row["data"], dict):
        raise BadRequestError("A comparison's data must be a JSON object.")
    now = dt.datetime.now(dt.timezone.utc)
    for key in ("created_at", "updated_at"):
        moment = row[key] or now
        if isinstance(moment, str):
            try:
                moment = dt.datetime.fromisoformat(moment)
            except ValueError:
                raise BadRequestError(f"A comparison's {key} must be an ISO 8601 time.") from None
        row[key] = utc_iso(moment)
    row["title"] = str(row["title"] or "")[:200]
    return row


def check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise BadRequestError(f"limit must be a whole number from 1 to 1000, not {limit!r}.")
    return limit


def leaderboard_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leaderboard rows from any backend, normalised and in the order the protocol states."""
    out = [_leaderboard_row(row) for row in rows]
    return sorted(out, key=lambda r: (-r["win_rate"], -r["votes"], r["model"]))


def _leaderboard_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {name: row.get(name) for name in LEADERBOARD_FIELDS}
    out["model"] = str(out["model"])
    for name in ("votes", "wins", "ties", "losses", "both_bad", "priced_answers"):
        out[name] = int(out[name] or 0)
    out["win_rate"] = (out["wins"] + out["ties"] / 2) / out["votes"] if out["votes"] else 0.0
    for name in ("avg_cost", "avg_latency_ms"):
        out[name] = None if out[name] is None else float(out[name])
    return out
