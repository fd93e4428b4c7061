"""The providers' routes beyond chat: OpenAI `POST /v1/embeddings` and legacy
`POST /v1/completions`, and Anthropic `POST /v1/messages/count_tokens`.

Embeddings are deterministic: each input's vector (`dimensions` long, default
EMBEDDING_DIMENSIONS) comes from its SHA-256, so the same text always embeds the same; usage is
the inputs' words. A legacy completion answers the prompt as a chat answer would (`text`),
streamed as `text_completion` chunks ending with `data: [DONE]`. count_tokens counts what a
message would bill as input.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Iterator

from . import anthropic_wire, openai_wire
from .script import Fault, Reply, Turn, Usage, count_input_tokens
from .wire import ErrorResponse, Incoming, new_id, sse

EMBEDDING_DIMENSIONS = 8


def _no_stream(incoming: Incoming, turn: Turn) -> Iterator[tuple[bytes, bool]]:
    raise ValueError("this route does not stream")


def vector_of(text: str, dimensions: int) -> list[float]:
    """The emulator's embedding of ``text``: values in [-1, 1] from its hash."""
    digest = b""
    while len(digest) < 4 * dimensions:
        digest += hashlib.sha256(text.encode() + len(digest).to_bytes(4, "big")).digest()
    return [round(v / 2**31, 6) for v in struct.unpack(f">{dimensions}i", digest[:4 * dimensions])]


class OpenAIEmbeddings:
    """`POST /v1/embeddings`: body {model, input: text | [text], dimensions?}."""

    name = "openai"
    request_id_header = openai_wire.request_id_header
    stream_events = staticmethod(_no_stream)

    @staticmethod
    def route(path: str) -> str | None:
        return "" if path.rstrip("/").endswith("/embeddings") else None

    @staticmethod
    def parse(path: str, query: dict[str, str], body: dict) -> Incoming:
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs or []]
        return Incoming(model=str(body.get("model", "")), stream=False,
                        messages=[("user", t) for t in texts],
                        options={"dimensions": int(body.get("dimensions") or EMBEDDING_DIMENSIONS)})

    @staticmethod
    def plan(reply: Reply, incoming: Incoming) -> Turn:
        tokens = count_input_tokens(incoming.messages) if reply.input_tokens is None else reply.input_tokens
        return Turn((), Usage(tokens, 0), "stop", reply.ttft, 0.0)

    @staticmethod
    def reply_body(incoming: Incoming, turn: Turn) -> dict:
        size = incoming.options["dimensions"]
        data = [{"object": "embedding", "index": i, "embedding": vector_of(text, size)}
                for i, (_role, text) in enumerate(incoming.messages)]
        return {"object": "list", "data": data, "model": incoming.model,
                "usage": {"prompt_tokens": turn.usage.input_tokens,
                          "total_tokens": turn.usage.input_tokens}}

    @staticmethod
    def error(fault: Fault, incoming: Incoming) -> ErrorResponse:
        return openai_wire.error(fault, incoming)


class OpenAILegacyCompletions:
    """`POST /v1/completions`: body {model, prompt, max_tokens?, stream?}."""

    name = "openai"
    request_id_header = openai_wire.request_id_header

    @staticmethod
    def route(path: str) -> str | None:
        path = path.rstrip("/")
        return "" if path.endswith("/completions") and not path.endswith("/chat/completions") else None

    @staticmethod
    def parse(path: str, query: dict[str, str], body: dict) -> Incoming:
        prompt = body.get("prompt")
        text = prompt if isinstance(prompt, str) else " ".join(map(str, prompt or []))
        return Incoming(model=str(body.get("model", "")), stream=bool(body.get("stream")),
                        messages=[("user", text)])

    @staticmethod
    def _body(incoming: Incoming, text: str, finish: str | None, usage: dict | None) -> dict:
        body = {"id": new_id("cmpl-"), "object": "text_completion", "created": int(time.time()),
                "model": incoming.model,
                "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}]}
        return {**body, "usage": usage} if usage else body

    @staticmethod
    def _usage(turn: Turn) -> dict:
        return {"prompt_tokens": turn.usage.input_tokens, "completion_tokens": turn.usage.output_tokens,
                "total_tokens": turn.usage.total_tokens}

    @classmethod
    def reply_body(cls, incoming: Incoming, turn: Turn) -> dict:
        return cls._body(incoming, turn.text, openai_wire.FINISH.get(turn.finish_reason, "stop"),
                         cls._usage(turn))

    @classmethod
    def stream_events(cls, incoming: Incoming, turn: Turn) -> Iterator[tuple[bytes, bool]]:
        for piece in turn.pieces:
            yield sse(cls._body(incoming, piece, None, None)), True
        yield sse(cls._body(incoming, "", openai_wire.FINISH.get(turn.finish_reason, "stop"),
                            cls._usage(turn))), False
        yield b"data: [DONE]\n\n", False

    @staticmethod
    def error(fault: Fault, incoming: Incoming) -> ErrorResponse:
        return openai_wire.error(fault, incoming)


class AnthropicCountTokens:
    """`POST /v1/messages/count_tokens`: a messages body without max_tokens -> {input_tokens}."""

    name = "anthropic"
    request_id_header = anthropic_wire.request_id_header
    stream_events = staticmethod(_no_stream)

    @staticmethod
    def route(path: str) -> str | None:
        return "" if path.rstrip("/").endswith("/v1/messages/count_tokens") else None

    @staticmethod
    def parse(path: str, query: dict[str, str], body: dict) -> Incoming:
        return anthropic_wire.parse(path, query, {**body, "stream": False})

    @staticmethod
    def plan(reply: Reply, incoming: Incoming) -> Turn:
        tokens = count_input_tokens(incoming.messages) if reply.input_tokens is None else reply.input_tokens
        return Turn((), Usage(tokens, 0), "stop", reply.ttft, 0.0)

    @staticmethod
    def reply_body(incoming: Incoming, turn: Turn) -> dict:
        return {"input_tokens": turn.usage.input_tokens}

    @staticmethod
    def error(fault: Fault, incoming: Incoming) -> ErrorResponse:
        return anthropic_wire.error(fault, incoming)
