"""`python -m tests.fakes [--host H] [--port P] [--ttft S] [--tokens-per-second N] [--words N]`: serve the
emulator until interrupted, printing its URL and the api_base for each protocol."""

from __future__ import annotations

import argparse
import threading

from . import ProviderEmulator, Reply


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8999, help="0 picks a free port")
    parser.add_argument("--ttft", type=float, default=0.0, help="seconds before each response")
    parser.add_argument("--tokens-per-second", type=float, default=None, help="pace of streamed pieces")
    parser.add_argument("--words", type=int, default=None,
                        help="answer with this many words (default: echo the prompt)")
    args = parser.parse_args(argv)
    emulator = ProviderEmulator(args.host, args.port).start()
    text = " ".join(f"word{i}" for i in range(args.words)) if args.words else None
    emulator.set_default("*", Reply(text=text, ttft=args.ttft, tokens_per_second=args.tokens_per_second))
    print(emulator.url, flush=True)
    print(f"  openai/<model>     api_base={emulator.openai_base}", flush=True)
    print(f"  anthropic/<model>  api_base={emulator.anthropic_base}", flush=True)
    print(f"  gemini/<model>     api_base={emulator.gemini_base}", flush=True)
    print("  images: openai/gpt-image-1 (openai api_base), gemini/imagen-* and "
          "gemini/gemini-2.5-flash-image (gemini api_base)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how this server is meant to end
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
