"""``python -m core prefs get|set|clear``: a user's model choices.

``prefs get --user U [--service S] [--json]`` prints the model a call by U (for service type S)
naming no model gets, and why: ``{"user", "service", "model", "source"}`` with
source = service | everyone | user | default. ``prefs set --user U --model M [--service S] [--json]``
stores U's default (or their override for S) and prints the same shape.
``prefs clear --user U [--service S] [--json]`` removes U's override for S (without --service:
U's default) so calls fall back to the next level, and prints what now applies, with
``"cleared"`` = whether a stored choice was removed (clearing nothing is not an error). All act
as U in the store (users read and write only their own). Bad input is one line on stderr,
exit 2, and nothing is changed.
"""
from __future__ import annotations

from core.catalog import Catalog
from core.cli.context import emit
from core.routing import preferences

__all__ = ["register", "run_prefs_get", "run_prefs_set", "run_prefs_clear"]


def register(commands) -> None:
    """Add ``prefs get``, ``prefs set`` and ``prefs clear`` to the CLI's subparsers."""
    prefs = commands.add_parser("prefs", help="a user's default model and per-service overrides")
    actions = prefs.add_subparsers(dest="prefs_command", required=True, metavar="ACTION")

    get = actions.add_parser("get", help="the model a call naming none would use, and why")
    get.add_argument("--user", required=True)
    get.add_argument("--service", help="a service type (parley.service_types)")
    get.add_argument("--json", action="store_true")
    get.set_defaults(run=run_prefs_get)

    put = actions.add_parser("set", help="store a user's default model, or a service override")
    put.add_argument("--user", required=True)
    put.add_argument("--model", required=True)
    put.add_argument("--service", help="override only for this service type")
    put.add_argument("--json", action="store_true")
    put.set_defaults(run=run_prefs_set)

    clear = actions.add_parser("clear", help="remove a user's default model, or a service override")
    clear.add_argument("--user", required=True)
    clear.add_argument("--service", help="remove only the override for this service type")
    clear.add_argument("--json", action="store_true")
    clear.set_defaults(run=run_prefs_clear)


def run_prefs_get(args, ctx) -> int:
    catalog = Catalog(ctx.settings)
    answer = preferences.resolved(ctx.store(), ctx.settings, catalog, args.user, args.service)
    _print(answer, args.json)
    return 0


def run_prefs_set(args, ctx) -> int:
    catalog = Catalog(ctx.settings)
    preferences.check(catalog, args.user, args.model, args.service)  # before opening the store
    store = ctx.store()
    preferences.save(store, catalog, args.user, args.model, args.service)
    _print(preferences.resolved(store, ctx.settings, catalog, args.user, args.service), args.json)
    return 0


def run_prefs_clear(args, ctx) -> int:
    catalog = Catalog(ctx.settings)
    preferences.check_user(args.user)  # before opening the store
    preferences.check_service(ctx.settings, args.service)
    store = ctx.store()
    cleared = preferences.clear(store, ctx.settings, args.user, args.service)
    answer = preferences.resolved(store, ctx.settings, catalog, args.user, args.service)
    where = f"override for {args.service}" if args.service else "default"
    head = (f"Removed {args.user}'s {where}; now " if cleared
            else f"{args.user} had no {where} stored; still ")
    _print({**answer, "cleared": cleared}, args.json, prefix=head)
    return 0


def _print(answer: dict, as_json: bool, prefix: str = "") -> None:

    where = f" for {answer['service']}" if answer["service"] else ""
    why = {"service": f"{answer['user']}'s override{where}",
           "everyone": f"the override{where} set for everyone",
           "user": f"{answer['user']}'s default",
           "default": "parley.default_model: no stored choice applies"}[answer["source"]]
    emit(answer, as_json, lambda a: f"{prefix}{a['model']} ({why})")
