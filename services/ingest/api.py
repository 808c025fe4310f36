"""HTTP entrypoints of ingest: translate requests to the use case and outcomes to JSON.

``POST /v1/events`` and ``POST /v1/events/batch`` are the hot path, so they are served
as pure ASGI endpoints (Starlette routes to objects that are not functions as raw ASGI
apps): no per-request ``Request``/``Response`` objects or dependency solving, bodies
validated straight from bytes by pydantic (``model_validate_json``, in Rust). They still
run inside the service's middleware (request ids, HTTP metrics, body size limit), and
``document`` describes them in the OpenAPI served at ``/docs``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_json
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from corridor.auth import Authenticator, too_many_failures
from corridor.parties import Leg
from corridor.principals import Principal
from corridor.problems import MAX_ERRORS, PROBLEM_JSON, Problem, field_error
from services.ingest.domain import ReportedBooking, ReportedEvent, Violation
from services.ingest.handlers import Ingest
from services.ingest.invalid import invalid, item_violations
from services.ingest.limits import RateLimiter, retry_after
from services.ingest.metrics import RATE_LIMITED, REJECTED
from services.ingest.outcomes import Invalid, ItemOutcome, Verdict
from services.ingest.schemas import BatchEnvelope, BatchIn, EventIn
from services.ingest.statuses import status_of

EVENT_PATH = "/v1/events"
BATCH_PATH = "/v1/events/batch"
UNAVAILABLE_DETAIL = "the broker did not acknowledge in time; retry with the same event_id"
JSON_HEADER = (b"content-type", b"application/json")
JSON_ONLY = frozenset({"application/json"})
PROBLEM_HEADER = (b"content-type", PROBLEM_JSON.encode())

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


class Endpoint:
    """A pure ASGI endpoint that names its route (for the HTTP metrics' ``route`` label)."""

    def __init__(self, path: str, handle: Handler) -> None:
        self.path = path
        self._handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self
        await self._handle(scope, receive, send)


class EventsApi:
    def __init__(
        self,
        ingest: Ingest,
        authenticator: Authenticator,
        limiter: RateLimiter,
        retry_after_seconds: int,
    ) -> None:
        self.ingest = ingest
        self.authenticator = authenticator
        self.limiter = limiter
        self.unavailable_headers = {"Retry-After": str(retry_after_seconds)}

    def routes(self) -> list[Route]:
        return [
            Route(EVENT_PATH, Endpoint(EVENT_PATH, self.post_event), methods=["POST"]),
            Route(BATCH_PATH, Endpoint(BATCH_PATH, self.post_batch), methods=["POST"]),
        ]

    async def post_event(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            carrier = await self.admit(scope)
            body = await read_body(receive)
            if body is None:
                return  # the client went away
            try:
                parsed = EventIn.model_validate_json(body)
            except ValidationError as exc:
                self.ingest.metrics.count(carrier.id, "unknown", REJECTED)
                raise invalid(exc, EventIn, body) from None
            outcome = await self.ingest.submit(carrier, reported(parsed))
            if not outcome.accepted:
                raise self.problem_of(outcome)
        except Problem as problem:
            await send_problem(scope, send, problem)
            return
        await send_json(send, 202, {"event_id": parsed.event_id, "status": "accepted"})

    def problem_of(self, outcome: ItemOutcome) -> Problem:
        detail = "; ".join(f"{v.field}: {v.message}" if v.field else v.message
                           for v in outcome.violations[:5])  # fmt: skip
        if outcome.unavailable:
            return Problem(
                503, detail, errors=_errors(outcome.violations), headers=self.unavailable_headers
            )
        return Problem(
            status_of(outcome),
            detail,
            slug=outcome.slug,
            title="Conflict" if outcome.verdict is Verdict.REUSED else None,
            errors=_errors(outcome.violations),
            error_count=len(outcome.violations),
        )

    async def post_batch(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            carrier = await self.admit(scope)
            body = await read_body(receive)
            if body is None:
                return
            items = self._batch_items(body, carrier)
            await self.limiter.charge(carrier.id, len(items) - 1)
            outcomes = await self.ingest.submit_many(carrier, items)
            if any(o.unavailable for o in outcomes) and not any(o.accepted for o in outcomes):
                raise Problem(
                    503,
                    "no event of the batch could be published: " + UNAVAILABLE_DETAIL,
                    headers=self.unavailable_headers,
                )
        except Problem as problem:
            await send_problem(scope, send, problem)
            return
        results = [
            {
                "index": index,
                "event_id": outcome.event_id,
                "status": "accepted" if outcome.accepted else "rejected",
                "errors": _errors(outcome.violations),
                "error_count": max(outcome.error_count, len(outcome.violations)),
            }
            for index, outcome in enumerate(outcomes)
        ]
        accepted = sum(1 for o in outcomes if o.accepted)
        await send_json(
            send,
            200,
            {"accepted": accepted, "rejected": len(outcomes) - accepted, "results": results},
        )

    async def admit(self, scope: Scope, media_types: frozenset[str] = JSON_ONLY) -> Principal:
        """The carrier of the request, once it may post (401, 403, 429 and 415 otherwise)."""
        authorization = content_type = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-type":
                content_type = value
        auth = self.authenticator
        carrier = await self.principal(scope, authorization)
        if not carrier.may_post:
            auth.denials.deny(carrier.role.value, "may_not_post", principal=carrier.id)
            raise Problem(
                403,
                f"principal {carrier.id} ({carrier.role.value}) does not post events",
                errors=[
                    field_error("Authorization", "this principal may not post", "may_not_post")
                ],
            )
        wait = await self.limiter.admit(carrier.id)
        if wait is not None:
            self.ingest.metrics.count(carrier.id, "unknown", RATE_LIMITED)
            auth.denials.deny(carrier.role.value, RATE_LIMITED, carrier=carrier.id)
            raise Problem(
                429,
                f"rate limit of {self.limiter.rate:g} events/s for carrier {carrier.id} exhausted",
                headers={"Retry-After": retry_after(wait)},
            )
        media = content_type.decode("latin-1").partition(";")[0].strip().lower()
        if media not in media_types:
            allowed = " or ".join(sorted(media_types))
            raise Problem(
                415,
                f"send the body as {allowed}, not {media or 'no content type'}",
                errors=[field_error("Content-Type", f"must be {allowed}", "unsupported")],
            )
        return carrier

    async def principal(self, scope: Scope, authorization: bytes | None = None) -> Principal:
        """Who sends the request (401 or 429 otherwise), whatever it may do.

        A known API key is found synchronously; only what is not one (an OpenID Connect
        token, or a failure to count per client address) takes the slower way."""
        if authorization is None:
            authorization = next((v for n, v in scope["headers"] if n == b"authorization"), b"")
        auth = self.authenticator
        header = authorization.decode("latin-1")
        address = client[0] if (client := scope.get("client")) else "unknown"
        wait = auth.failures.blocked_for(address)
        if wait is not None:
            auth.denials.deny("anonymous", "too_many_failures", client=address)
            raise too_many_failures(wait)
        return auth.known(header) or await auth.authenticate(header, address)

    def _batch_items(self, body: bytes, carrier: Principal) -> list[ReportedEvent | Invalid]:
        """Every item, well-formed or not; a malformed envelope fails the whole request."""
        try:
            return [reported(event) for event in BatchIn.model_validate_json(body).events]
        except ValidationError:
            pass  # some items are invalid: judge them one by one
        try:
            envelope = BatchEnvelope.model_validate_json(body)
        except ValidationError as exc:
            self.ingest.metrics.count(carrier.id, "unknown", REJECTED)
            raise invalid(exc, BatchEnvelope, body) from None
        return [_item(raw) for raw in envelope.events]


def _item(raw: Any) -> ReportedEvent | Invalid:
    try:
        return reported(EventIn.model_validate_json(to_json(raw)))
    except ValidationError as exc:
        fields = raw if isinstance(raw, dict) else {}
        event_id, event_type = fields.get("event_id"), fields.get("event_type")
        violations, count = item_violations(exc, raw)
        return Invalid(
            event_id if isinstance(event_id, str) and len(event_id) <= 128 else None,
            event_type if isinstance(event_type, str) else "unknown",
            violations,
            count,
        )


def reported(event: EventIn) -> ReportedEvent:
    booking = event.booking
    return ReportedEvent(
        event_id=event.event_id,
        event_type=event.event_type,
        occurred_at=event.occurred_at,
        shipment_id=event.shipment_id,
        location=event.location,
        classifier=event.classifier,
        container_no=event.container_no,
        wagon_no=event.wagon_no,
        mode=event.mode,
        reason=event.reason,
        booking=None
        if booking is None
        else ReportedBooking(
            origin=booking.origin,
            destination=booking.destination,
            container_type=booking.container_type,
            gross_weight_kg=booking.gross_weight_kg,
            cargo_description=booking.cargo_description,
            hs_code=booking.hs_code,
            promised_delivery_at=booking.promised_delivery_at,
            parties=None
            if booking.parties is None
            else booking.parties.model_dump(exclude_none=True),
            legs=tuple(
                Leg(leg.carrier, leg.origin or "", leg.destination or "")
                for leg in booking.legs or ()
            ),
        ),
    )


async def read_body(receive: Receive) -> bytes | None:
    """The whole body (already bounded by ``BodySizeLimit``); ``None`` if the client left."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _errors(violations: list[Violation]) -> list[dict[str, Any]]:
    return [field_error(v.field, v.message, v.code) for v in violations[:MAX_ERRORS]]


async def send_json(
    send: Send,
    status: int,
    body: Any,
    content_type: tuple[bytes, bytes] = JSON_HEADER,
    headers: dict[str, str] | None = None,
) -> None:
    content = to_json(body)
    raw_headers = [content_type, (b"content-length", str(len(content)).encode())]
    for name, value in (headers or {}).items():
        raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": content})


async def send_problem(scope: Scope, send: Send, problem: Problem) -> None:
    await send_json(
        send, problem.status, problem.body(scope.get("path")), PROBLEM_HEADER, problem.headers
    )
