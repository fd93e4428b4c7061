"""``python -m core keys create|list|revoke``: API keys for the HTTP API (core/api).

``keys create --user U [--service S] [--budget USD] [--models a,b] [--rate-limit N]
[--expires D] [--name TEXT]`` prints the secret once (it is not stored; only its SHA-256 and
prefix are). ``keys list [--user U]`` shows keys without secrets; ``keys revoke PREFIX``
revokes one. ``serve`` runs the HTTP API alone under uvicorn.
"""
from __future__ import annotations

import getpass

__all__ = ["register"]


def register(commands) -> None:
    keys = commands.add_parser("keys", help="API keys for the HTTP API")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a key (the secret is printed once)")
    create.add_argument("--user", required=True, help="the user the key's calls belong to")
    create.add_argument("--service", help="fix the key to one service type")
    create.add_argument("--budget", type=float, help="monthly budget in USD")
    create.add_argument("--models", help="comma-separated models the key may use (default: any)")
    create.add_argument("--rate-limit", type=int, help="calls per minute")
    create.add_argument("--expires", help="2026-12-31, an ISO time, or 30d")
    create.add_argument("--name", default="", help="a label to recognise the key by")
    create.add_argument("--json", action="store_true")
    create.set_defaults(run=run_keys_create)
    listing = actions.add_parser("list", help="keys, without secrets")
    listing.add_argument("--user", help="only this user's keys")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_keys_list)
    revoke = actions.add_parser("revoke", help="revoke a key by its prefix")
    revoke.add_argument("prefix")
    revoke.add_argument("--json", action="store_true")
    revoke.set_defaults(run=run_keys_revoke)


def _ring(ctx):
    return ctx.keyring


def run_keys_create(args, ctx) -> int:
    from core.catalog import Catalog
    from core.cli.context import emit
    from core.routing import preferences

    catalog = Catalog(ctx.settings)
    preferences.check_service(ctx.settings, args.service)
    models = args.models.split(",") if args.models is not None else None
    secret, key = _ring(ctx).create(args.user, created_by=f"cli:{_login()}", catalog=catalog,
                                    name=args.name, service_type=args.service, models=models,
                                    budget=args.budget, rate_limit=args.rate_limit,
                                    expires=args.expires)
    emit({**key.to_json(), "secret": secret}, args.json,
         lambda k: f"{k['secret']}\nKey {k['prefix']} for {k['user']} made. This is the only "
                   "time the secret is shown: store it now.")
    return 0


def run_keys_list(args, ctx) -> int:
    from core.cli.context import emit

    rows = [key.to_json() for key in _ring(ctx).list(args.user)]

    def text(items):
        if not items:
            return "No keys."
        return "\n".join(f"{k['prefix']}  {k['user']:<24} {k['status']:<8} "
                         f"service={k['service_type'] or '-'} models={','.join(k['models'] or ['any'])} "
                         f"budget={'-' if k['monthly_budget'] is None else k['monthly_budget']} "
                         f"expires={k['expires_at'] or 'never'}" for k in items)

    emit(rows, args.json, text)
    return 0


def run_keys_revoke(args, ctx) -> int:
    from core.cli.context import emit

    done = _ring(ctx).revoke(args.prefix)
    emit(done, args.json, lambda d: f"Key {d['prefix']} of {d['user_id']} is revoked.")
    return 0


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
