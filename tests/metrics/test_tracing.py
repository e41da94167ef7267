"""OpenTelemetry traces (the otel extra), recorded by the real SDK into its in-memory exporter."""

import sys
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tessera.web.tracing import TracingUnavailable, tracing
from tests.cli.conftest import Cli, cli_environment
from tests.conftest import served
from tests.factories import key_header, make_key, make_person


@pytest.fixture(scope="module")
def exported() -> Iterator[InMemorySpanExporter]:
    """Spans of this module's servers: the process's provider gets an in-memory exporter."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def test_a_request_is_a_span_named_after_its_route_without_secrets(
    database_url: str, exported: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An operator asking to capture the credential headers gets them masked.
    monkeypatch.setenv(
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", "authorization,user-agent"
    )
    exported.clear()
    with served(database_url, otel_enabled=True) as (runtime, api):
        admin = make_person(runtime.services, admin=True)
        key = make_key(runtime.services, admin)
        person = api.get(f"/api/v2/people/{admin.id}", headers=key_header(key))
        setup = api.get("/api/v2/api_tokens/device_setup/SECRETSETUPCODE123?API-KEY=hidden")
        api.get("/healthz")

    spans = exported.get_finished_spans()
    names = [span.name for span in spans]
    everything = repr([(span.name, dict(span.attributes or {})) for span in spans])

    assert person.status_code == 200
    assert setup.status_code in (400, 401, 404)
    assert "GET /api/v2/people/{person_id}" in names
    people = next(span for span in spans if span.name == "GET /api/v2/people/{person_id}")
    assert (people.attributes or {})["http.route"] == "/api/v2/people/{person_id}"
    assert len(spans) == 2, names  # the probe is not traced
    assert key.code not in everything
    assert "SECRETSETUPCODE123" not in everything
    assert "hidden" not in everything
    assert str(admin.id) not in names[0]


def test_tracing_without_the_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.instrumentation.asgi", None)

    with pytest.raises(TracingUnavailable, match=r"pip install 'tessera\[otel\]'"):
        tracing()


@pytest.mark.usefixtures("restored_logging")
def test_serve_refuses_to_start_when_tracing_cannot_be_had(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.instrumentation.asgi", None)

    result = Cli(cli_environment(database_url))(
        "serve", "--port", "0", env={"TESSERA_OTEL_ENABLED": "true"}
    )

    assert result.exit_code != 0
    assert "OpenTelemetry is not installed" in result.output
