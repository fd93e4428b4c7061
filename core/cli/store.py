"""``python -m core db upgrade|status|flush|verify`` (``usage`` is core/cli/usage.py).

``register(subparsers)`` adds the commands to the CLI's argparse subparsers. Each command is
``run_*(args, ctx) -> exit code`` with ``ctx`` a ``CliContext``; ``StoreContext`` is one built
from settings alone. Output is a table or ``--json``; an error is
one line on stderr and a non-zero exit (1: the store failed; 2: bad input).
"""
from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Protocol
from urllib.parse import unquote, urlsplit

from core.errors import ParleyError, redact
from core.recording.recorder import Recorder, spool_dir_for
from core.recording.spool import backlog, rejected
from core.identity import sync_admins
from core.keys import sync_key_policy
from core.store import open_store  # the backends load their drivers only on use
from core.store.postgres import safe_location as postgres_location  # psycopg loads on connect
from core.store.base import Store

__all__ = ["register", "CliContext", "StoreContext", "run_db_upgrade", "run_db_status",
           "run_db_flush", "run_db_verify", "store_failed", "secrets_of"]


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
    """Add ``db`` (upgrade, status, flush, verify) to an argparse subparsers object."""
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
        return store_failed(args, ctx, exc)
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


def _render_status(info: dict[str, Any]) -> str:
    lines = []
    for key, value in info.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {name}: {count}" for name, count in value.items()]
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def _one_line(exc: Exception, ctx: CliContext) -> str:
    """The error's first line, secrets (the database password too) masked."""
    first = (str(exc).strip().splitlines() or [""])[0]
    text = first if isinstance(exc, ParleyError) else f"{type(exc).__name__}: {first}"
    return redact(text, secrets_of(ctx.settings))[:300]


def store_failed(args, ctx: CliContext, exc: Exception) -> int:
    if getattr(args, "debug", False):
        traceback.print_exc()
    print(f"error: the call store at {safe_location(ctx.settings.database_url)} failed "
          f"({_one_line(exc, ctx)}); check PARLEY_DATABASE_URL and that the database is up.",
          file=sys.stderr)
    return 1


def _open_store(settings: StoreSettings) -> Store:
    return open_store(settings.database_url, data_dir=settings.data_dir)
