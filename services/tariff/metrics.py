"""Tariff's own metrics (the shared HTTP and Kafka ones come from corridor)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from services.tariff.rates import Charge


class TariffMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.quotes = Counter(
            "corridor_tariff_quotes_total",
            "Quotes asked over HTTP, by outcome (quoted, or why not: unknown_node, no_route, "
            "no_card, no_rate, unknown_container_type, invalid_weight).",
            ["outcome"],
            registry=registry,
        )
        self.set_aside = Counter(
            "corridor_tariff_set_aside_events_total",
            "Movements that did not count when received, by outcome (held: no booking yet; "
            "refused) and reason (corridor.parties reason codes). A held one counts once a "
            "booking makes its carrier a party.",
            ["outcome", "reason"],
            registry=registry,
        )
        self.charges = Counter(
            "corridor_tariff_charges_total",
            "Final charges computed (once per delivered shipment).",
            registry=registry,
        )
        self.revenue = Counter(
            "corridor_tariff_revenue_total",
            "Charged revenue apportioned to each operator, in the card's currency.",
            ["operator", "currency"],
            registry=registry,
        )

    def charged(self, charge: Charge) -> None:
        self.charges.inc()
        for share in charge.apportionment:
            if share.amount > 0:
                self.revenue.labels(share.operator, charge.quote.currency).inc(float(share.amount))
