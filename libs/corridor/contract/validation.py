"""The one set of rules a ``CargoEvent`` obeys, whoever built it and whoever reads it.

``validate`` raises ``ContractError`` at the first rule broken, naming the field and a
reason code; its message is the dead-letter reason. The rules are those of ingest's HTTP
schema that need nothing but the record and the corridor's nodes: presence, lengths,
printable text, id formats, known enum values and nodes, times in range, a booking on
``BOOKED`` and only there. What needs the principal registry or a clock (rights, trust,
events too far in the future or too old) and the equipment rules (check digits, one of
container or wagon, gross mass per container type) stay ingest's: a consumer replays
history, and those rules judge a carrier at the time it posts.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Container
from datetime import datetime

from corridor.contract import enums, limits
from corridor.contract.event import BookingData, CargoEventData
from corridor.principals import PRINCIPAL_ID

SHIPMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
HS_CODE = re.compile(r"^[0-9]{4}(?:[0-9]{2}){0,3}$")
# Unicode categories text may not contain: control, format (the bidi overrides among
# them), line and paragraph separators. They would hide or reorder text in logs, Kafka
# headers and the screens of the people reading them.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


class ContractError(ValueError):
    """A record that breaks the contract. ``field`` is the field at fault (``""``: the
    whole record), ``reason`` a code (``missing``, ``too_long``, ``forbidden_character``,
    ``blank``, ``format``, ``unknown_value``, ``unknown_node``, ``out_of_range``,
    ``not_allowed``, ``undecodable``, ``no_value``); ``str()`` is the dead-letter reason."""

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason


def validate(event: CargoEventData, nodes: Container[str]) -> CargoEventData:
    """``event`` itself when it keeps every rule; ``nodes``: the corridor's node codes."""
    _text("event_id", event.event_id, limits.EVENT_ID, required=True)
    _principal("carrier", event.carrier, required=True)
    _text("shipment_id", event.shipment_id, limits.SHIPMENT_ID, required=True)
    if not SHIPMENT_ID.match(event.shipment_id):
        raise ContractError("shipment_id", "format", "shipment_id is not a shipment id")
    _text("container_no", event.container_no, limits.EQUIPMENT_NO)
    _text("wagon_no", event.wagon_no, limits.EQUIPMENT_NO)
    _text("reason", event.reason, limits.REASON)
    _enum(enums.EVENT_TYPE, event.event_type, required=True)
    _enum(enums.CLASSIFIER, event.classifier, required=True)
    _enum(enums.MODE, event.mode)
    _moment("occurred_at", event.occurred_at)
    if event.recorded_at is not None:
        _moment("recorded_at", event.recorded_at)
    _node("location", event.location, nodes, required=True)
    if event.booking is not None:
        if event.event_type != "BOOKED":
            raise ContractError("booking", "not_allowed", f"booking on {event.event_type}")
        _booking(event.booking, nodes)
    elif event.event_type == "BOOKED":
        raise ContractError("booking", "missing", "missing booking on BOOKED")
    return event


def _booking(booking: BookingData, nodes: Container[str]) -> None:
    _node("booking.origin", booking.origin, nodes, required=True)
    _node("booking.destination", booking.destination, nodes, required=True)
    _enum(enums.CONTAINER_TYPE, booking.container_type, required=True, field="booking.")
    weight = booking.gross_weight_kg
    if not (math.isfinite(weight) and 0 < weight <= limits.MAX_GROSS_WEIGHT_KG):
        raise ContractError(
            "booking.gross_weight_kg", "out_of_range", "booking.gross_weight_kg out of range"
        )
    _text("booking.cargo_description", booking.cargo_description, limits.CARGO_DESCRIPTION)
    if booking.hs_code and not HS_CODE.match(booking.hs_code):
        raise ContractError("booking.hs_code", "format", "booking.hs_code is not an HS code")
    if booking.promised_delivery_at is not None:
        _moment("booking.promised_delivery_at", booking.promised_delivery_at)
    for role in ("shipper", "consignee", "forwarder"):
        _principal(f"booking.parties.{role}", getattr(booking, role))
    if len(booking.legs) > limits.MAX_LEGS:
        raise ContractError(
            "booking.legs", "too_long", f"booking.legs more than {limits.MAX_LEGS} legs"
        )
    for index, leg in enumerate(booking.legs):
        name = f"booking.legs[{index}]"
        _principal(f"{name}.carrier", leg.carrier, required=True)
        _node(f"{name}.origin", leg.origin, nodes)
        _node(f"{name}.destination", leg.destination, nodes)


def _text(field: str, value: str, limit: int, *, required: bool = False) -> None:
    if not value:
        if required:
            raise ContractError(field, "missing", f"missing {field}")
        return
    if len(value) > limit:
        raise ContractError(field, "too_long", f"{field} longer than {limit} characters")
    if not (value.isascii() and value.isprintable()):  # the fast path: printable ASCII
        for char in value:
            if unicodedata.category(char) in FORBIDDEN_CATEGORIES:
                raise ContractError(
                    field, "forbidden_character", f"control character U+{ord(char):04X} in {field}"
                )
    if value.isspace():
        raise ContractError(field, "blank", f"blank {field}")


def _principal(field: str, value: str, *, required: bool = False) -> None:
    _text(field, value, limits.PRINCIPAL_ID, required=required)
    if value and not PRINCIPAL_ID.match(value):
        raise ContractError(field, "format", f"{field} is not a principal id")


def _enum(enum: enums.ProtoEnum, name: str, *, required: bool = False, field: str = "") -> None:
    field += enum.field
    if not name:
        if required:
            raise ContractError(field, "missing", f"missing {field}")
    elif name not in enum.names:
        raise ContractError(field, "unknown_value", f"unknown {field} {name!r}"[:200])


def _moment(field: str, moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ContractError(field, "format", f"{field} has no time zone")
    if not limits.EARLIEST <= moment < limits.LATEST:
        raise ContractError(field, "out_of_range", f"{field} out of range")


def _node(field: str, code: str, nodes: Container[str], *, required: bool = False) -> None:
    if not code:
        if required:
            raise ContractError(field, "missing", f"missing {field}")
        return
    if len(code) > limits.NODE_CODE:
        raise ContractError(field, "too_long", f"{field} longer than {limits.NODE_CODE} characters")
    if code not in nodes:
        raise ContractError(field, "unknown_node", f"unknown node {code!r} in {field}")
