"""``python -m core prefs get|set``: a user's model choices.

``prefs get --user U [--service S] [--json]`` prints the model a call by U (for service type S)
naming no model gets, and why: ``{"user", "service", "model", "source"}`` with
source = service | user | default. ``prefs set --user U --model M [--service S] [--json]``
stores U's default (or their override for S) and prints the same shape. Both act as U in the
store (users read and write only their own). Bad input is one line on stderr, exit 2, and
nothing is changed.
"""
from __future__ import annotations

from core import preferences
from core.catalog import Catalog

__all__ = ["register", "run_prefs_get", "run_prefs_set"]


def register(commands) -> None:
    """Add ``prefs get`` and ``prefs set`` to the CLI's subparsers."""
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


def _print(answer: dict, as_json: bool) -> None:
    from core.cli import emit

    where = f" for {answer['service']}" if answer["service"] else ""
    why = {"service": f"{answer['user']}'s override{where}",
           "user": f"{answer['user']}'s default",
           "default": "parley.default_model (no stored choice applies)"}[answer["source"]]
    emit(answer, as_json, lambda a: f"{a['model']}  ({why})")
