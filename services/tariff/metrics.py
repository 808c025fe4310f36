"""Tariff's own metrics (the shared HTTP and Kafka ones come from corridor)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from services.tariff.revisions import share_changes


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
            "Charges issued (revision 1: once per delivered shipment).",
            registry=registry,
        )
        self.revisions = Counter(
            "corridor_tariff_charge_revisions_total",
            "Later revisions of issued charges (a late movement or booking amendment "
            "changed what is billed).",
            registry=registry,
        )
        self.revenue = Counter(
            "corridor_tariff_revenue_total",
            "Charged revenue apportioned to each operator, in the card's currency: each "
            "charge's shares, plus the increases of later revisions.",
            ["operator", "currency"],
            registry=registry,
        )
        self.credited = Counter(
            "corridor_tariff_revenue_credited_total",
            "Decreases of an operator's share by later revisions (net revenue is "
            "corridor_tariff_revenue_total minus this).",
            ["operator", "currency"],
            registry=registry,
        )

    def issued(self, document: Mapping[str, Any], latest: Mapping[str, Any] | None) -> None:
        """Count a new revision (``document``) of the charge whose latest was ``latest``."""
        (self.charges if latest is None else self.revisions).inc()
        currency = str(document["currency"])
        for operator, change in share_changes(latest, document).items():
            counter = self.revenue if change > 0 else self.credited
            counter.labels(operator, currency).inc(float(abs(change)))
