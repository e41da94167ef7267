"""OpenTelemetry traces of HTTP requests: the ``otel`` extra, on with ``TESSERA_OTEL_ENABLED``.

Each request is a server span from OpenTelemetry's ASGI middleware, named ``METHOD route``
after the route template (as the metrics are), never after the path a client sent. What a
span may carry that is a secret is kept out: its URL attributes have the one-time codes of
setup paths masked (``logs.redact``) and no query string (query credentials, when allowed,
travel there), and the credential headers are masked even if ``OTEL_INSTRUMENTATION_HTTP_
CAPTURE_HEADERS_SERVER_REQUEST`` asks for them. Probes and ``/metrics`` are not traced.

The exporter is the operator's, through the standard variables: ``OTEL_TRACES_EXPORTER``
(``otlp``, the default; ``console``; ``none``), ``OTEL_EXPORTER_OTLP_ENDPOINT`` and friends,
``OTEL_SERVICE_NAME`` (default ``tessera``). A tracer provider already installed (say by
``opentelemetry-instrument``) is used as it is.
"""

import os
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tessera.logs import redact
from tessera.web.request_metrics import route_of

#: Masked in captured headers, whatever the operator asks to capture.
SECRET_HEADERS = (
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-deskpro-api-key",
    "x-deskpro-api-token",
)
#: Paths probed every few seconds, and the scrapes: a span each would be noise.
_NOT_TRACED = r"/(?:healthz|readyz|metrics)(?:\?|$)"
_PATH_ATTRIBUTES = ("http.target", "url.path")
_URL_ATTRIBUTES = ("http.url", "url.full")
_QUERY_ATTRIBUTES = ("url.query",)
_SANITIZE_VARIABLE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"


class TracingUnavailable(RuntimeError):
    """Tracing is asked for, but the ``otel`` extra is not installed."""


def tracing() -> Callable[[ASGIApp], ASGIApp]:
    """What wraps the app's HTTP handling in spans; checked now, at start-up.

    Raises:
        TracingUnavailable: OpenTelemetry's SDK or ASGI middleware cannot be imported.
    """
    try:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    except ImportError as error:
        raise TracingUnavailable(
            "TESSERA_OTEL_ENABLED is on but OpenTelemetry is not installed: install the otel "
            f"extra (pip install 'tessera[otel]') or turn tracing off ({error})"
        ) from None
    from opentelemetry.metrics import NoOpMeterProvider

    provider = _tracer_provider()
    sanitized = [*SECRET_HEADERS, *_listed(os.environ.get(_SANITIZE_VARIABLE, ""))]

    def wrap(app: ASGIApp) -> ASGIApp:
        middleware: ASGIApp = OpenTelemetryMiddleware(
            _SpanNamedByRoute(app),
            excluded_urls=_NOT_TRACED,
            default_span_details=_method_only,
            server_request_hook=_mask_url,
            tracer_provider=provider,
            # Its request metrics would carry the raw target; Tessera's metrics are Prometheus'.
            meter_provider=NoOpMeterProvider(),
            http_capture_headers_sanitize_fields=sanitized,
            exclude_spans=["receive", "send"],
        )
        return middleware

    return wrap


def _tracer_provider() -> Any:
    """The provider installed already, else an SDK one exporting as ``OTEL_*`` say."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    installed = trace.get_tracer_provider()
    if not isinstance(installed, trace.ProxyTracerProvider):
        return installed
    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over this default.
    provider = TracerProvider(resource=Resource.create({"service.name": "tessera"}))
    exporter = _exporter(os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower())
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def _exporter(name: str) -> Any:
    if name == "none":
        return None
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name != "otlp":
        raise TracingUnavailable(f"OTEL_TRACES_EXPORTER={name} is not one of otlp, console, none")
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as error:
        raise TracingUnavailable(
            f"the OTLP exporter cannot be imported ({error}): install the otel extra"
        ) from None
    return OTLPSpanExporter()


def _listed(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _method_only(scope: Scope) -> tuple[str, dict[str, Any]]:
    """A span's first name: the method alone (the path may hold a code; the route comes later)."""
    return str(scope.get("method") or "HTTP"), {}


def _mask_url(span: Any, scope: Scope) -> None:
    """Rewrite the URL attributes the middleware set: codes in paths masked, no query string."""
    if not span.is_recording():
        return
    attributes = getattr(span, "attributes", None) or {}
    for key in (*_PATH_ATTRIBUTES, *_URL_ATTRIBUTES):
        if key in attributes:
            span.set_attribute(key, redact(str(attributes[key]).split("?", 1)[0]))
    for key in _QUERY_ATTRIBUTES:
        if key in attributes:
            span.set_attribute(key, "[redacted]")


class _SpanNamedByRoute:
    """Names the request's span after its route template when the answer starts: the app has
    routed the request by then, and the middleware ends the span once the answer is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from opentelemetry import trace

        span = trace.get_current_span()

        async def send_naming_span(message: Message) -> None:
            if message["type"] == "http.response.start" and span.is_recording():
                route = route_of(scope)
                span.update_name(f"{scope['method']} {route}")
                span.set_attribute("http.route", route)
            await send(message)

        await self.app(scope, receive, send_naming_span)
