"""``python -m core``: models, ask, compare, prefs, usage, db, demo. Every command takes ``--json``.

Errors print one line to stderr and exit non-zero (2: bad input or config; 1: the call
failed); ``--debug`` shows the traceback as well.
"""
from __future__ import annotations

import argparse
import json
import sys
import traceback
from typing import Any, Callable

from core.errors import BadRequestError, ConfigError, ParleyError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Parley: one prompt, many models.")
    parser.add_argument("--config", help="path of parley.yaml (default: $PARLEY_CONFIG or ./parley.yaml)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = commands.add_parser("models", help="configured models, prices and availability")
    models.add_argument("--json", action="store_true")
    models.set_defaults(run=run_models)

    ask = commands.add_parser("ask", help="one call, recorded")
    ask.add_argument("prompt")
    ask.add_argument("--model", help="a configured model, or 'auto' to route by the prompt's complexity")
    ask.add_argument("--user", default="cli")
    ask.add_argument("--service", default="default")
    ask.add_argument("--system")
    ask.add_argument("--complexity", help="simple, moderate, complex or search: use parley.routes")
    ask.add_argument("--temperature", type=float)
    ask.add_argument("--max-tokens", type=int)
    ask.add_argument("--json", action="store_true")
    ask.set_defaults(run=run_ask)

    compare = commands.add_parser("compare", help="one prompt to several models, concurrently")
    compare.add_argument("prompt")
    compare.add_argument("--models", required=True, help="comma-separated model names (2 to 4)")
    compare.add_argument("--user", default="cli")
    compare.add_argument("--system")
    compare.add_argument("--temperature", type=float)
    compare.add_argument("--max-tokens", type=int)
    compare.add_argument("--json", action="store_true")
    compare.set_defaults(run=run_compare)
    _register_optional(commands)
    return parser


def _register_optional(commands) -> None:
    """Commands that live in their own modules (store, preferences, demo data)."""
    import importlib

    for module in ("core.cli_store", "core.cli_prefs", "core.cli_demo", "core.cli_api"):
        try:
            importlib.import_module(module).register(commands)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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


class Context:
    """What commands share: settings and the service, each built on first use."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self._service = None
        self._settings = None
        self._stores = None

    @property
    def settings(self):
        if self._settings is None:
            from core.config import load_settings
            self._settings = load_settings(self.args.config)
        return self._settings

    @property
    def service(self):
        if self._service is None:
            from core.service import AIService
            self._service = AIService.from_env(config=self.args.config)
            self._settings = self._service.settings
        return self._service

    def store(self):
        """The configured store (for the db, usage and prefs commands)."""
        return self._store_context().store()

    def recorder(self):
        """The service's recorder when a call was made, else one for the backlog commands."""
        if self._service is not None and self._service.recorder is not None:
            return self._service.recorder
        return self._store_context().recorder()

    def _store_context(self):
        if self._stores is None:
            from core.cli_store import StoreContext
            self._stores = StoreContext(self.settings)
        return self._stores

    def close(self) -> None:
        if self._service is not None:
            self._service.close()
        if self._stores is not None:
            self._stores.close()


def emit(data: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    print(json.dumps(data, indent=2, default=str) if as_json else render(data))


def run_models(args, ctx: Context) -> int:
    from core.catalog import Catalog

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
                   temperature=args.temperature, max_tokens=args.max_tokens)
    if args.json:
        emit(ctx.service.generate_sync(args.prompt, **options).to_json(), True, str)
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
                                       max_tokens=args.max_tokens)
    emit([r.to_json() for r in results], args.json, lambda _: "\n\n".join(
        f"== {r.model} ==\n" + (r.content + "\n" + describe(r) if r.ok else f"error: {r.error}")
        for r in results))
    return 0 if any(r.ok for r in results) else 1


def describe(result) -> str:
    """One line: who answered, tokens, cost, time."""
    cost = "price unknown" if result.cost is None else f"${result.cost:.6f}"
    if result.provider == "local" and not result.cost:
        cost = "local"
    estimated = " (estimated)" if result.tokens_estimated else ""
    ttft = f", first token {result.ttft_ms:.0f} ms" if result.ttft_ms is not None else ""
    served = (f" · fallback: answered by {result.served_by} instead of {result.model}"
              if result.fallback_used else "")
    return (f"-- {result.served_by or result.model} ({result.provider}) · {result.input_tokens} in / "
            f"{result.output_tokens} out tokens{estimated} · {cost} · "
            f"{result.response_time_ms:.0f} ms{ttft}{served}")
