"""The HTTP side of the emulator: one handler serving every protocol over HTTP/1.1 keep-alive.

Non-streaming bodies carry Content-Length; streams use chunked transfer encoding, so connections
survive a stream and thousands of sequential requests reuse a few sockets. TCP_NODELAY keeps
small SSE writes from waiting on delayed ACKs.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from typing import Protocol  # noqa: E402
from urllib.parse import parse_qsl, urlsplit

from . import anthropic_wire, gemini_wire, openai_wire, responses_wire
from .extra_wire import AnthropicCountTokens, OpenAIEmbeddings, OpenAILegacyCompletions
from .images_wire import ImagenPredict, OpenAIImages
from .script import Fault, Reply, Turn, Usage, plan_turn
from .wire import Incoming, new_id

PROTOCOLS = (OpenAIImages, ImagenPredict, OpenAIEmbeddings, OpenAILegacyCompletions,
             AnthropicCountTokens, responses_wire, openai_wire, anthropic_wire, gemini_wire)
MALFORMED_JSON = b'{"id": "broken", "choices": [{"message": <html>502 Bad Gateway</html>'
MALFORMED_SSE = b'data: {"id": "broken", "choices": [<html>\n\ndata: not json at all\n\n'
DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


@dataclass
class ReceivedRequest:
    """One request as the emulator saw it, and what it answered.

    protocol: "openai" | "anthropic" | "gemini"; headers have lower-case names.
    outcome: "reply" or the fault kind. usage and text: what a reply reported and said
    (a "cut" reply records the full planned text); None for other faults.
    hung_up: the client closed the connection while the stream was being sent.
    """

    protocol: str
    path: str
    model: str
    headers: dict[str, str]
    body: dict
    stream: bool
    outcome: str = "reply"
    usage: Usage | None = None
    text: str | None = None
    hung_up: bool = False

    @property
    def temperature(self) -> float | None:
        """The sampling temperature asked for, wherever this protocol puts it (None: not sent)."""
        if self.protocol == "gemini":
            return (self.body.get("generationConfig") or {}).get("temperature")
        return self.body.get("temperature")

    @property
    def max_tokens(self) -> int | None:
        """The most output tokens asked for (OpenAI's max_completion_tokens or max_tokens, the
        Responses API's max_output_tokens, Anthropic's max_tokens, Gemini's maxOutputTokens,
        which LiteLLM sends as max_output_tokens); None: not sent."""
        fields = ((self.body.get("generationConfig") or {}) if self.protocol == "gemini" else self.body)
        for name in ("max_completion_tokens", "max_output_tokens", "maxOutputTokens", "max_tokens"):
            if fields.get(name) is not None:
                return fields[name]
        return None


class Backend(Protocol):
    """What the handler needs from the emulator."""

    stopping: threading.Event

    def next_behaviour(self, model: str) -> Reply | Fault: ...
    def record(self, request: ReceivedRequest) -> None: ...
    def track_connection(self, connection: socket.socket, open_: bool) -> None: ...
    @property
    def listed_models(self) -> list[str]: ...


class ProtocolHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each streamed piece leaves at once, as from a real provider
    server_version = "ProviderEmulator/1.0"
    sys_version = ""

    @property
    def backend(self) -> Backend:
        return self.server.emulator  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.backend.track_connection(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.backend.track_connection(self.connection, False)

    def handle(self) -> None:
        try:
            super().handle()
        except (*DISCONNECTS, TimeoutError):
            # Clients drop idle keep-alive connections and cancel streams: that is normal.
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Silent: a line per request would drown benchmark output."""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path in ("/", "/health"):
            self._send_json(200, {"status": "ok"})
        elif path.endswith("/models"):  # OpenAI-compatible servers: LM Studio, vLLM
            self._send_json(200, {"object": "list", "data": [
                {"id": name, "object": "model", "owned_by": "emulator"}
                for name in self.backend.listed_models]})
        elif path.endswith("/api/tags"):  # Ollama
            self._send_json(200, {"models": [{"name": name, "model": name}
                                             for name in self.backend.listed_models]})
        else:
            self._send_json(404, {"error": {"message": f"no route for GET {self.path}"}})

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        body = self._read_json()
        wire = next((p for p in PROTOCOLS if p.route(parts.path) is not None), None)
        if wire is None:
            self._send_json(404, {"error": {"message": f"no route for POST {parts.path}"}})
            return
        if body is None:
            self._send_json(400, {"error": {"message": "request body is not a JSON object"}})
            return
        incoming = wire.parse(parts.path, dict(parse_qsl(parts.query)), body)
        refused = getattr(wire, "refuse", lambda _body: None)(body)
        if refused is not None:  # the provider's own check of the request
            self._record(wire, incoming, body, "refused", None)
            self._send_json(refused.status, refused.body, {wire.request_id_header: new_id("req_")})
            return
        behaviour = self.backend.next_behaviour(incoming.model)
        if isinstance(behaviour, Fault):
            self._fail(wire, incoming, body, behaviour)
        else:
            self._answer(wire, incoming, body, getattr(wire, "plan", plan_turn)(behaviour, incoming))

    def _read_json(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _record(
        self, wire: Any, incoming: Incoming, body: dict, outcome: str, turn: Turn | None
    ) -> None:
        self._received = ReceivedRequest(
            protocol=wire.name,
            path=self.path,
            model=incoming.model,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            stream=incoming.stream,
            outcome=outcome,
            usage=turn.usage if turn and outcome == "reply" else None,
            text=turn.text if turn else None,
        )
        self.backend.record(self._received)

    def _answer(self, wire: Any, incoming: Incoming, body: dict, turn: Turn) -> None:
        self._record(wire, incoming, body, "reply", turn)
        if not self._pause(turn.ttft):
            return
        if incoming.stream:
            self._stream(wire, list(wire.stream_events(incoming, turn)), turn.piece_interval, complete=True)
            return
        if self._pause(turn.piece_interval * max(len(turn.pieces) - 1, 0)):
            self._send_json(200, wire.reply_body(incoming, turn), {wire.request_id_header: new_id("req_")})

    def _fail(self, wire: Any, incoming: Incoming, body: dict, fault: Fault) -> None:
        turn = (plan_turn(Reply(tokens_per_second=fault.tokens_per_second), incoming)
                if fault.kind == "cut" else None)
        self._record(wire, incoming, body, fault.kind, turn)
        if fault.kind == "hang":
            self.backend.stopping.wait(fault.max_hang)
            self._drop()
        elif not self._pause(fault.ttft):
            return
        elif fault.kind == "cut":
            self._cut(wire, incoming, turn, fault.after_pieces)
        elif fault.kind == "malformed":
            self._malformed(incoming.stream)
        else:
            error = wire.error(fault, incoming)
            headers = {wire.request_id_header: new_id("req_"), **error.headers}
            self._send_json(error.status, error.body, headers)

    def _cut(self, wire: Any, incoming: Incoming, turn: Turn, after_pieces: int) -> None:
        """Send the start of the answer, then drop the connection."""
        if not incoming.stream:
            data = json.dumps(wire.reply_body(incoming, turn)).encode()
            self._send_head(200, "application/json", {"Content-Length": str(len(data))})
            self.wfile.write(data[: len(data) // 2])
            self._drop()
            return
        events = list(wire.stream_events(incoming, turn))
        pieces_at = [index for index, (_data, is_piece) in enumerate(events) if is_piece]
        if after_pieces < len(pieces_at):
            end = pieces_at[after_pieces]
        else:
            end = pieces_at[-1] + 1 if pieces_at else 1
        self._stream(wire, events[:end], turn.piece_interval, complete=False)

    def _malformed(self, stream: bool) -> None:
        if stream:
            self._send_head(200, "text/event-stream", {"Transfer-Encoding": "chunked"})
            self._write_chunk(MALFORMED_SSE)
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._send_head(200, "application/json", {"Content-Length": str(len(MALFORMED_JSON))})
            self.wfile.write(MALFORMED_JSON)

    def _stream(
        self, wire: Any, events: Sequence[tuple[bytes, bool]], interval: float, complete: bool
    ) -> None:
        """Write SSE events as chunks, pacing text pieces; end cleanly or drop the connection."""
        headers = {"Transfer-Encoding": "chunked", "Cache-Control": "no-cache",
                   wire.request_id_header: new_id("req_")}
        self._send_head(200, "text/event-stream; charset=utf-8", headers)
        first_piece = True
        try:
            for data, is_piece in events:
                if is_piece and not first_piece and not self._pause(interval):
                    return
                first_piece = first_piece and not is_piece
                self._write_chunk(data)
        except DISCONNECTS:
            self._received.hung_up = True
            raise
        if complete:
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._drop()

    def _pause(self, seconds: float) -> bool:
        """Wait; False (and the connection dropped) if the emulator stopped meanwhile."""
        if seconds > 0 and self.backend.stopping.wait(seconds):
            self._drop()
            return False
        return True

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the peer already closed it: dropped either way

    def _send_head(self, status: int, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self._send_head(status, "application/json", {"Content-Length": str(len(data)), **(headers or {})})
        self.wfile.write(data)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
