"""``python -m core usage [--by user|model|provider|service|day|client]``: the spend report,
read from the rollups (``--by client`` from the call log), as a table with a total, ``--json``
or ``--csv``. An error is one line on stderr and a non-zero exit (1: the store failed; 2: bad
input)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from core.cli.store import CliContext, spool_dir, store_failed
from core.errors import BadRequestError, ParleyError
from core.pricing import cost_label, price_kind
from core.recording.spool import backlog
from core.store.base import USAGE_DIMENSIONS, USAGE_FIELDS

__all__ = ["register", "run_usage"]


def register(subparsers) -> None:
    """Add ``usage`` to an argparse subparsers object."""
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
        return store_failed(args, ctx, exc)
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
        return store_failed(args, ctx, exc)
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


def _parse_day(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequestError(f"{option} takes a day as YYYY-MM-DD, not {text!r}.") from None
