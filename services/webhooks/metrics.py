"""The webhooks service's own metrics (the shared HTTP and Kafka ones come from corridor)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

OUTCOMES = ("delivered", "failed", "given_up")
REASONS = ("http_status", "timeout", "connection", "refused_address", "principal_unknown")


class WebhooksMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.enqueued = Counter(
            "corridor_webhooks_deliveries_enqueued_total",
            "Deliveries written to the outbox (one per matching subscription and state; a "
            "state consumed again counts again, although it writes nothing new).",
            registry=registry,
        )
        self.attempts = Counter(
            "corridor_webhooks_delivery_attempts_total",
            "Delivery attempts by outcome: delivered (2xx), failed (to be retried), given_up "
            "(failed for the last allowed time).",
            ["outcome"],
            registry=registry,
        )
        self.failures = Counter(
            "corridor_webhooks_delivery_failures_total",
            "Failed delivery attempts by reason: http_status (not 2xx), timeout, connection, "
            "refused_address (the callback now resolves to an address not allowed), "
            "principal_unknown (the subscription's principal left the registry: given up).",
            ["reason"],
            registry=registry,
        )
        self.lag = Histogram(
            "corridor_webhooks_delivery_lag_seconds",
            "From a delivery's write to the outbox to the receiver's 2xx.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600),
            registry=registry,
        )
        self.pending = Gauge(
            "corridor_webhooks_outbox_pending",
            "Deliveries waiting in the outbox (due or backing off).",
            registry=registry,
        )
        self.oldest_pending = Gauge(
            "corridor_webhooks_outbox_oldest_pending_seconds",
            "Age of the oldest delivery still waiting (0 when none waits).",
            registry=registry,
        )
        for outcome in OUTCOMES:
            self.attempts.labels(outcome)
        for reason in REASONS:
            self.failures.labels(reason)
