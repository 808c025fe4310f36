"""Rows and domain values, both ways: events, and stored shipments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row

from services.tracker.db import viewcodec
from services.tracker.db.encoding import booking_from_dict, booking_to_dict
from services.tracker.domain import RANK, Classifier, Event, EventType, TrackedShipment


def event_row(event: Event, applied_at: datetime) -> dict[str, Any]:
    return {
        "carrier": event.carrier,
        "event_id": event.event_id,
        "shipment_id": event.shipment_id,
        "event_type": event.event_type.value,
        "classifier": event.classifier.value,
        "rank": RANK[event.event_type],
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "applied_at": applied_at,
        "location": event.location,
        "mode": event.mode,
        "container_no": event.container_no,
        "wagon_no": event.wagon_no,
        "reason": event.reason,
        "booking": booking_to_dict(event.booking),
    }


def event_columns(batch: Sequence[Event], applied_at: datetime) -> dict[str, list[Any]]:
    """``event_row`` for many events, one list per column."""
    return {
        "carrier": [e.carrier for e in batch],
        "event_id": [e.event_id for e in batch],
        "shipment_id": [e.shipment_id for e in batch],
        "event_type": [e.event_type.value for e in batch],
        "classifier": [e.classifier.value for e in batch],
        "rank": [RANK[e.event_type] for e in batch],
        "occurred_at": [e.occurred_at for e in batch],
        "recorded_at": [e.recorded_at for e in batch],
        "applied_at": [applied_at] * len(batch),
        "location": [e.location for e in batch],
        "mode": [e.mode for e in batch],
        "container_no": [e.container_no for e in batch],
        "wagon_no": [e.wagon_no for e in batch],
        "reason": [e.reason for e in batch],
        "booking": [None if e.booking is None else booking_to_dict(e.booking) for e in batch],
    }


def event_of(row: Row[Any]) -> Event:
    return Event(
        carrier=row.carrier,
        event_id=row.event_id,
        shipment_id=row.shipment_id,
        event_type=EventType(row.event_type),
        classifier=Classifier(row.classifier),
        occurred_at=row.occurred_at,
        location=row.location,
        recorded_at=row.recorded_at,
        mode=row.mode,
        container_no=row.container_no,
        wagon_no=row.wagon_no,
        reason=row.reason,
        booking=booking_from_dict(row.booking),
    )


def tracked_of(row: Row[Any]) -> TrackedShipment:
    return TrackedShipment(
        view=viewcodec.from_json(row.state),
        eta=row.eta,
        delayed=bool(row.delayed),
        version=int(row.version),
        duplicates=int(row.duplicates),
        updated_at=row.updated_at,
        silent=bool(row.silent),
        heard_at=row.heard_at,
        wake_at=row.wake_at,
    )
