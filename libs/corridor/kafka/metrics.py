"""Publish and consume metrics, the same names in every service."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class KafkaMetrics:
    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        prefix = f"corridor_{service}"
        self.publish_seconds = Histogram(
            f"{prefix}_publish_duration_seconds",
            "Time from send to broker acknowledgement.",
            ["topic", "outcome"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.published = Counter(
            f"{prefix}_published_records_total",
            "Records published, by topic and outcome (ok, timeout, error).",
            ["topic", "outcome"],
            registry=registry,
        )
        self.consumed = Counter(
            f"{prefix}_consumed_records_total",
            "Records consumed, by topic and outcome (applied, dead_lettered).",
            ["topic", "outcome"],
            registry=registry,
        )
        self.dead_letters = Counter(
            f"{prefix}_dead_letters_total",
            "Records sent to the dead-letter topic, by source topic.",
            ["topic"],
            registry=registry,
        )
        self.lag = Gauge(
            f"{prefix}_consumer_lag_records",
            "Records between the fetched high watermark and this consumer's position.",
            ["topic", "partition"],
            registry=registry,
        )
        self.batch_failures = Counter(
            f"{prefix}_consumer_batch_failures_total",
            "Batches that failed and will be retried (database down, broker errors).",
            registry=registry,
        )
        self.client_errors = Counter(
            f"{prefix}_consumer_client_errors_total",
            "Kafka client errors of the consumer loop, by stage (start, fetch, commit, lag, "
            "seek); each one recreates the consumer after a back-off.",
            ["stage"],
            registry=registry,
        )
        self.stalled_seconds = Gauge(
            f"{prefix}_consumer_stalled_seconds",
            "How long records have waited without the consumer making progress (0: none).",
            registry=registry,
        )
