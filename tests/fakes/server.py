"""The provider emulator: one local HTTP server speaking OpenAI, Anthropic and Gemini.

    emu = ProviderEmulator().start()          # 127.0.0.1, a free port, a daemon thread
    emu.enqueue("gpt-4o-mini", Reply("Hi"), Fault("429", retry_after=2))
    litellm.completion("openai/gpt-4o-mini", messages, api_base=emu.openai_base, api_key="x")
    emu.requests[-1].usage                    # exactly what the server reported

Behaviour is chosen per request by the provider's model id: the model's FIFO queue first, then
its sticky default (`set_default`), then the default for "*", then `Reply()` (an echo). Every
request is recorded, with the usage it was billed, before its response is written.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

from .handler import ProtocolHandler, ReceivedRequest
from .script import Fault, Reply

ANY_MODEL = "*"
SHUTDOWN_POLL_SECONDS = 0.1


@dataclass
class _Script:
    queues: dict[str, list[Reply | Fault]] = field(default_factory=dict)
    defaults: dict[str, Reply | Fault] = field(default_factory=dict)
    requests: list[ReceivedRequest] = field(default_factory=list)
    listed_models: list[str] = field(default_factory=list)


class ProviderEmulator:
    """A scriptable fake of the providers' HTTP APIs; also a context manager (start/stop)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._lock = threading.Lock()
        self._script = _Script()
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ProviderEmulator:
        """Bind and serve on a daemon thread; returns self."""
        self.stopping.clear()
        self._server = _Server(self._address, ProtocolHandler)
        self._server.emulator = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,),
            name="provider-emulator", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: ends hanging requests, closes open connections, frees the port."""
        if self._server is None:
            return
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            _shutdown_quietly(connection)
        self._server = None

    def __enter__(self) -> ProviderEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_base(self) -> str:
        """api_base for LiteLLM `openai/<model>`."""
        return self.url + "/v1"

    @property
    def anthropic_base(self) -> str:
        """api_base for LiteLLM `anthropic/<model>` (LiteLLM appends /v1/messages)."""
        return self.url

    @property
    def gemini_base(self) -> str:
        """api_base for LiteLLM `gemini/<model>` (LiteLLM appends /models/<model>:<endpoint>)."""
        return self.url + "/v1beta"

    def enqueue(self, model: str, *behaviours: Reply | Fault) -> None:
        """Queue behaviours for the next requests naming `model` ("*": any model), in order."""
        with self._lock:
            self._script.queues.setdefault(model, []).extend(behaviours)

    def set_default(self, model: str, behaviour: Reply | Fault) -> None:
        """What `model` ("*": any model) does whenever its queue is empty."""
        with self._lock:
            self._script.defaults[model] = behaviour

    def list_models(self, *names: str) -> None:
        """The model ids a model-list request reports (`GET /v1/models`, Ollama's `GET /api/tags`)."""
        with self._lock:
            self._script.listed_models = list(names)

    @property
    def listed_models(self) -> list[str]:
        with self._lock:
            return list(self._script.listed_models)

    def reset(self) -> None:
        """Forget queues, defaults and recorded requests."""
        with self._lock:
            self._script = _Script()

    @property
    def requests(self) -> list[ReceivedRequest]:
        """A snapshot of the requests received so far, oldest first."""
        with self._lock:
            return list(self._script.requests)

    def next_behaviour(self, model: str) -> Reply | Fault:
        """Pop the behaviour for one request naming `model` (part of the handler's Backend)."""
        with self._lock:
            for key in (model, ANY_MODEL):
                queue = self._script.queues.get(key)
                if queue:
                    return queue.pop(0)
            return self._script.defaults.get(model) or self._script.defaults.get(ANY_MODEL) or Reply()

    def record(self, request: ReceivedRequest) -> None:
        """Append a received request to `requests` (part of the handler's Backend)."""
        with self._lock:
            self._script.requests.append(request)

    def track_connection(self, connection: socket.socket, open_: bool) -> None:
        """Note a connection opening or closing, so `stop` can end idle keep-alive ones."""
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    emulator: ProviderEmulator


def _shutdown_quietly(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the peer: nothing left to end

