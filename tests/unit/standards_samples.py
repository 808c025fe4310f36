"""EPCIS 2.0 and DCSA T&T v2.2 events written by us after the standards' published
examples (shapes of the GS1 EPCIS 2.0 JSON-LD examples and the DCSA v2.2 OpenAPI events),
with corridor data: containers, nodes and GLNs of corridor.yaml, shipments of our own."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
CONTAINER = "MSCU6639870"  # valid ISO 6346 check digit
AKTAU_SGLN = "urn:epc:id:sgln:4870000.00002.0"  # GLN 4870000000029 (assumed) of KZAAU
AKTAU_DIGITAL_LINK = "https://id.gs1.org/414/4870000000029"


def epcis_event(at: datetime, **changes: Any) -> dict[str, Any]:
    """A container departing Aktau, in the SGLN form; ``changes`` replace members
    (``None`` removes one)."""
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{uuid.uuid4()}",
        "eventTime": at.isoformat(),
        "eventTimeZoneOffset": "+05:00",
        "epcList": [f"urn:epc:id:bic:{CONTAINER}"],
        "action": "OBSERVE",
        "bizStep": "departing",
        "disposition": "in_transit",
        "readPoint": {"id": AKTAU_SGLN},
        "bizLocation": {"id": AKTAU_SGLN},
        "bizTransactionList": [
            {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4870000000005:PO-77"},
            {"type": "bol", "bizTransaction": "urn:epcglobal:cbv:bt:4870000000005:MCM-2026-00042"},
        ],
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not None}


def epcis_document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-02T08:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def dcsa_event(at: datetime, **changes: Any) -> dict[str, Any]:
    """An equipment event: the container loaded on the ferry at Aktau (DCSA T&T v2.2)."""
    event: dict[str, Any] = {
        "eventID": str(uuid.uuid4()),
        "eventType": "EQUIPMENT",
        "eventClassifierCode": "ACT",
        "eventCreatedDateTime": at.isoformat(),
        "eventDateTime": at.isoformat(),
        "equipmentEventTypeCode": "LOAD",
        "equipmentReference": CONTAINER,
        "ISOEquipmentCode": "45G1",
        "emptyIndicatorCode": "LADEN",
        "transportCall": {
            "transportCallID": "AKT-2026-311",
            "carrierServiceCode": "TCF",
            "UNLocationCode": "KZAAU",
            "facilityTypeCode": "POTE",
            "modeOfTransport": "VESSEL",
            "vessel": {"vesselName": "Professor Gul", "vesselFlag": "AZ"},
        },
        "documentReferences": [
            {"documentReferenceType": "BKG", "documentReferenceValue": "MCM-2026-00042"},
            {"documentReferenceType": "TRD", "documentReferenceValue": "ASCO-BL-0001"},
        ],
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not None}
