"""Every recorded call as an OpenTelemetry span and as Prometheus metrics: the only home of
opentelemetry and prometheus_client.

    telemetry = Telemetry.from_env(os.environ, privacy="hash")
    telemetry.observe(record)          # the recorder calls it for each record it keeps
    telemetry.metrics_text()           # GET /metrics
    telemetry.close()                  # export what is queued, then stop

Spans are exported only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set and ``OTEL_SDK_DISABLED`` is not ``true``; the
exporter reads the standard variables itself (endpoint, headers, timeout; http/protobuf). A
``BatchSpanProcessor`` exports on its own thread, so ``observe`` never waits on the network.
One span per attempt (a fallback is its own span, marked ``parley.fallback``), named
``chat <model>`` with the GenAI semantic conventions (``gen_ai.system``,
``gen_ai.operation.name``, ``gen_ai.request.model``, ``gen_ai.response.model``,
``gen_ai.usage.input_tokens``/``output_tokens``) and Parley's ``parley.cost_usd``,
``parley.call_id``, ``parley.user`` (a SHA-256 prefix unless ``parley.privacy`` is ``store``),
``parley.service_type``, ``parley.route`` and ``parley.fallback``. Its parent is the caller's
W3C ``traceparent`` when the record's metadata carries one (the HTTP API puts it there).

Metrics (own registry, one per ``Telemetry``): ``parley_calls_total``,
``parley_errors_total``, ``parley_tokens_total`` (``type`` = input | output),
``parley_cost_usd_total`` and the ``parley_call_latency_seconds`` histogram, each by
``model``, ``provider`` and ``service_type``.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from core.results import CallRecord

__all__ = ["Telemetry", "METRICS_CONTENT_TYPE"]

log = logging.getLogger("parley.telemetry")
METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
_LABELS = ("model", "provider", "service_type")
_SYSTEMS = {"gemini": "gcp.gemini", "vertex_ai": "gcp.vertex_ai", "azure": "az.ai.openai",
            "bedrock": "aws.bedrock"}


def _tracer_provider(env: Mapping[str, str]):
    """A provider exporting over OTLP/HTTP, or None when no endpoint is configured."""
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    if not (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or "parley"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


class Telemetry:
    """Spans (when configured) and metrics for each recorded call; ``observe`` never raises."""

    def __init__(self, tracer_provider=None, *, privacy: str = "none"):
        self._provider = tracer_provider
        self._tracer = tracer_provider.get_tracer("parley") if tracer_provider else None
        self._privacy = privacy
        self.registry = CollectorRegistry()
        self._calls = Counter("parley_calls", "Calls (attempts) recorded", _LABELS + ("status",),
                              registry=self.registry)
        self._errors = Counter("parley_errors", "Failed attempts", _LABELS + ("error_class",),
                               registry=self.registry)
        self._tokens = Counter("parley_tokens", "Tokens billed", _LABELS + ("type",),
                               registry=self.registry)
        self._cost = Counter("parley_cost_usd", "Known cost in USD", _LABELS,
                             registry=self.registry)
        self._latency = Histogram("parley_call_latency_seconds", "Time to the whole answer",
                                  _LABELS, registry=self.registry,
                                  buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120))

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, privacy: str = "none") -> "Telemetry":
        return cls(_tracer_provider(env), privacy=privacy)

    @property
    def tracing(self) -> bool:
        return self._tracer is not None

    def observe(self, record: CallRecord) -> None:
        """Count ``record`` and, when tracing, export its span (in the background)."""
        try:
            self._count(record)
            if self._tracer is not None:
                self._span(record)
        except Exception as exc:  # noqa: BLE001 - observability must never fail a call
            log.warning("could not observe call %s: %s", ascii(record.call_id), type(exc).__name__)

    def _count(self, record: CallRecord) -> None:
        labels = (record.model, record.provider, record.service_type)
        self._calls.labels(*labels, record.status).inc()
        if record.status != "success":
            self._errors.labels(*labels, record.error_class or "unknown").inc()
        self._tokens.labels(*labels, "input").inc(record.input_tokens or 0)
        self._tokens.labels(*labels, "output").inc(record.output_tokens or 0)
        if record.total_cost:
            self._cost.labels(*labels).inc(record.total_cost)
        if record.response_time_ms is not None:
            self._latency.labels(*labels).observe(record.response_time_ms / 1000.0)

    def _span(self, record: CallRecord) -> None:
        from opentelemetry.trace import Status, StatusCode
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        carrier = {"traceparent": str((record.metadata or {}).get("traceparent") or "")}
        parent = TraceContextTextMapPropagator().extract(carrier) if carrier["traceparent"] else None
        end_ns = int(record.created_at.timestamp() * 1e9)
        start_ns = end_ns - int((record.response_time_ms or 0) * 1e6)
        operation = "chat" if record.kind == "chat" else record.kind
        span = self._tracer.start_span(f"{operation} {record.model}", context=parent,
                                       start_time=start_ns, attributes=self._attributes(record))
        if record.status != "success":
            span.set_status(Status(StatusCode.ERROR, record.error_class or "failure"))
        span.end(end_time=end_ns)

    def _attributes(self, record: CallRecord) -> dict[str, Any]:
        meta = record.metadata or {}
        attributes: dict[str, Any] = {
            "gen_ai.system": _SYSTEMS.get(record.provider, record.provider),
            "gen_ai.operation.name": "chat" if record.kind == "chat" else record.kind,
            "gen_ai.request.model": record.model,
            "gen_ai.response.model": record.provider_model or record.model,
            "gen_ai.usage.input_tokens": int(record.input_tokens or 0),
            "gen_ai.usage.output_tokens": int(record.output_tokens or 0),
            "parley.call_id": record.call_id, "parley.user": self._user(record.user_id),
            "parley.service_type": record.service_type,
            "parley.fallback": record.fallback_of is not None,
        }
        if record.total_cost is not None:
            attributes["parley.cost_usd"] = float(record.total_cost)
        if meta.get("route"):
            attributes["parley.route"] = str(meta["route"])
        if record.fallback_of:
            attributes["parley.fallback_of"] = record.fallback_of
        if record.error_class:
            attributes["error.type"] = record.error_class
        return attributes

    def _user(self, user_id: str) -> str:
        if self._privacy == "store":
            return user_id
        return hashlib.sha256(user_id.encode()).hexdigest()[:16]

    def metrics_text(self) -> bytes:
        """The metrics in Prometheus' text exposition format."""
        return generate_latest(self.registry)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Export the queued spans now; True when done within ``timeout_s``."""
        return self._provider.force_flush(int(timeout_s * 1000)) if self._provider else True

    def close(self) -> None:
        if self._provider is not None:
            self._provider.shutdown()
            self._provider = self._tracer = None
