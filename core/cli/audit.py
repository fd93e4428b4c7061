"""``python -m core audit [--since D] [--action A] [--actor U]``: the audit log, newest first.

Each entry: when, who, what (a dotted action, see ``core/audit.py``), on what, and the value
before and after. ``--action keys.`` shows every key action.
"""
from __future__ import annotations

import json

from core.audit import audit_entries
from core.cli.context import emit

__all__ = ["register"]


def register(subparsers) -> None:
    audit = subparsers.add_parser("audit", help="the audit log of admin actions")
    audit.add_argument("--since", help="first day, YYYY-MM-DD (inclusive)")
    audit.add_argument("--action", help="one action or a family (keys.)")
    audit.add_argument("--actor", help="only this user's actions")
    audit.add_argument("--limit", type=int, default=200)
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(run=run_audit)


def run_audit(args, ctx) -> int:
    rows = audit_entries(ctx.store(), since=args.since, action=args.action, actor=args.actor,
                         limit=max(1, args.limit))
    emit(rows, args.json, _table)
    return 0


def _table(rows: list[dict]) -> str:
    if not rows:
        return "The audit log has no entries for this filter."

    def short(value) -> str:
        text = "-" if value is None else json.dumps(value, default=str, sort_keys=True)
        return text if len(text) <= 60 else text[:57] + "..."

    lines = [f"{'when':<20} {'who':<22} {'action':<28} {'target':<20} before -> after"]
    lines += [f"{r['created_at'][:19]:<20} {r['actor'][:22]:<22} {r['action']:<28} "
              f"{r['target'][:20]:<20} {short(r['before'])} -> {short(r['after'])}" for r in rows]
    return "\n".join(lines)
