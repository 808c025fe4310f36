"""DCSA Track & Trace v2.2 events as native corridor events. Pure.

Transport events (``ARRI``/``DEPA``) and equipment events (``LOAD``/``DISC``/``GTIN``/
``GTOT``) map onto one native event each; v2.2 has no border-crossing or customs codes, so
those of T&T 3.0 (``CROS``, ``CUSI``, ``CUSS``, ``CUSR``) are accepted too, in the same
flat v2.2 event. The table is in docs/standards.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.ingest.domain import Violation
from services.ingest.standards.common import Mapped, Unmapped, text

TRANSPORT = {"ARRI": "ARRIVED", "DEPA": "DEPARTED"}
EQUIPMENT = {
    "LOAD": "LOADED",
    "DISC": "DISCHARGED",
    "GTIN": "GATE_IN",
    "GTOT": "GATE_OUT",
    # T&T 3.0 codes (none in v2.2): border crossing and customs.
    "CROS": "BORDER_CROSSED",
    "CUSI": "CUSTOMS_HOLD",
    "CUSS": "CUSTOMS_HOLD",
    "CUSR": "CUSTOMS_RELEASED",
}
HOLD_REASONS = {
    "CUSI": "DCSA CUSI: customs selected for inspection",
    "CUSS": "DCSA CUSS: customs selected for scan",
}
CLASSIFIERS = frozenset({"PLN", "EST", "ACT"})
MODES = {"VESSEL": "VESSEL", "BARGE": "VESSEL", "RAIL": "RAIL", "TRUCK": "TRUCK"}
SHIPMENT_DOCUMENTS = ("BKG", "TRD")  # carrier booking reference, then transport document
CODE_FIELDS = {"TRANSPORT": "transportEventTypeCode", "EQUIPMENT": "equipmentEventTypeCode"}


def map_event(raw: Any) -> Mapped | Unmapped:
    """One DCSA T&T event as a native event body, or every reason it cannot be one."""
    if not isinstance(raw, dict):
        return Unmapped(None, [Violation("", "must be a DCSA event object", "type")])
    event_id = text(raw, "eventID")
    found: list[Violation] = []
    if event_id is None:
        found.append(Violation("eventID", "is required", "missing"))
    event_type, code_field, reason = _type(raw, found)
    classifier = text(raw, "eventClassifierCode")
    if classifier not in CLASSIFIERS:
        found.append(Violation("eventClassifierCode", "must be PLN, EST or ACT", "enum"))
    occurred_at = text(raw, "eventDateTime")
    if not _aware(occurred_at):
        message = "must be a date and time with an offset"
        found.append(Violation("eventDateTime", message, "format"))
    location, location_field = _location(raw, found)
    mode = _mode(raw, found)
    transport = raw.get("eventType") == "TRANSPORT"
    equipment, equipment_field = _equipment(raw, transport, found)
    shipment, shipment_field = _shipment(raw, found)
    if found or event_type is None or equipment is None:
        return Unmapped(event_id, found)
    body: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "classifier": classifier,
        "occurred_at": occurred_at,
        "shipment_id": shipment,
        "location": location,
        "container_no" if equipment[0].isalpha() else "wagon_no": equipment,
    }
    if mode is not None:
        body["mode"] = mode
    if reason is not None:
        body["reason"] = reason
    return Mapped(
        body,
        {
            "event_id": "eventID",
            "event_type": code_field,
            "classifier": "eventClassifierCode",
            "occurred_at": "eventDateTime",
            "shipment_id": shipment_field,
            "location": location_field,
            "container_no": equipment_field,
            "wagon_no": equipment_field,
            "mode": "transportCall.modeOfTransport",
            "reason": code_field,
        },
    )


def _type(raw: dict[str, Any], found: list[Violation]) -> tuple[str | None, str, str | None]:
    kind = text(raw, "eventType")
    code_field = CODE_FIELDS.get(kind or "")
    if code_field is None:
        found.append(
            Violation(
                "eventType",
                f"{kind!r} is not mapped: send TRANSPORT or EQUIPMENT events",
                "not_mapped",
            )
        )
        return None, "eventType", None
    code = text(raw, code_field)
    table = TRANSPORT if kind == "TRANSPORT" else EQUIPMENT
    event_type = table.get(code or "")
    if event_type is None:
        found.append(
            Violation(
                code_field, f"{code!r} is not mapped (one of {', '.join(table)})", "not_mapped"
            )
        )
        return None, code_field, None
    return event_type, code_field, HOLD_REASONS.get(code or "")


def _aware(value: str | None) -> bool:
    try:
        return value is not None and datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _location(raw: dict[str, Any], found: list[Violation]) -> tuple[str | None, str]:
    """The transport call's UN/LOCODE, else the event location's (equipment events)."""
    for holder in ("transportCall", "eventLocation"):
        part = raw.get(holder)
        code = text(part, "UNLocationCode") if isinstance(part, dict) else None
        if code is not None:
            return code, f"{holder}.UNLocationCode"
    message = "is required: the corridor node"
    found.append(Violation("transportCall.UNLocationCode", message, "missing"))
    return None, "transportCall.UNLocationCode"


def _mode(raw: dict[str, Any], found: list[Violation]) -> str | None:
    call = raw.get("transportCall")
    mode = text(call, "modeOfTransport") if isinstance(call, dict) else None
    if mode is None:
        return None
    if mode not in MODES:
        found.append(
            Violation("transportCall.modeOfTransport", f"must be one of {', '.join(MODES)}", "enum")
        )
        return None
    return MODES[mode]


def _equipment(
    raw: dict[str, Any], transport: bool, found: list[Violation]
) -> tuple[str | None, str]:
    """``equipmentReference``; a transport event (about the vessel or train) may name the
    container instead in ``references`` of type ``EQ``."""
    equipment = text(raw, "equipmentReference")
    if equipment is not None:
        return equipment, "equipmentReference"
    if transport:
        for index, ref in enumerate(_list(raw, "references")):
            if text(ref, "referenceType") == "EQ" and (value := text(ref, "referenceValue")):
                return value, f"references.{index}.referenceValue"
    where = " (or a reference of type EQ)" if transport else ""
    message = f"is required{where}: the container or wagon"
    found.append(Violation("equipmentReference", message, "missing"))
    return None, "equipmentReference"


def _shipment(raw: dict[str, Any], found: list[Violation]) -> tuple[str | None, str]:
    references = list(enumerate(_list(raw, "documentReferences")))
    for kind in SHIPMENT_DOCUMENTS:
        for index, ref in references:
            if text(ref, "documentReferenceType") == kind:
                value = text(ref, "documentReferenceValue")
                if value is not None:
                    return value, f"documentReferences.{index}.documentReferenceValue"
    found.append(
        Violation(
            "documentReferences", "needs a reference of type BKG or TRD: the shipment", "missing"
        )
    )
    return None, "documentReferences"


def _list(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = raw.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
