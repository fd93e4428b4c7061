"""``models``, ``ask`` and ``compare``: the commands that list models and call them."""
from __future__ import annotations

import sys

from core.catalog import Catalog
from core.cli.context import Context, emit
from core.errors import BadRequestError
from core.identity import local_user
from core.playground.sessions import answer_stats
from core.pricing import price_kind

__all__ = ["register", "describe"]

_ATTACH_HELP = "an image (PNG, JPEG, WebP, GIF; up to 4) or a PDF to send with the prompt; repeatable"


def register(commands) -> None:
    models = commands.add_parser("models", help="configured models, prices and availability")
    models.add_argument("--json", action="store_true")
    models.set_defaults(run=run_models)

    ask = commands.add_parser("ask", help="one call, recorded")
    ask.add_argument("prompt")
    ask.add_argument("--model", help="a configured model, or 'auto' to route by the prompt's complexity")
    ask.add_argument("--user", default=local_user(), help="default: the local user")
    ask.add_argument("--service", default="default")
    ask.add_argument("--system")
    ask.add_argument("--complexity", help="simple, moderate, complex or search: use parley.routes")
    ask.add_argument("--temperature", type=float)
    ask.add_argument("--max-tokens", type=int)
    ask.add_argument("--attach", action="append", metavar="FILE", help=_ATTACH_HELP)
    ask.add_argument("--json", action="store_true")
    ask.set_defaults(run=run_ask)

    compare = commands.add_parser("compare", help="one prompt to several models, concurrently")
    compare.add_argument("prompt")
    compare.add_argument("--models", required=True, help="comma-separated model names (2 to 4)")
    compare.add_argument("--user", default=local_user(), help="default: the local user")
    compare.add_argument("--system")
    compare.add_argument("--temperature", type=float)
    compare.add_argument("--max-tokens", type=int)
    compare.add_argument("--attach", action="append", metavar="FILE", help=_ATTACH_HELP)
    compare.add_argument("--json", action="store_true")
    compare.set_defaults(run=run_compare)


def run_models(args, ctx: Context) -> int:
    entries = list(Catalog(ctx.settings))
    emit([e.to_json() for e in entries], args.json, lambda _: _models_table(entries, ctx.settings))
    return 0


def _models_table(entries, settings) -> str:
    rows = [("name", "provider", "display name", "price (in / out per 1M)", "context", "ready")]
    for e in entries:
        ready = "yes" if e.available else "no: " + "; ".join(e.missing)
        default = " *" if e.name == settings.default_model else ""
        rows.append((e.name + default, e.provider, e.display_name, e.price_label(),
                     f"{e.context_window:,}" if e.context_window else "?", ready))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines) + f"\n(* default; configuration: {settings.source})"


def run_ask(args, ctx: Context) -> int:
    options = dict(user_id=args.user, service_type=args.service, model=args.model,
                   system_prompt=args.system, complexity=args.complexity,
                   temperature=args.temperature, max_tokens=args.max_tokens,
                   attachments=_attachments(args))
    if args.json:
        emit(public_result(ctx.service.generate_sync(args.prompt, **options), ctx.service.catalog),
             True, str)
        return 0
    result = None
    for item in ctx.service.stream_sync(args.prompt, **options):
        if isinstance(item, str):
            print(item, end="", flush=True)
        else:
            result = item
    print()
    print(describe(result), file=sys.stderr)
    if result.route_reason and result.source in ("auto", "route"):
        print(f"-- {result.route_reason}", file=sys.stderr)
    return 0


def run_compare(args, ctx: Context) -> int:
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    if not 1 <= len(names) <= 4:
        raise BadRequestError("--models takes one to four comma-separated model names.")
    results = ctx.service.compare_sync(args.prompt, names, user_id=args.user,
                                       system_prompt=args.system, temperature=args.temperature,
                                       max_tokens=args.max_tokens, attachments=_attachments(args))
    emit([public_result(r, ctx.service.catalog) for r in results], args.json,
         lambda _: "\n\n".join(
             f"== {letter} · {r.model} ==\n" + (r.content + "\n" + describe(r) if r.ok
                                               else f"error: {r.error}")
             for letter, r in zip("ABCD", results)))
    return 0 if any(r.ok for r in results) else 1


def _attachments(args) -> list | None:
    """The ``--attach`` files, read and checked (``BadRequestError`` names a bad one)."""
    if not args.attach:
        return None
    from core.attachments import load_attachment

    return [load_attachment(path) for path in args.attach]


def describe(result) -> str:
    """One line: who answered (``claude via anthropic``; a name alone when the provider is the
    same word), then the answer's stats (``answer_stats``)."""
    who = result.served_by or result.model
    if result.provider and result.provider != who:
        who = f"{who} via {result.provider}"
    return f"-- {answer_stats(result, who=who)}"


def public_result(result, catalog: Catalog) -> dict:
    """``result.to_json()`` plus ``price``: ``local`` (cost null: a free local model answered),
    ``unknown`` (cost null: no price is configured) or ``known``."""
    data = result.to_json()
    served = result.served_by or result.model
    local = served in catalog.names() and catalog.get(served).is_local
    data["price"] = price_kind(data["cost"], local)
    if data["price"] == "local":
        data["cost"] = None
    return data
