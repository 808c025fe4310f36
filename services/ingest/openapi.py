"""The OpenAPI description of the event endpoints (and, from ``standards.openapi``, the
standards' ones).

They are pure ASGI endpoints (see ``api.py``), which FastAPI does not describe by itself;
this adds them, with their request and response schemas generated from ``schemas.py``,
the bearer security scheme and every problem+json error they answer with.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from corridor.problems import PROBLEM_JSON
from services.ingest.api import BATCH_PATH, EVENT_PATH
from services.ingest.schemas import BatchIn, BatchOut, EventAccepted, EventIn, ProblemOut
from services.ingest.standards.openapi import describe

PROBLEMS = {
    400: "A header is not one of its allowed values (GS1-Capture-Error-Behaviour).",
    401: "No API key, or an unknown one.",
    403: "The carrier does not operate at the event's location, or may not book.",
    413: "The body is over 1 MiB (counted as it streams in, chunked bodies too).",
    404: "No such capture job of the caller's.",
    415: "The body is not `application/json` (EPCIS: nor `application/ld+json`).",
    422: "Invalid JSON or an invalid event; `errors` names each field at fault.",
    429: "The carrier's rate limit is exhausted: retry after `Retry-After` seconds.",
    503: "The broker did not acknowledge in time. Nothing is lost: retry with the same "
    "event_id after `Retry-After` seconds (each event is applied once downstream).",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}

OPERATIONS: dict[str, dict[str, Any]] = {
    EVENT_PATH: {
        "operationId": "post_event",
        "summary": "Post one event",
        "description": "Answers 202 only once the broker has acknowledged the event. "
        "Posting the same event (same event_id) again is safe: it is applied once.",
        "body": EventIn,
        "ok": ("202", "Accepted: the broker has the event.", EventAccepted),
        "problems": (401, 403, 413, 415, 422, 429, 503),
    },
    BATCH_PATH: {
        "operationId": "post_events_batch",
        "summary": "Post 1 to 1000 events",
        "description": "Each item is judged on its own: valid items are published even "
        "when others are rejected, and the answer has one result per item, in order. An "
        "item the broker did not acknowledge in time is rejected with the error code "
        "`unavailable` (retry it with the same event_id); when no valid item could be "
        "published at all, the answer is 503. The rate limit counts each item.",
        "body": BatchIn,
        "ok": ("200", "One result per item, in order.", BatchOut),
        "problems": (401, 413, 415, 422, 429, 503),
    },
}


def _ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    if model.__name__ not in schemas:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _problems(codes: tuple[int, ...], schemas: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for code in codes:
        response: dict[str, Any] = {
            "description": PROBLEMS[code],
            "content": {PROBLEM_JSON: {"schema": _ref(ProblemOut, schemas)}},
        }
        if code in (429, 503):
            response["headers"] = RETRY_AFTER
        responses[str(code)] = response
    return responses


def _operation(spec: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    status, description, model = spec["ok"]
    content = {"application/json": {"schema": _ref(model, schemas)}}
    responses: dict[str, Any] = {status: {"description": description, "content": content}}
    responses |= _problems(spec["problems"], schemas)
    return {
        "tags": ["events"],
        "operationId": spec["operationId"],
        "summary": spec["summary"],
        "description": spec["description"],
        "security": [{"carrierKey": []}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref(spec["body"], schemas)}},
        },
        "responses": responses,
    }


def document(app: FastAPI) -> None:
    """Add the event endpoints to the app's generated OpenAPI."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for path, spec in OPERATIONS.items():
            schema.setdefault("paths", {})[path] = {"post": _operation(spec, schemas)}
        describe(schema, lambda codes: _problems(codes, schemas))
        components.setdefault("securitySchemes", {})["carrierKey"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "The carrier's API key (local demo: `demo-<carrier id>`).",
        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
