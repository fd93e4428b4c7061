"""Spans reach an OTLP/HTTP receiver with the GenAI attributes, as children of the caller's
traceparent; GET /metrics answers Prometheus' format to an admin or the loopback only."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


class Receiver:
    """A tiny OTLP/HTTP trace receiver on 127.0.0.1: keeps every span it is sent."""

    def __init__(self):
        self.spans, self.paths = [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.paths.append(self.path)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        receiver.spans.extend(scope.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def attributes(span) -> dict:
    out = {}
    for kv in span.attributes:
        value = kv.value
        out[kv.key] = next(getattr(value, f) for f in ("string_value", "int_value", "double_value",
                                                        "bool_value") if value.HasField(f))
    return out


@pytest.fixture
def observed(api_env, monkeypatch):
    from starlette.testclient import TestClient

    from core.api import create_app
    from core.service import AIService
    from tests.core.api.conftest import _keyring

    receiver = Receiver()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    service = AIService.from_env()
    keyring = _keyring(api_env)
    client = TestClient(create_app(service, keyring), base_url="http://testserver")
    yield service, keyring, client, receiver
    client.close()
    service.close()
    keyring.close()
    receiver.close()


def test_a_call_is_a_span_child_of_the_callers_trace(observed):
    service, keyring, client, receiver = observed
    secret = keyring.create("alice@example.com", created_by="test")[0]
    answer = client.post("/v1/chat/completions", json={
        "model": "gpt", "messages": [{"role": "user", "content": "hello"}]},
        headers={"Authorization": f"Bearer {secret}", "x-parley-service": "xray",
                 "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    assert answer.status_code == 200
    assert service.recorder.telemetry.flush()
    assert receiver.paths == ["/v1/traces"]
    (span,) = receiver.spans
    assert span.trace_id.hex() == TRACE_ID and span.parent_span_id.hex() == PARENT_ID
    got = attributes(span)
    assert got["gen_ai.system"] == "openai" and got["gen_ai.operation.name"] == "chat"
    assert got["gen_ai.request.model"] == "gpt"
    assert got["gen_ai.response.model"] == "openai/gpt-4.1-mini"
    assert got["gen_ai.usage.input_tokens"] > 0 and got["gen_ai.usage.output_tokens"] > 0
    assert got["parley.call_id"] == answer.headers["x-parley-call-id"]
    assert got["parley.cost_usd"] == pytest.approx(float(answer.headers["x-parley-cost"]))
    assert got["parley.service_type"] == "xray" and got["parley.fallback"] is False
    assert got["parley.user"] == "alice@example.com"  # privacy: store (api_env)
    assert span.name == "chat gpt"


def test_metrics_for_an_admin_key_only(observed, api_env, tmp_path):
    service, keyring, client, receiver = observed
    user = keyring.create("alice@example.com", created_by="test")[0]
    client.post("/v1/chat/completions", json={"model": "gpt", "messages": [
        {"role": "user", "content": "hi"}]}, headers={"Authorization": f"Bearer {user}"})
    assert client.get("/metrics", headers={"Authorization": f"Bearer {user}"}).status_code == 403
    assert client.get("/metrics").status_code == 401
    admin = keyring.create("root@example.com", created_by="test")[0]
    object.__setattr__(service.settings, "admins", ("root@example.com",))  # as parley.admins would
    page = client.get("/metrics", headers={"Authorization": f"Bearer {admin}"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    text = page.text
    assert 'parley_calls_total{model="gpt",provider="openai",service_type="api",status="success"} 1.0' in text
    assert "parley_call_latency_seconds_bucket" in text and "parley_cost_usd_total" in text
    assert 'parley_tokens_total{model="gpt",provider="openai",service_type="api",type="input"}' in text


def test_metrics_on_the_loopback_need_no_key(observed):
    from starlette.testclient import TestClient

    from core.api import create_app

    service, keyring, _, _ = observed
    local = TestClient(create_app(service, keyring), base_url="http://testserver",
                       client=("127.0.0.1", 50000))
    assert local.get("/metrics").status_code == 200
    local.close()
