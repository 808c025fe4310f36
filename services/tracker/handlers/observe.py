"""What a committed batch tells the operator: a log line per event set aside, and metrics."""

from __future__ import annotations

import logging
from datetime import datetime

from corridor.topology import Topology
from services.tracker.domain import Classifier, SetAside, dwell_kind, newly_closed
from services.tracker.domain.through import newly_delivered
from services.tracker.domain.trust import newly_set_aside
from services.tracker.handlers.batch import BatchResult
from services.tracker.metrics import TrackerMetrics

log = logging.getLogger("services.tracker.handlers.tracker")


def set_aside_by(result: BatchResult) -> list[SetAside]:
    """Events set aside by this batch (not before), each logged once."""
    found: list[SetAside] = []
    for old, tracked in result.changed:
        for item in newly_set_aside(old, tracked.view):
            found.append(item)
            log.warning(
                "event set aside",
                extra={
                    "carrier": item.carrier,
                    "event_id": item.event_id,
                    "shipment_id": tracked.shipment_id,
                    "outcome": item.outcome,
                    "reason": item.reason,
                },
            )
    return found


def observe_batch(
    metrics: TrackerMetrics,
    topology: Topology,
    result: BatchResult,
    aside: list[SetAside],
    applied_at: datetime,
) -> None:
    fresh = 0
    if aside:
        new_keys = {e.key for e in result.applied}
        fresh = sum(1 for item in aside if item.key in new_keys)
        for item in aside:
            metrics.set_aside.labels(item.outcome, item.reason).inc()
    metrics.events.labels("applied").inc(len(result.applied) - fresh)
    metrics.events.labels("set_aside").inc(fresh)
    metrics.events.labels("duplicate").inc(result.duplicates)
    for event in result.applied:
        if event.classifier is Classifier.ACT:
            lag = (applied_at - event.occurred_at).total_seconds()
            metrics.occurred_to_applied.observe(max(0.0, lag))
        if event.recorded_at is not None:
            lag = (applied_at - event.recorded_at).total_seconds()
            metrics.recorded_to_applied.observe(max(0.0, lag))
    for old, tracked in result.changed:
        sections, dwells = newly_closed(old, tracked.view)
        for section in sections:
            metrics.section_transit.labels(section.country).observe(section.transit_seconds)
            metrics.cargo_kilograms.labels(section.country).inc(tracked.view.gross_weight_kg)
            metrics.cargo_teu.labels(section.country).inc(tracked.view.teu)
        for dwell in dwells:
            kind = dwell_kind(dwell.node, topology)
            metrics.dwell.labels(dwell.node, kind).observe(dwell.dwell_seconds)
        journey = newly_delivered(old, tracked.view)
        if journey is not None:
            metrics.through_transit.labels(journey.origin_country, journey.destination).observe(
                journey.seconds
            )
