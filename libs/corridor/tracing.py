"""OpenTelemetry traces, off by default: a carrier's request, the Kafka record it became and
the batch of the tracker or the tariff that applied it, in one trace.

- HTTP: every request is a SERVER span (``corridor.metrics.HttpMetrics``), continuing the
  caller's W3C ``traceparent`` if it sent one; its latency histogram sample carries the trace
  id as an exemplar (Prometheus asks for OpenMetrics to see them).
- Kafka: publishing is a PRODUCER span whose context goes into the record's headers as W3C
  ``traceparent`` (and ``tracestate``) (``corridor.kafka.publisher``); each batch a consumer
  applies is a CONSUMER span linked to the producer span of every record in it
  (``corridor.kafka.consumer``), as OpenTelemetry's messaging conventions do for batches.

``TRACING_ENABLED=true`` turns it on for a process (``corridor.web.serve``), exporting spans
over OTLP/HTTP to ``TRACING_ENDPOINT`` (compose's collector: docs/deploy.md, "Tracing");
``TRACING_SAMPLE_RATIO`` samples new traces (a caller's sampling decision is kept). Off,
nothing is created, no header is added and the hot path is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind, Tracer
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

Headers = Sequence[tuple[str, bytes]]
CARRIED = ("traceparent", "tracestate")


class TracingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRACING_", extra="ignore")

    enabled: bool = False
    # OTLP over HTTP (protobuf): the collector's traces endpoint.
    endpoint: str = "http://127.0.0.1:4318/v1/traces"
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)


class _State:
    enabled = False


def enabled() -> bool:
    """Whether this process traces (``configure`` was called with tracing on)."""
    return _State.enabled


def configure(
    service: str, settings: TracingSettings, exporter: SpanExporter | None = None
) -> None:
    """Install the SDK's tracer provider for this process when tracing is on; spans go to
    the OTLP endpoint (``exporter`` replaces it in tests)."""
    if not settings.enabled:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": f"corridor-{service}"}),
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
    )
    chosen = exporter or OTLPSpanExporter(endpoint=settings.endpoint)
    provider.add_span_processor(BatchSpanProcessor(chosen))
    trace.set_tracer_provider(provider)
    _State.enabled = True


def disable() -> None:
    """Stop creating spans in this process (tests; the provider itself cannot be unset)."""
    _State.enabled = False


def shutdown() -> None:
    """Export what is buffered (at the end of ``serve``)."""
    provider = trace.get_tracer_provider()
    stop = getattr(provider, "shutdown", None)
    if callable(stop):
        stop()


def tracer() -> Tracer:
    return trace.get_tracer("corridor")


def from_http(headers: Iterable[tuple[bytes, bytes]]) -> Context:
    """The caller's trace context from ASGI headers (``traceparent``, ``tracestate``)."""
    carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers if k in _CARRIED_B}
    return propagate.extract(carrier)


def record_headers() -> list[tuple[str, bytes]]:
    """The current span's context as Kafka record headers (none when nothing is traced)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [(k, v.encode()) for k, v in carrier.items() if k in CARRIED]


def link_to(headers: Headers) -> Link | None:
    """A link to the span that published a record, from its headers."""
    carrier = {k: v.decode("latin-1") for k, v in headers if k in CARRIED and v is not None}
    context = trace.get_current_span(propagate.extract(carrier)).get_span_context()
    return Link(context) if context.is_valid else None


def trace_id() -> str | None:
    """The current sampled span's trace id (hex), for exemplars."""
    context = trace.get_current_span().get_span_context()
    return (
        format(context.trace_id, "032x")
        if context.is_valid and context.trace_flags.sampled
        else None
    )


_CARRIED_B = tuple(name.encode() for name in CARRIED)
SERVER, PRODUCER, CONSUMER = SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER
