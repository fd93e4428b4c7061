"""``python -m core reconcile import FILE --provider P`` and ``reconcile show [--since D]``:
the provider's own bill against the recorded cost, per day x model
(``core/console/reconcile.py``; the export shapes are in ``core/console/bills.py``)."""
from __future__ import annotations

import datetime as dt

from core.cli.context import emit
from core.console.bills import PROVIDERS
from core.console.reconcile import import_bill, reconcile
from core.errors import BadRequestError
from core.pricing import money

__all__ = ["register"]


def register(subparsers) -> None:
    rec = subparsers.add_parser("reconcile", help="the provider's bill against the recorded cost")
    actions = rec.add_subparsers(dest="reconcile_command", required=True, metavar="ACTION")
    imp = actions.add_parser("import", help="read a provider's cost export")
    imp.add_argument("file")
    imp.add_argument("--provider", required=True, choices=PROVIDERS)
    imp.add_argument("--user", help="who imports it (recorded in the audit log)")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(run=run_import)
    show = actions.add_parser("show", help="billed vs recorded per day x model")
    show.add_argument("--since", help="first day, YYYY-MM-DD (inclusive)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=run_show)


def run_import(args, ctx) -> int:
    summary = import_bill(ctx.store(), args.file, args.provider, actor=args.user)
    emit(summary, args.json, lambda s: f"imported {s['lines']} {s['provider']} cost line(s) "
                                       f"({money(s['billed'])} billed) for {', '.join(s['days'])}")
    return 0


def run_show(args, ctx) -> int:
    since = None
    if args.since:
        try:
            since = dt.date.fromisoformat(args.since)
        except ValueError:
            raise BadRequestError(f"--since {args.since!r} is not a date; use YYYY-MM-DD.") from None
    rows = reconcile(ctx.store(), since)
    emit(rows, args.json, _table)
    return 0


def _table(rows: list[dict]) -> str:
    if not rows:
        return "No provider bill is imported yet: `python -m core reconcile import FILE --provider P`."
    lines = [f"{'day':<11} {'provider':<11} {'model':<28} {'billed':>10} {'recorded':>10} "
             f"{'difference':>11} {'%':>8}  billed by class"]
    for r in rows:
        pct = "-" if r["percent"] is None else f"{r['percent']:.1f}"
        classes = ", ".join(f"{k} {money(v)}" for k, v in sorted(r["billed_classes"].items()))
        lines.append(f"{r['day']:<11} {r['provider']:<11} {r['model'][:28]:<28} "
                     f"{money(r['billed']):>10} {money(r['recorded']):>10} "
                     f"{money(r['difference']):>11} {pct:>8}  {classes}")
    return "\n".join(lines)
