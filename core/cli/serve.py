"""``python -m core serve [--host H] [--port P] [--workers N]``: the HTTP API alone, under
uvicorn (core/api/serve.py). Inside Streamlit, ``scripts/app`` serves it on the UI's port."""
from __future__ import annotations

__all__ = ["register"]


def register(commands) -> None:
    serve = commands.add_parser("serve", help="the HTTP API alone, under uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=run_serve)


def run_serve(args, ctx) -> int:
    from core.api.serve import run
    from core.errors import BadRequestError

    if not 1 <= args.workers <= 64:
        raise BadRequestError("--workers must be from 1 to 64.")
    run(args.host, args.port, args.workers)
    return 0
