"""``python -m core prices list|history MODEL|set MODEL ...``: the dated price book.

Prices are shown and set in USD per 1M tokens, for each token class (input, output, cache read,
cache write, reasoning, image). ``set`` adds a manual entry, in force from ``--from`` (default:
now); it prices calls made from then on and never changes a recorded cost.
"""
from __future__ import annotations

import datetime as dt

from core.catalog import Catalog
from core.cli.context import emit
from core.errors import BadRequestError
from core.price_book import CLASSES, PriceBook, current_entry, public_entry

__all__ = ["register"]

_FLAGS = {"input": "--input", "output": "--output", "cache_read": "--cache-read",
          "cache_write": "--cache-write", "reasoning": "--reasoning", "image": "--image"}


def register(subparsers) -> None:
    prices = subparsers.add_parser("prices", help="the dated price book ($ per 1M tokens)")
    actions = prices.add_subparsers(dest="prices_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the price in force for every model")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_list)
    history = actions.add_parser("history", help="every price a model has had")
    history.add_argument("model")
    history.add_argument("--json", action="store_true")
    history.set_defaults(run=run_history)
    setting = actions.add_parser("set", help="a new price for a model, from now or --from")
    setting.add_argument("model")
    for name, flag in _FLAGS.items():
        setting.add_argument(flag, dest=name, type=float, required=name in ("input", "output"),
                             help=f"{name.replace('_', ' ')} price, $ per 1M tokens")
    setting.add_argument("--from", dest="valid_from", help="YYYY-MM-DD or ISO time (UTC)")
    setting.add_argument("--user", help="who sets it (recorded in the audit log)")
    setting.add_argument("--json", action="store_true")
    setting.set_defaults(run=run_set)


def _book(ctx) -> PriceBook:
    store = ctx.store()
    return PriceBook(lambda: store, Catalog(ctx.settings))


def run_list(args, ctx) -> int:
    by_model: dict[str, list] = {}
    for entry in _book(ctx).entries():
        by_model.setdefault(entry["model"], []).append(entry)
    rows = [public_entry(current) for entries in by_model.values()
            if (current := current_entry(entries)) is not None]
    if not rows and not args.json:
        print("The price book is empty: run `python -m core db upgrade` to seed it.")
        return 0
    emit(rows, args.json, _table)
    return 0


def run_history(args, ctx) -> int:
    rows = [public_entry(entry) for entry in _book(ctx).entries(args.model)]
    if not rows:
        raise BadRequestError(f"The price book has no entry for {args.model!r}; "
                              "see `python -m core prices list`.")
    emit(rows, args.json, _table)
    return 0


def run_set(args, ctx) -> int:
    valid_from = _moment(args.valid_from) if args.valid_from else None
    entry = _book(ctx).set_price(args.model, {c: getattr(args, c) for c in CLASSES},
                                 valid_from=valid_from, actor=args.user)
    emit(public_entry(entry), args.json, lambda row: _table([row]))
    return 0


def _moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequestError(f"--from {text!r} is not a date; use YYYY-MM-DD.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _table(rows: list[dict]) -> str:
    head = f"{'model':<16} {'from':<26} {'source':<10} " + " ".join(f"{c:>11}" for c in CLASSES)
    cells = [head] + [f"{r['model']:<16} {r['valid_from'][:25]:<26} {r['source']:<10} "
                      + " ".join(f"{'-' if r[c] is None else f'${r[c]:g}':>11}" for c in CLASSES)
                      for r in rows]
    return "\n".join(cells)
