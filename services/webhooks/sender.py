"""The sender: drains the outbox of deliveries, at least once and in order per
(subscription, shipment).

Each round takes the due deliveries that are the head of their (subscription, shipment)
queue (``store.due_pending``), claims each one (a lease, so that two replicas do not send
it at once), and sends them concurrently: different queues never wait for each other. A
2xx marks a delivery delivered; anything else is retried with bounded, jittered back-off
(``domain.RetryPolicy``) until the attempts run out, when it is given up and the next
state of that shipment goes. Deliveries are rows: a restart resumes where it stopped (a
delivery sent but not yet marked is sent again: receivers dedupe on the delivery id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.webhooks import store
from services.webhooks.db import DeliveryRow, SubscriptionRow
from services.webhooks.domain import RetryPolicy, secrets_in_force, signature_header
from services.webhooks.guard import AddressPolicy, CallbackRefused, check_callback, pinned
from services.webhooks.metrics import WebhooksMetrics

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Notification-Signature"
ID_HEADER = "Notification-Id"
TIMESTAMP_HEADER = "Notification-Timestamp"
USER_AGENT = "corridor-webhooks/1"


class Sender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: httpx.AsyncClient,
        policy: AddressPolicy,
        retry: RetryPolicy,
        metrics: WebhooksMetrics,
        clock: Callable[[], datetime],
        *,
        concurrency: int = 16,
        lease_seconds: float = 60.0,
        known: Callable[[str], bool] = lambda _principal: True,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.policy = policy
        self.retry = retry
        self.metrics = metrics
        self.clock = clock
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease_seconds)
        # Whether a subscription's principal is still in the registry: a revoked one's
        # deliveries are given up, never sent.
        self.known = known
        self.rounds = 0

    async def run(self, stop: asyncio.Event, wake: asyncio.Event, interval: float) -> None:
        """Send until ``stop``; a failed round (database down) is logged and retried.
        On ``stop`` the attempts in flight are abandoned and their deliveries released
        (due again at once, for the next start); after a crash their lease runs out."""
        while not stop.is_set():
            wake.clear()
            work = asyncio.ensure_future(self.round())
            if not await _first(work, stop):
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await work
                return
            try:
                sent = work.result()
            except Exception:
                log.exception("delivery round failed; retrying")
                sent = 0
            if not sent:
                # Nothing was due: wait for the consumer's wake-up, the interval or stop.
                woken = asyncio.ensure_future(wake.wait())
                try:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(interval):
                            await _first(woken, stop)
                finally:
                    woken.cancel()

    async def round(self) -> int:
        """One pass over what is due; the number of attempts made."""
        now = self.clock()
        async with self.sessions() as session, session.begin():
            due = await store.due_pending(session, now, self.concurrency)
            claimed: list[tuple[DeliveryRow, SubscriptionRow]] = []
            for delivery in due:
                if await store.claim(
                    session, delivery.id, delivery.next_attempt_at, now + self.lease
                ):
                    subscription = await session.get(SubscriptionRow, delivery.subscription_id)
                    if subscription is not None:
                        claimed.append((delivery, subscription))
            pending = await store.count_pending(session)
            oldest = await store.oldest_pending(session)
        self.metrics.pending.set(pending)
        self.metrics.oldest_pending.set(0 if oldest is None else (now - oldest).total_seconds())
        self.rounds += 1
        finished: set[str] = set()
        try:
            results = await asyncio.gather(
                *(self._attempt(d, s, finished) for d, s in claimed), return_exceptions=True
            )
        except asyncio.CancelledError:
            unfinished = [d.id for d, _ in claimed if d.id not in finished]
            async with self.sessions() as session, session.begin():
                await store.release(session, unfinished, self.clock())
            raise
        for result in results:
            if isinstance(result, Exception):  # the database, recording an attempt: the
                log.error("delivery not recorded", exc_info=result)  # lease brings it back
        return len(claimed)

    async def _attempt(
        self, delivery: DeliveryRow, subscription: SubscriptionRow, finished: set[str]
    ) -> None:
        now = self.clock()
        attempts = delivery.attempts + 1
        if self.known(subscription.principal):
            error, reason = await self._send(delivery, subscription)
            now = self.clock()
            delivered = error is None
            next_at = None if delivered else self.retry.after_failure(attempts, now)
        else:
            error, reason = "the subscription's principal is no longer known", "principal_unknown"
            delivered, next_at = False, None
        async with self.sessions() as session, session.begin():
            await store.finish(
                session,
                delivery.id,
                attempts=attempts,
                delivered=delivered,
                next_attempt_at=next_at,
                now=now,
                error=None if error is None else error[:500],
            )
        finished.add(delivery.id)
        if delivered:
            self.metrics.attempts.labels("delivered").inc()
            self.metrics.lag.observe(max(0.0, (now - delivery.created_at).total_seconds()))
            return
        self.metrics.failures.labels(reason).inc()
        outcome = "failed" if next_at is not None else "given_up"
        self.metrics.attempts.labels(outcome).inc()
        log.warning(
            "delivery failed",
            extra={
                "delivery_id": delivery.id,
                "subscription_id": subscription.id,
                "attempt": attempts,
                "outcome": outcome,
                "error": error,
            },
        )

    async def _send(
        self, delivery: DeliveryRow, subscription: SubscriptionRow
    ) -> tuple[str | None, str]:
        """``(None, "")`` on a 2xx, else the error and the failure reason label."""
        try:
            addresses = await check_callback(subscription.callback_url, self.policy)
        except CallbackRefused as exc:
            return f"callback refused: {exc}", "refused_address"
        now = self.clock()
        body = delivery.body.encode()
        secrets = secrets_in_force(
            subscription.secret,
            subscription.previous_secret,
            subscription.previous_secret_until,
            now,
        )
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            ID_HEADER: delivery.id,
            TIMESTAMP_HEADER: now.isoformat().replace("+00:00", "Z"),
            SIGNATURE_HEADER: signature_header(secrets, body),
        }
        error = "no address"
        for address in addresses:  # the next one only when this one cannot be reached
            url, host, extensions = pinned(subscription.callback_url, address)
            try:
                response = await self.client.post(
                    url, content=body, headers={**headers, "Host": host}, extensions=extensions
                )
            except httpx.ConnectError as exc:
                error = f"connection: {type(exc).__name__}: {exc}"
                continue
            except httpx.TimeoutException as exc:
                return f"timeout: {type(exc).__name__}", "timeout"
            except httpx.HTTPError as exc:
                return f"connection: {type(exc).__name__}: {exc}", "connection"
            if 200 <= response.status_code < 300:
                return None, ""
            return f"HTTP {response.status_code}", "http_status"
        return error, "connection"


async def _first(work: asyncio.Future[Any], stop: asyncio.Event) -> bool:
    """Wait for ``work`` or ``stop``; whether ``work`` finished (``stop`` not set first)."""
    stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    return work.done() and not stop.is_set()
