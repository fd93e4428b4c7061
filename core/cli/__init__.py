"""``python -m core``: one module per command family, each with ``register(subparsers)``.

Every command takes ``--json``. Errors print one line to stderr and exit non-zero (2: bad input
or config; 1: the call failed); ``--debug`` shows the traceback as well. A ``--user`` is
trimmed and lower-cased, the spelling the app gives a signed-in user, so ``--user
Ann@Example.com`` and the app's ann@example.com are one user. A new family is a module here
with ``register``, added to ``FAMILIES``.
"""
from __future__ import annotations

import argparse
import sys
import traceback

from core.cli import asking, audit, demo, evals, keys, prefs, prices, reconcile, serve, store, usage
from core.cli.context import Context
from core.errors import BadRequestError, ConfigError, ParleyError
from core.identity import normalise_user

__all__ = ["main", "build_parser", "FAMILIES"]

FAMILIES = (asking, prefs, store, usage, demo, evals, keys, serve, prices, reconcile, audit)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Parley: one prompt, many models.")
    parser.add_argument("--config", help="path of parley.yaml (default: $PARLEY_CONFIG or ./parley.yaml)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for family in FAMILIES:
        family.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "user", None):  # one spelling of a user id, as the app signs users in
        args.user = normalise_user(args.user)
    ctx = Context(args)
    try:
        return int(args.run(args, ctx) or 0)
    except ParleyError as err:
        if args.debug:
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return 2 if isinstance(err, (BadRequestError, ConfigError)) else 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    finally:
        ctx.close()
