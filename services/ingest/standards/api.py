"""HTTP entrypoints of the standards (docs/ingest-api.md, docs/standards.md).

- ``POST /epcis/capture``: an ``EPCISDocument``; ``202`` and ``Location`` of its job.
- ``GET /epcis/capture/{captureID}``: the job, to its owner or an operator.
- ``POST /epcis/events``: one EPCIS event, captured at once (``202`` or problem+json).
- ``POST /dcsa/v2/events``: one DCSA T&T v2.2 event (as ``/epcis/events``) or an array
  of them (as ``/v1/events/batch``).

Authentication, the right to post, the rate limit and the body limit are those of
``POST /v1/events`` (``EventsApi``); a capture of n events costs n, like a batch.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import from_json
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from corridor.principals import Principal, Role
from corridor.problems import Problem, field_error
from corridor.topology import Topology
from services.ingest.api import (
    JSON_ONLY,
    Endpoint,
    EventsApi,
    read_body,
    send_json,
    send_problem,
)
from services.ingest.metrics import REJECTED
from services.ingest.outcomes import ItemOutcome, Verdict
from services.ingest.schemas import MAX_BATCH_EVENTS
from services.ingest.standards import dcsa, epcis
from services.ingest.standards.capture import CaptureJobs, submit
from services.ingest.standards.common import Mapped, Unmapped
from services.ingest.standards.jobs import PROCEED, ROLLBACK

CAPTURE_PATH = "/epcis/capture"
JOB_PATH = "/epcis/capture/{captureID}"
EPCIS_EVENT_PATH = "/epcis/events"
DCSA_PATH = "/dcsa/v2/events"
BEHAVIOUR_HEADER = b"gs1-capture-error-behaviour"
EPCIS_MEDIA = frozenset({"application/json", "application/ld+json"})
MAX_CAPTURE_EVENTS = 10 * MAX_BATCH_EVENTS  # corridor events (containers) of a capture
GONE = object()  # the client went away before its body was read (JSON ``null`` is a body)


class StandardsApi:
    def __init__(self, events: EventsApi, topology: Topology, jobs: CaptureJobs | None) -> None:
        self.events = events
        self.ingest = events.ingest
        self.topology = topology
        self.jobs = jobs

    def routes(self) -> list[Route]:
        routes = [
            Route(
                EPCIS_EVENT_PATH,
                Endpoint(EPCIS_EVENT_PATH, self.post_epcis_event),
                methods=["POST"],
            ),
            Route(DCSA_PATH, Endpoint(DCSA_PATH, self.post_dcsa), methods=["POST"]),
        ]
        if self.jobs is not None:  # ingest started without its database has no jobs
            routes += [
                Route(CAPTURE_PATH, Endpoint(CAPTURE_PATH, self.post_capture), methods=["POST"]),
                Route(JOB_PATH, Endpoint(JOB_PATH, self.get_job), methods=["GET"]),
            ]
        return routes

    async def post_capture(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.jobs is not None
        try:
            carrier = await self.events.admit(scope, EPCIS_MEDIA)
            behaviour = _behaviour(scope)
            document = await self._json(scope, receive, carrier)
            if document is GONE:
                return
            try:
                events = epcis.document_events(document)
            except epcis.DocumentError as exc:
                self.ingest.metrics.count(carrier.id, "unknown", REJECTED)
                errors = [field_error(exc.field, exc.message)]
                raise Problem(422, str(exc), errors=errors) from None
            # Each container an event names is an event of its own: they are what is
            # bounded and what the rate limit counts.
            count = epcis.containers_named(events)
            if count > MAX_CAPTURE_EVENTS:
                message = f"names {count} containers in all; at most {MAX_CAPTURE_EVENTS}"
                raise Problem(
                    422,
                    f"epcisBody: {message}",
                    errors=[field_error("epcisBody", message, "too_many")],
                )
            await self.events.limiter.charge(carrier.id, count - 1)
            job = await self.jobs.create(carrier, events, behaviour)
        except Problem as problem:
            await send_problem(scope, send, problem)
            return
        location = f"{CAPTURE_PATH}/{job.capture_id}"
        await send_json(send, 202, job.body(), headers={"Location": location})

    async def get_job(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.jobs is not None
        capture_id = str(scope.get("path_params", {}).get("captureID", ""))
        try:
            reader = await self.events.principal(scope)
            job = await self.jobs.store.get(capture_id) if len(capture_id) <= 36 else None
            if job is None or (job.owner != reader.id and reader.role is not Role.OPERATOR):
                # Another's job is not found either: its existence is not told.
                raise Problem(404, f"no capture job {capture_id} of yours")
        except Problem as problem:
            await send_problem(scope, send, problem)
            return
        await send_json(send, 200, job.body())

    async def post_epcis_event(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            carrier = await self.events.admit(scope, EPCIS_MEDIA)
            raw = await self._json(scope, receive, carrier)
            if raw is GONE:
                return
            if isinstance(raw, dict) and str(raw.get("type")) in epcis.EVENT_LISTS:
                raise Problem(
                    422,
                    f"type: a document is captured at {CAPTURE_PATH}, one event here",
                    errors=[field_error("type", "must be an EPCIS event", "not_mapped")],
                )
            mapped = epcis.map_event(raw, self.topology)
            results = mapped if isinstance(mapped, list) else [mapped]
            await self.events.limiter.charge(carrier.id, len(results) - 1)
            # One EPCIS event: all of its containers' events, or none.
            outcomes = await submit(self.ingest, carrier, results, all_or_nothing=True)
            failed = [
                o for o in outcomes if not o.accepted and o.verdict is not Verdict.ROLLED_BACK
            ]
            if failed:
                raise self.events.problem_of(failed[0])
        except Problem as problem:
            await send_problem(scope, send, problem)
            return
        base = epcis.event_id_of(raw) if isinstance(raw, dict) else None
        ids = [o.event_id for o in outcomes]
        await send_json(send, 202, {"event_id": base, "status": "accepted", "event_ids": ids})

    async def post_dcsa(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            carrier = await self.events.admit(scope, JSON_ONLY)
            raw = await self._json(scope, receive, carrier)
            if raw is GONE:
                return
            if not isinstance(raw, list):
                await self._one(carrier, dcsa.map_event(raw), send)
                return
            if not 1 <= len(raw) <= MAX_BATCH_EVENTS:
                raise Problem(
                    422,
                    f"send 1 to {MAX_BATCH_EVENTS} events",
                    errors=[field_error("", f"must hold 1 to {MAX_BATCH_EVENTS} events", "length")],
                )
            await self.events.limiter.charge(carrier.id, len(raw) - 1)
            results = [dcsa.map_event(event) for event in raw]
            outcomes = await submit(self.ingest, carrier, results)
        except Problem as problem:
            await send_problem(scope, send, problem)
            return
        await send_json(send, 200, _batch_body(outcomes))

    async def _one(self, carrier: Principal, result: Mapped | Unmapped, send: Send) -> None:
        [outcome] = await submit(self.ingest, carrier, [result])
        if not outcome.accepted:
            raise self.events.problem_of(outcome)
        await send_json(send, 202, {"event_id": outcome.event_id, "status": "accepted"})

    async def _json(self, scope: Scope, receive: Receive, carrier: Principal) -> Any:
        body = await read_body(receive)
        if body is None:
            return GONE
        try:
            return from_json(body)
        except ValueError as exc:
            self.ingest.metrics.count(carrier.id, "unknown", REJECTED)
            raise Problem(
                422,
                f"the body is not JSON: {exc}",
                errors=[field_error("", "invalid JSON", "json_invalid")],
            ) from None


def _behaviour(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == BEHAVIOUR_HEADER:
            chosen = str(value.decode("latin-1")).strip().lower()
            if chosen not in (ROLLBACK, PROCEED):
                raise Problem(
                    400,
                    "GS1-Capture-Error-Behaviour must be rollback or proceed",
                    errors=[
                        field_error(
                            "GS1-Capture-Error-Behaviour", "must be rollback or proceed", "enum"
                        )
                    ],
                )
            return chosen
    return ROLLBACK


def _batch_body(outcomes: list[ItemOutcome]) -> dict[str, Any]:
    results = [
        {
            "index": index,
            "event_id": outcome.event_id,
            "status": "accepted" if outcome.accepted else "rejected",
            "errors": [field_error(v.field, v.message, v.code) for v in outcome.violations[:20]],
            "error_count": max(outcome.error_count, len(outcome.violations)),
        }
        for index, outcome in enumerate(outcomes)
    ]
    accepted = sum(1 for o in outcomes if o.accepted)
    return {"accepted": accepted, "rejected": len(outcomes) - accepted, "results": results}
