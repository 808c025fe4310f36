"""The protobuf edge of tariff: ``CargoEvent`` bytes in (through the event contract,
``corridor.contract``), ``Charge`` bytes out. The only module that touches generated code."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from corridor.contract import codec
from corridor.contract.enums import CONTAINER_TYPE
from corridor.contract.timestamps import timestamp
from corridor.topology import Topology, load_topology
from corridor.v1 import charges_pb2, common_pb2, events_pb2
from services.tariff.events import ShipmentEvent, shipment_event


def content_digest(event: events_pb2.CargoEvent) -> str:
    """The event's content without ``recorded_at`` (a retry is received again, later)."""
    copy = events_pb2.CargoEvent()
    copy.CopyFrom(event)
    copy.ClearField("recorded_at")
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


def decode_event(value: bytes | None, topology: Topology | None = None) -> ShipmentEvent:
    """A record's value as the tariff's event; ``ContractError`` says why not.

    The event contract (``corridor.contract``) decodes and validates, with the same rules
    and reasons as the tracker's; ``topology`` gives the nodes (the corridor's by default)."""
    message = codec.parse(value)
    nodes = (topology or load_topology()).nodes
    return shipment_event(codec.from_message(message, nodes), content_digest(message))


def _mode(mode: str) -> int:
    # Handling legs have no transport mode: MODE_UNSPECIFIED, with from_node == to_node.
    return {"RAIL": common_pb2.MODE_RAIL, "VESSEL": common_pb2.MODE_VESSEL}.get(
        mode, common_pb2.MODE_UNSPECIFIED
    )


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def encode_charge(doc: dict[str, Any]) -> bytes:
    """A stored charge document (``documents.charge_doc``) as ``Charge`` bytes."""
    charge = charges_pb2.Charge(
        charge_id=doc["charge_id"],
        shipment_id=doc["shipment_id"],
        card_version=doc["card_version"],
        currency=doc["currency"],
        total=doc["total"],
        container_type=CONTAINER_TYPE.by_name[doc["container_type"]],  # type: ignore[arg-type]
        gross_weight_kg=float(doc["gross_weight_kg"]),
        origin=doc["origin"],
        destination=doc["destination"],
        revision=int(doc.get("revision", 1)),
        difference=str(doc.get("difference", doc["total"])),
    )
    for leg in doc["legs"]:
        charge.legs.add(
            from_node=leg["from"],
            to_node=leg["to"],
            operator=leg["operator"],
            mode=_mode(leg["mode"]),
            amount=leg["amount"],
        )
    for s in doc["surcharges"]:
        charge.surcharges.add(
            kind=s["kind"],
            node=s["node"] or "",
            operator=s["operator"],
            days=s["days"],
            amount=s["amount"],
        )
    discount = doc.get("discount")
    if discount and Decimal(discount["amount"]):
        # The proto has no discount field: it shows as a negative surcharge line, so the
        # lines still add up to the total.
        charge.surcharges.add(kind="discount", amount=str(-Decimal(discount["amount"])))
    for share in doc["apportionment"]:
        charge.apportionment.add(operator=share["operator"], amount=share["amount"])
    charge.computed_at.CopyFrom(timestamp(_moment(doc["computed_at"])))
    return charge.SerializeToString()
