"""The state topic: ``ShipmentState`` records for ``cargo.shipments.v1`` (the partner
contract), built from stored shipments, and their publisher."""

from __future__ import annotations

from collections.abc import Sequence

from corridor.clock import utcnow
from corridor.contract.enums import CLASSIFIER, CONTAINER_TYPE, EVENT_TYPE
from corridor.contract.timestamps import timestamp as timestamp  # also imported from here
from corridor.kafka import CE_TYPE_SHIPMENT_STATE, OutgoingRecord, Publisher, cloudevent_record
from corridor.v1 import shipments_pb2
from services.tracker.domain import Status, TrackedShipment

SOURCE = "/corridor/tracker"
STATUS_NUMBERS = {
    Status.BOOKED: shipments_pb2.SHIPMENT_STATUS_BOOKED,
    Status.IN_TRANSIT: shipments_pb2.SHIPMENT_STATUS_IN_TRANSIT,
    Status.HELD: shipments_pb2.SHIPMENT_STATUS_HELD,
    Status.DELIVERED: shipments_pb2.SHIPMENT_STATUS_DELIVERED,
}
# The widest values the database columns take (ingest enforces the same or stricter).


def shipment_state(shipment: TrackedShipment) -> shipments_pb2.ShipmentState:
    """The partner contract: one shipment's latest state, as stored."""
    view = shipment.view
    state = shipments_pb2.ShipmentState(
        shipment_id=view.shipment_id,
        status=STATUS_NUMBERS[view.status],
        container_no=view.container_no,
        wagon_no=view.wagon_no,
        origin=view.origin,
        destination=view.destination,
        current_location=view.current_location,
        delayed=shipment.delayed,
        counts=shipments_pb2.Counts(events=view.events, duplicates=shipment.duplicates),
        container_type=CONTAINER_TYPE.by_name.get(view.container_type, 0),  # type: ignore[arg-type]
        gross_weight_kg=view.gross_weight_kg,
        version=shipment.version,
        silent=shipment.silent,
    )
    if view.last_event is not None:
        last = view.last_event
        state.last_event.CopyFrom(
            shipments_pb2.LastEvent(
                event_id=last.event_id,
                carrier=last.carrier,
                event_type=EVENT_TYPE.by_name[last.event_type],  # type: ignore[arg-type]
                classifier=CLASSIFIER.by_name[last.classifier],  # type: ignore[arg-type]
                location=last.location,
                occurred_at=timestamp(last.occurred_at),
            )
        )
    for section in view.sections:
        out = state.sections.add(
            country=section.country,
            entered_at=timestamp(section.entered_at),
            transit_seconds=section.transit_seconds,
        )
        if section.exited_at is not None:
            out.exited_at.CopyFrom(timestamp(section.exited_at))
    for dwell in view.dwells:
        d = state.dwells.add(
            node=dwell.node,
            arrived_at=timestamp(dwell.arrived_at),
            dwell_seconds=dwell.dwell_seconds,
        )
        if dwell.departed_at is not None:
            d.departed_at.CopyFrom(timestamp(dwell.departed_at))
    if shipment.eta is not None:
        state.eta.CopyFrom(timestamp(shipment.eta))
    if view.promised_delivery_at is not None:
        state.promised_delivery_at.CopyFrom(timestamp(view.promised_delivery_at))
    if shipment.updated_at is not None:
        state.updated_at.CopyFrom(timestamp(shipment.updated_at))
    return state


def state_record(topic: str, shipment: TrackedShipment) -> OutgoingRecord:
    return cloudevent_record(
        topic,
        shipment.shipment_id,
        shipment_state(shipment).SerializeToString(),
        ce_id=f"{shipment.shipment_id}/{shipment.version}",
        ce_type=CE_TYPE_SHIPMENT_STATE,
        source=SOURCE,
        ce_time=shipment.updated_at or utcnow(),
    )


class StatePublisher:
    """Sends states to ``cargo.shipments.v1``; says which ones the broker acknowledged."""

    def __init__(self, publisher: Publisher, topic: str) -> None:
        self.publisher = publisher
        self.topic = topic

    async def __call__(self, shipments: Sequence[TrackedShipment]) -> list[bool]:
        results = await self.publisher.publish_many(
            [state_record(self.topic, s) for s in shipments]
        )
        return [r is None for r in results]
