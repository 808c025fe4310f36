"""The standards' endpoints in ingest's OpenAPI (``services.ingest.openapi.document``).

Their bodies are the standards' own documents, open to every member the standards allow,
so they are described by the members the mapping reads (docs/standards.md has the rest).
"""

from __future__ import annotations

from typing import Any

from services.ingest.standards.api import CAPTURE_PATH, DCSA_PATH, EPCIS_EVENT_PATH, JOB_PATH

STANDARDS = "See docs/standards.md for the mapping onto the native event."
OBJECT = {"type": "object"}

SCHEMAS: dict[str, dict[str, Any]] = {
    "EpcisEvent": {
        "type": "object",
        "description": "A GS1 EPCIS 2.0 ObjectEvent with a transport business step.",
        "required": ["type", "action", "bizStep", "eventTime", "eventTimeZoneOffset", "epcList"],
        "properties": {
            "type": {"const": "ObjectEvent"},
            "eventID": {"type": "string"},
            "action": {"enum": ["OBSERVE", "ADD"]},
            "bizStep": {"type": "string", "examples": ["departing"]},
            "disposition": {"type": "string"},
            "eventTime": {"type": "string", "format": "date-time"},
            "eventTimeZoneOffset": {"type": "string", "examples": ["+05:00"]},
            "epcList": {"type": "array", "items": {"type": "string"}},
            "readPoint": {"type": "object", "properties": {"id": {"type": "string"}}},
            "bizLocation": {"type": "object", "properties": {"id": {"type": "string"}}},
            "bizTransactionList": {"type": "array", "items": OBJECT},
        },
    },
    "EpcisDocument": {
        "type": "object",
        "description": "An EPCISQueryDocument holds its events in "
        "epcisBody.queryResults.resultsBody.eventList.",
        "required": ["type", "schemaVersion", "epcisBody"],
        "properties": {
            "type": {"enum": ["EPCISDocument", "EPCISQueryDocument"]},
            "schemaVersion": {"type": "string", "examples": ["2.0"]},
            "epcisBody": {
                "type": "object",
                "properties": {
                    "eventList": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 1000,
                        "items": {"$ref": "#/components/schemas/EpcisEvent"},
                    }
                },
            },
        },
    },
    "DcsaEvent": {
        "type": "object",
        "description": "A DCSA Track & Trace v2.2 TRANSPORT or EQUIPMENT event.",
        "required": ["eventID", "eventType", "eventClassifierCode", "eventDateTime"],
        "properties": {
            "eventID": {"type": "string"},
            "eventType": {"enum": ["TRANSPORT", "EQUIPMENT"]},
            "eventClassifierCode": {"enum": ["PLN", "EST", "ACT"]},
            "eventDateTime": {"type": "string", "format": "date-time"},
            "transportEventTypeCode": {"enum": ["ARRI", "DEPA"]},
            "equipmentEventTypeCode": {
                "enum": ["LOAD", "DISC", "GTIN", "GTOT", "CROS", "CUSI", "CUSS", "CUSR"]
            },
            "equipmentReference": {"type": "string"},
            "transportCall": OBJECT,
            "references": {"type": "array", "items": OBJECT},
            "documentReferences": {"type": "array", "items": OBJECT},
        },
    },
    "CaptureJob": {
        "type": "object",
        "properties": {
            "captureID": {"type": "string"},
            "createdAt": {"type": "string", "format": "date-time"},
            "finishedAt": {"type": ["string", "null"], "format": "date-time"},
            "running": {"type": "boolean"},
            "success": {"type": "boolean"},
            "captureErrorBehaviour": {"enum": ["rollback", "proceed"]},
            "eventCount": {"type": "integer"},
            "capturedCount": {"type": "integer"},
            "errors": {"type": "array", "items": OBJECT},
        },
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def describe(schema: dict[str, Any], problems: Any) -> None:
    """Add the standards' paths and schemas; ``problems(codes)`` gives the error responses."""
    schema.setdefault("components", {}).setdefault("schemas", {}).update(SCHEMAS)
    epcis_media = ("application/json", "application/ld+json")

    def post(
        operation_id: str, summary: str, body: dict[str, Any], media: tuple[str, ...], ok: Any
    ) -> dict[str, Any]:
        return {
            "post": {
                "tags": ["standards"],
                "operationId": operation_id,
                "summary": summary,
                "description": STANDARDS,
                "security": [{"carrierKey": []}],
                "requestBody": {"required": True, "content": {m: {"schema": body} for m in media}},
                "responses": ok | problems((401, 403, 413, 415, 422, 429, 503)),
            }
        }

    accepted = {"202": {"description": "Accepted: the broker has the event."}}
    job = {"content": {"application/json": {"schema": _ref("CaptureJob")}}}
    paths = schema.setdefault("paths", {})
    paths[CAPTURE_PATH] = post(
        "epcis_capture",
        "Capture an EPCIS 2.0 document (a job)",
        _ref("EpcisDocument"),
        epcis_media,
        {"202": {"description": "The job; its URL in Location.", **job}} | problems((400,)),
    )
    paths[JOB_PATH] = {
        "get": {
            "tags": ["standards"],
            "operationId": "epcis_capture_job",
            "summary": "A capture job: running, success, per-event errors",
            "security": [{"carrierKey": []}],
            "parameters": [
                {"name": "captureID", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "The job.", **job}} | problems((401, 404)),
        }
    }
    paths[EPCIS_EVENT_PATH] = post(
        "epcis_event", "Capture one EPCIS 2.0 event", _ref("EpcisEvent"), epcis_media, accepted
    )
    dcsa_body = {"oneOf": [_ref("DcsaEvent"), {"type": "array", "items": _ref("DcsaEvent")}]}
    paths[DCSA_PATH] = post(
        "dcsa_events",
        "Post one DCSA T&T v2.2 event or an array of them",
        dcsa_body,
        ("application/json",),
        accepted | {"200": {"description": "An array: one result per event, in order."}},
    )
