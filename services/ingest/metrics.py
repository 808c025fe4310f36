"""Ingest's event counter, with labels bounded to the contract's event types."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from corridor.contract import enums

ACCEPTED = "accepted"
REJECTED = "rejected"
RATE_LIMITED = "rate_limited"


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "corridor_ingest_events_total",
            "Events posted, by carrier, event type and outcome (accepted, rejected, "
            "unavailable, rate_limited; rate_limited counts requests, whose body is not read).",
            ["carrier", "event_type", "outcome"],
            registry=registry,
        )
        self._children: dict[tuple[str, str, str], Counter] = {}

    def count(self, carrier: str, event_type: str, outcome: str, amount: int = 1) -> None:
        known = event_type in enums.EVENT_TYPE.names
        key = (carrier, event_type if known else "unknown", outcome)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.events.labels(*key)
        child.inc(amount)
