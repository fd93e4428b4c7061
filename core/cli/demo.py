"""``python -m core demo --calls N``: fill the configured store with N synthetic calls.

Every row is marked ``is_demo``; the cost console labels them as demo data and budgets
ignore them. ``register(subparsers)`` adds the command to the CLI.
"""
from __future__ import annotations

import json

from core.catalog import Catalog
from core.console.demo import MAX_CALLS, fill_demo
from core.errors import BadRequestError
from core.identity import local_user

__all__ = ["register", "run_demo"]


def register(subparsers) -> None:
    demo = subparsers.add_parser("demo", help="fill the store with synthetic calls marked as demo data")
    demo.add_argument("--calls", type=int, default=10_000, help="how many calls (default 10000)")
    demo.add_argument("--days", type=int, default=120,
                      help="spread them over this many days up to today (default 120)")
    demo.add_argument("--seed", type=int, help="random seed, for the same data twice")
    demo.add_argument("--user", help="also write calls as this user (default: you, as the app's "
                                     "local mode names you: $PARLEY_USER or your login)")
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(run=run_demo)


def run_demo(args, ctx) -> int:
    if not 1 <= args.calls <= MAX_CALLS:
        raise BadRequestError(f"--calls must be from 1 to {MAX_CALLS:,}, not {args.calls}.")
    settings = ctx.settings
    store = ctx.store()
    summary = fill_demo(store, args.calls, Catalog(settings), settings.service_types,
                        days=args.days, seed=args.seed, me=args.user or local_user())
    location = getattr(store, "location", None) or getattr(store, "path", "")
    if args.json:
        print(json.dumps({"calls": summary.calls, "first_day": summary.first_day.isoformat(),
                          "last_day": summary.last_day.isoformat(),
                          "seconds": round(summary.seconds, 2), "backend": store.backend}))
    else:
        print(f"wrote {summary.calls:,} demo calls ({summary.first_day} to {summary.last_day}) "
              f"to the {store.backend} store at {location} in {summary.seconds:.1f} s")
    return 0
