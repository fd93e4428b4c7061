"""``python -m core db upgrade|status|flush`` and ``python -m core usage``.

``register(subparsers)`` adds the commands to the CLI's argparse subparsers. Each command is
``run_*(args, ctx) -> exit code`` with ``ctx`` a ``CliContext``; ``StoreContext`` is one built
from settings alone. Output is a table, or ``--json`` (and ``--csv`` for ``usage``); an error is
one line on stderr and a non-zero exit (1: the store failed; 2: bad input).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Protocol
from urllib.parse import unquote, urlsplit

from core.errors import BadRequestError, ParleyError, redact
from core.pricing import cost_label, price_kind
from core.recording.recorder import Recorder, spool_dir_for
from core.recording.spool import backlog, rejected
from core.identity import sync_admins
from core.keys import sync_key_policy
from core.store import open_store  # the backends load their drivers only on use
from core.store.postgres import safe_location as postgres_location  # psycopg loads on connect
from core.store.base import USAGE_DIMENSIONS, USAGE_FIELDS, Store

__all__ = ["register", "CliContext", "StoreContext", "run_db_upgrade", "run_db_status",
           "run_db_flush", "run_db_verify", "run_usage"]


class StoreSettings(Protocol):
    database_url: str
    data_dir: Path
    privacy: str
    admins: tuple[str, ...]


class CliContext(Protocol):
    """What the store commands need from the CLI: settings, and the store and recorder,
    each opened on first use and closed by whoever owns the context."""

    settings: StoreSettings

    def store(self) -> Store: ...

    def recorder(self) -> Recorder: ...


class StoreContext:
    """A ``CliContext`` from settings; the store is ``open_store(settings.database_url)``
    unless ``store_opener`` says otherwise."""

    def __init__(self, settings: StoreSettings, store_opener: Callable[[], Store] | None = None):
        self.settings = settings
        self._opener = store_opener or (lambda: _open_store(settings))
        self._store: Store | None = None
        self._recorder: Recorder | None = None

    def store(self) -> Store:
        if self._store is None:
            self._store = self._opener()
        return self._store

    def recorder(self) -> Recorder:
        if self._recorder is None:
            self._recorder = Recorder(self._opener, spool_dir(self.settings),
                                      self.settings.privacy, secrets=secrets_of(self.settings))
        return self._recorder

    def close(self) -> None:
        if self._recorder is not None:
            self._recorder.close()
        if self._store is not None:
            self._store.close()


def spool_dir(settings: StoreSettings) -> Path:
    return spool_dir_for(settings.data_dir, settings.database_url)


def secrets_of(settings: StoreSettings) -> tuple[str, ...]:
    """Values no output may show: provider keys, and the database password."""
    secrets = tuple(settings.secrets()) if hasattr(settings, "secrets") else ()
    password = urlsplit(settings.database_url).password
    return (*secrets, password, unquote(password)) if password else secrets


def register(subparsers) -> None:
    """Add ``db`` (upgrade, status, flush) and ``usage`` to an argparse subparsers object."""
    db = subparsers.add_parser("db", help="the call store: migrations, status, unsent backlog")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    for name, run, text in (("upgrade", run_db_upgrade, "apply pending migrations"),
                            ("status", run_db_status, "backend, row counts, unsent backlog"),
                            ("flush", run_db_flush, "ship the unsent backlog now"),
                            ("verify", run_db_verify, "every answered call recorded exactly once")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--json", action="store_true")
        action.set_defaults(run=run)
        if name == "flush":
            action.add_argument("--timeout", type=float, default=30.0,
                                help="seconds to keep retrying an unreachable store (default 30)")
    usage = subparsers.add_parser("usage", help="spend report from the rollups")
    usage.add_argument("--by", choices=(*USAGE_DIMENSIONS, "client"), default="user",
                       help="client: spend per client (claude-code, openai-python, ...) and user")
    usage.add_argument("--user", help="only this user's calls")
    usage.add_argument("--since", help="first day, YYYY-MM-DD (inclusive)")
    usage.add_argument("--until", help="last day, YYYY-MM-DD (inclusive)")
    form = usage.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true")
    form.add_argument("--csv", action="store_true")
    usage.set_defaults(run=run_usage)


def run_db_upgrade(args, ctx: CliContext) -> int:
    try:
        applied = ctx.store().upgrade()
        admins = sync_admins(ctx.settings, ctx.store())
        sync_key_policy(ctx.settings, ctx.store())
        seeded = seed_prices(ctx)
        audit_budgets(ctx)
    except ParleyError:
        raise
    except Exception as exc:
        return _store_failed(args, ctx, exc)
    if args.json:
        print(json.dumps({"applied": applied, "admins": admins, "prices_added": len(seeded)}))
        return 0
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("the schema is current; nothing to apply")
    print(f"admins: {admins} from parley.admins")
    print(f"price book: {len(seeded)} new entr{'y' if len(seeded) == 1 else 'ies'}")
    return 0


def audit_budgets(ctx: CliContext) -> None:
    """A change of ``parley.budgets`` since the last upgrade is audited as ``budgets.set``."""
    from core.audit import last_recorded, record_if_changed

    budgets = json.loads(json.dumps(getattr(ctx.settings, "budgets", None) or {}, sort_keys=True,
                                    default=str))
    store = ctx.store()
    record_if_changed(store, None, "budgets.set", "parley.budgets",
                      last_recorded(store, "budgets.set", "parley.budgets"), budgets)


def seed_prices(ctx: CliContext) -> list[dict]:
    """The price book gets an entry for each model whose configured price is new or changed
    (none for a store-only context, whose settings name no models)."""
    from core.catalog import Catalog
    from core.price_book import PriceBook

    if not hasattr(ctx.settings, "models"):
        return []
    store = ctx.store()
    return PriceBook(lambda: store, Catalog(ctx.settings)).sync()


def run_db_verify(args, ctx: CliContext) -> int:
    """The local journal against the store (``core/recording/verify.py``); exit 1 on any
    mismatch, 0 when every answered call is recorded exactly once."""
    from core.recording.verify import verify_recording

    report = verify_recording(spool_dir(ctx.settings), ctx.store())
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        print("  ".join(f"{name.replace('_', ' ')}: {n}" for name, n in report.counts.items()))
        for label, ids in (("missing from the store", report.missing),
                           ("recorded more than once", report.doubled),
                           ("stuck in the spool", report.stuck)):
            if ids:
                print(f"{len(ids)} call(s) {label}: {', '.join(ids[:10])}")
        for row in report.rollup_mismatches[:10]:
            print(f"rollup differs from its rows: {row['day']} {row['user_id']} {row['model']} "
                  f"(rows {row['row_calls']} calls, rollup {row['rollup_calls']})")
        print("ok: every answered call is recorded exactly once" if report.ok else "MISMATCH")
    return 0 if report.ok else 1


def run_db_status(args, ctx: CliContext) -> int:
    """Backend, location, row counts and backlog; with the store unreachable, still the
    backlog, with the error, and exit 1."""
    url = ctx.settings.database_url
    spool = spool_dir(ctx.settings)
    info: dict[str, Any] = {"backend": backend_of(url), "location": safe_location(url)}
    code = 0
    try:
        info.update(ctx.store().status())
    except Exception as exc:  # the backlog is worth showing most when the store is down
        info["error"] = _one_line(exc, ctx)
        code = 1
    info.update(backlog=backlog(spool), rejected=rejected(spool), spool=str(spool))
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        print(_render_status(info))
    return code


def run_db_flush(args, ctx: CliContext) -> int:
    """Ship every record waiting in the spool (this machine's, for this store) now."""
    recorder = ctx.recorder()
    try:
        shipped = recorder.flush(timeout=args.timeout)
        left, error = recorder.backlog(), recorder.last_error
    finally:
        recorder.close()
    if args.json:
        print(json.dumps({"shipped": shipped, "backlog": left, "error": error}))
    elif not error:
        print(f"shipped {shipped} record(s); {left} waiting"
              + (" (held by running processes, which ship them themselves)" if left else ""))
    if error:
        print(f"error: the call store did not take the backlog ({error}); {left} record(s) "
              f"stay in {recorder.spool_dir} and will be shipped by a later run.", file=sys.stderr)
        return 1
    return 0


def run_usage(args, ctx: CliContext) -> int:
    since, until = _parse_day(args.since, "--since"), _parse_day(args.until, "--until")
    if since and until and since > until:
        raise BadRequestError("--since is after --until; swap them.")
    if args.by == "client":
        return run_usage_by_client(args, ctx, since, until)
    try:
        rows = ctx.store().usage(args.by, user_id=args.user, since=since, until=until)
    except ParleyError:
        raise
    except Exception as exc:
        return _store_failed(args, ctx, exc)
    local = _local_keys(args.by, ctx.settings)
    public = [_public_row(row, local) for row in rows]
    if args.json:
        print(json.dumps(public, indent=2))
    elif args.csv:
        print(_render_csv(args.by, public), end="")
    else:
        print(_render_table(args.by, rows, public))
        waiting = backlog(spool_dir(ctx.settings))
        if waiting:
            print(f"note: {waiting:,} recorded call(s) are not shipped yet and not counted; "
                  f"`python -m core db flush` ships them.")
    return 0


def run_usage_by_client(args, ctx: CliContext, since, until) -> int:
    """``usage --by client``: spend per client and user, from the call log."""
    from core.store.clients import CLIENT_FIELDS

    try:
        rows = ctx.store().spend_by_client(user_id=args.user, since=since, until=until)
    except ParleyError:
        raise
    except Exception as exc:
        return _store_failed(args, ctx, exc)
    if args.json:
        print(json.dumps(rows, indent=2))
    elif args.csv:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CLIENT_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        print(out.getvalue(), end="")
    else:
        print(f"{'client':<18} {'user':<28} {'calls':>7} {'failures':>8} {'cost (USD)':>12}")
        for row in rows:
            print(f"{row['client']:<18} {row['user']:<28} {row['calls']:>7,} "
                  f"{row['failures']:>8,} {row['cost']:>12.6f}")
        if not rows:
            print("no calls recorded in this period")
    return 0


def backend_of(url: str) -> str:
    scheme = url.split(":", 1)[0].lower()
    return {"postgresql": "postgres", "postgres": "postgres"}.get(scheme, scheme)


def safe_location(url: str) -> str:
    """Where the store is, as its backend reports it, never with user or password."""
    backend = backend_of(url)
    if backend == "postgres":
        return postgres_location(url)
    if backend == "sqlite":
        return url[len("sqlite:///"):] or "(the default file under the data directory)"
    return backend


def _local_keys(by: str, settings: Any) -> set[str]:
    """The groups that are local models (``--by model``) or local providers (``--by
    provider``), whose cost shows as "local", not $0."""
    from core.catalog import LOCAL_PROVIDERS, Catalog

    try:
        entries = list(Catalog(settings))
    except (AttributeError, TypeError):  # settings without models: nothing is known local
        return set()
    if by == "model":
        return {e.name for e in entries if e.is_local}
    if by == "provider":
        return set(LOCAL_PROVIDERS)
    return set()


def _public_row(row: dict[str, Any], local: set[str]) -> dict[str, Any]:
    """The ``usage --json`` shape: ``cost`` is None when the price is unknown (no call of the
    group had one) or the group is a free local model; ``price`` says which (``local``,
    ``unknown``, ``known``); ``demo_calls`` counts the rows ``demo`` wrote."""
    out = {name: row.get(name) for name in USAGE_FIELDS}
    if row.get("calls") and row.get("unpriced_calls", 0) >= row["calls"]:
        out["cost"] = None
    out["price"] = price_kind(out["cost"], row.get("key") in local)
    if out["price"] == "local":
        out["cost"] = None
    out["demo_calls"] = row.get("demo_calls") or 0
    return out


def _render_table(by: str, rows: list[dict[str, Any]], public: list[dict[str, Any]]) -> str:
    if not public:
        return "no calls recorded for this selection"
    demo = sum(r["demo_calls"] for r in public)
    header = (by, "calls", "failures", "input tokens", "output tokens", "cost") + (
        ("demo calls",) if demo else ())
    total = {name: sum(r[name] or 0 for r in public) for name in (*USAGE_FIELDS[1:], "demo_calls")}
    priced = [r["cost"] for r in public if r["price"] == "known"]
    total.update(key="total", cost=sum(priced) if priced else None,
                 price="known" if priced else public[0]["price"])
    lines = [header] + [_cells(r, demo) for r in public] + [_cells(total, demo)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [_align(line, widths) for line in lines]
    text.insert(-1, "-" * len(text[0]))
    unpriced = sum(r.get("unpriced_calls", 0) for r in rows)
    if unpriced:
        text.append(f"note: {unpriced:,} call(s) have no known price; their cost is not included "
                    f"(\"price unknown\" where no call of the group had a price).")
    if demo:
        text.append(f"note: {demo:,} of these calls are demo data (`python -m core demo`).")
    return "\n".join(text)


def _cells(row: dict[str, Any], demo: int) -> tuple[str, ...]:
    cost = "local" if row["price"] == "local" else cost_label(row["cost"])
    cells = (str(row["key"]), f"{row['calls']:,}", f"{row['failures']:,}",
             f"{row['input_tokens']:,}", f"{row['output_tokens']:,}", cost)
    return cells + ((f"{row['demo_calls']:,}",) if demo else ())


def _align(cells: tuple[str, ...], widths: list[int]) -> str:
    first = cells[0].ljust(widths[0])
    return "  ".join([first] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:])])


def _render_csv(by: str, public: list[dict[str, Any]]) -> str:
    """One row per group; the first column is named after ``--by``; ``cost`` is empty when
    ``price`` is ``local`` or ``unknown``."""
    buffer = io.StringIO()
    fields = [by, *USAGE_FIELDS[1:], "price", "demo_calls"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in public:
        cost = "" if row["cost"] is None else f"{row['cost']:.6f}"
        writer.writerow({by: row["key"], **{k: v for k, v in row.items() if k != "key"},
                         "cost": cost})
    return buffer.getvalue()


def _render_status(info: dict[str, Any]) -> str:
    lines = []
    for key, value in info.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {name}: {count}" for name, count in value.items()]
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def _parse_day(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequestError(f"{option} takes a day as YYYY-MM-DD, not {text!r}.") from None


def _one_line(exc: Exception, ctx: CliContext) -> str:
    """The error's first line, secrets (the database password too) masked."""
    first = (str(exc).strip().splitlines() or [""])[0]
    text = first if isinstance(exc, ParleyError) else f"{type(exc).__name__}: {first}"
    return redact(text, secrets_of(ctx.settings))[:300]


def _store_failed(args, ctx: CliContext, exc: Exception) -> int:
    if getattr(args, "debug", False):
        traceback.print_exc()
    print(f"error: the call store at {safe_location(ctx.settings.database_url)} failed "
          f"({_one_line(exc, ctx)}); check PARLEY_DATABASE_URL and that the database is up.",
          file=sys.stderr)
    return 1


def _open_store(settings: StoreSettings) -> Store:
    return open_store(settings.database_url, data_dir=settings.data_dir)
