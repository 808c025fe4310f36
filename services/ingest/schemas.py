"""The HTTP contract of ingest: what carriers post and what they get back.

Shapes and types only; the rules that need the corridor's topology or the carrier's rights
(check digits, known nodes, time bounds, who may report where) live in ``domain.py`` so
that every failure of one event is reported together.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from corridor.contract import limits
from corridor.equipment import MAX_ANY_GROSS_MASS_KG

EventType = Literal[
    "BOOKED",
    "GATE_IN",
    "LOADED",
    "DEPARTED",
    "ARRIVED",
    "DISCHARGED",
    "BORDER_CROSSED",
    "CUSTOMS_HOLD",
    "CUSTOMS_RELEASED",
    "GATE_OUT",
    "DELIVERED",
    "EXCEPTION",
]
EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))
Classifier = Literal["ACT", "EST", "PLN"]
Mode = Literal["RAIL", "VESSEL", "TRUCK"]
ContainerType = Literal["20GP", "40GP", "40HC", "45HC", "WAGON"]

MAX_BATCH_EVENTS = 1000
MAX_LEGS = limits.MAX_LEGS
# The bound of the schema; each container type has its own (``corridor.equipment``).
MAX_GROSS_WEIGHT_KG = MAX_ANY_GROSS_MASS_KG
# Unicode categories an identifier may not contain: control, format (which include the
# bidi overrides), line and paragraph separators. They would hide or reorder text in
# logs, Kafka headers and the screens of the people reading them.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})

# RFC 3339 with an offset; strict: a bare number is not a time.
Moment = Annotated[AwareDatetime, Field(strict=True)]
NODE_CODE = Annotated[str, Field(min_length=1, max_length=limits.NODE_CODE, examples=["KZAAU"])]


def plain_text(value: str) -> str:
    """Refuse blank text and control, format and separator characters (Cc, Cf, Zl, Zp)."""
    if not (value.isascii() and value.isprintable()):  # the fast path: printable ASCII
        for char in value:
            if unicodedata.category(char) in FORBIDDEN_CATEGORIES:
                raise ValueError(
                    f"must not contain control, format or separator characters "
                    f"(U+{ord(char):04X}, {unicodedata.category(char)})"
                )
    if value.isspace() or not value:
        raise ValueError("must not be blank")
    return value


def _shipment_id(value: str) -> str:
    if not SHIPMENT_ID.match(value):
        raise ValueError(
            "must be letters, digits, '.', '_' and '-', starting with a letter or digit"
        )
    return value


SHIPMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
PlainText = AfterValidator(plain_text)
# Lengths are checked first (in Rust), so a huge string costs nothing more.
PrincipalId = Annotated[str, Field(min_length=1, max_length=limits.PRINCIPAL_ID), PlainText]
EventId = Annotated[str, Field(min_length=1, max_length=limits.EVENT_ID), PlainText]
ShipmentId = Annotated[
    str, Field(min_length=1, max_length=limits.SHIPMENT_ID), PlainText, AfterValidator(_shipment_id)
]
EquipmentNo = Annotated[str, Field(min_length=1, max_length=limits.EQUIPMENT_NO), PlainText]
Text500 = Annotated[str, Field(min_length=1, max_length=limits.REASON), PlainText]


class PartiesIn(BaseModel):
    """The shipper, consignee and forwarder: ids of principals of the role ``party``."""

    model_config = ConfigDict(extra="forbid")

    shipper: PrincipalId | None = None
    consignee: PrincipalId | None = None
    forwarder: PrincipalId | None = None


class LegIn(BaseModel):
    """A carrier the booker engages for part of the journey (it then takes part in it)."""

    model_config = ConfigDict(extra="forbid")

    carrier: PrincipalId = Field(description="Id of a principal that posts events.")
    origin: NODE_CODE | None = None
    destination: NODE_CODE | None = None


class BookingIn(BaseModel):
    """What the booker promises: required on ``BOOKED``, refused on any other event."""

    model_config = ConfigDict(extra="forbid")

    origin: NODE_CODE = Field(description="UN/LOCODE of the corridor node of departure.")
    destination: NODE_CODE = Field(description="UN/LOCODE of the corridor node of delivery.")
    container_type: ContainerType = Field(
        description="ISO size-type of the container, or WAGON for loads carried in the wagon "
        "itself (grain, metals, oil in tank wagons)."
    )
    gross_weight_kg: float = Field(
        gt=0,
        le=MAX_GROSS_WEIGHT_KG,
        allow_inf_nan=False,
        description="At most the ISO 668 maximum gross mass of the container type "
        "(36,000 kg); 150,000 kg for a WAGON load.",
    )
    cargo_description: Text500 | None = None
    hs_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{4}(?:[0-9]{2}){0,3}$",
        description="Harmonized System code: 4, 6, 8 or 10 digits.",
    )
    promised_delivery_at: Moment | None = None
    parties: PartiesIn | None = Field(
        default=None, description="Who may read the shipment beside its carriers."
    )
    legs: list[LegIn] | None = Field(
        default=None,
        max_length=MAX_LEGS,
        description="Carriers engaged for parts of the journey: they take part in it.",
    )


class EventIn(BaseModel):
    """One thing that happened to one load, as its carrier reports it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "event_id": "KTZ-2026-000123",
                    "event_type": "DEPARTED",
                    "occurred_at": "2026-11-02T06:30:00+05:00",
                    "shipment_id": "MCM-2026-00042",
                    "container_no": "MSCU6639870",
                    "location": "KZAKL",
                    "mode": "RAIL",
                }
            ]
        },
    )

    event_id: EventId = Field(
        description="Unique per carrier; posting the same event again is safe.",
    )
    event_type: EventType
    classifier: Classifier = Field(
        default="ACT", description="DCSA classifier: actual, estimated or planned."
    )
    occurred_at: Moment = Field(
        description="RFC 3339 with an offset; at most one day in the future."
    )
    shipment_id: ShipmentId = Field(
        description="Letters, digits, '.', '_' and '-', starting with a letter or digit.",
    )
    container_no: EquipmentNo | None = Field(
        default=None, description="ISO 6346, check digit verified."
    )
    wagon_no: EquipmentNo | None = Field(
        default=None,
        description="Rail wagon: 8 digits (1520 mm network) or 12 digits (UIC), check digit "
        "verified. Exactly one of container_no and wagon_no.",
    )
    location: NODE_CODE = Field(description="UN/LOCODE of the corridor node.")
    mode: Mode | None = None
    booking: BookingIn | None = None
    reason: Text500 | None = Field(
        default=None,
        description="Required on EXCEPTION and CUSTOMS_HOLD.",
    )


class BatchIn(BaseModel):
    """Up to 1000 events; each is judged on its own."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)


class BatchEnvelope(BaseModel):
    """``BatchIn`` without judging the items: used when some items are invalid, so that
    the valid ones can still be published."""

    model_config = ConfigDict(extra="forbid")

    events: list[Any] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the field at fault; '' for the whole event.")
    message: str
    code: str


class EventAccepted(BaseModel):
    event_id: str
    status: Literal["accepted"] = "accepted"


class ItemResult(BaseModel):
    index: int
    event_id: str | None = Field(description="As posted; null when it was not a string.")
    status: Literal["accepted", "rejected"]
    errors: list[FieldError] = Field(default_factory=list)


class BatchOut(BaseModel):
    accepted: int = Field(description="How many items were accepted.")
    rejected: int = Field(description="How many items were rejected.")
    results: list[ItemResult] = Field(description="One result per posted item, in order.")


class ProblemOut(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] = Field(default_factory=list)
