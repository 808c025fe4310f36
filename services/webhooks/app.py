"""Composition root of webhooks: the subscriptions API, the consumer of states and
bookings, and the sender that drains the outbox.

Nothing connects at import time; the database, the broker, the consumer loop and the
sender start in the lifespan. ``/readyz`` fails only without the database; the broker and
the consumer loop are reported there as degraded checks, and the loop's watchdog feeds
``/healthz``, as in the tracker and the tariff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker

from corridor import db
from corridor.clock import Clock, utcnow
from corridor.kafka import (
    TOPICS,
    ConsumerLoop,
    KafkaMetrics,
    Progress,
    Publisher,
    TopicSpec,
    ensure_topics,
)
from corridor.metrics import make_registry
from corridor.security import build_security
from corridor.topology import load_topology
from corridor.web import create_app as create_service_app
from services.webhooks import api
from services.webhooks.consumer import RecordConsumer
from services.webhooks.db import MIGRATIONS
from services.webhooks.domain import RetryPolicy
from services.webhooks.guard import AddressPolicy
from services.webhooks.handlers import Deliveries
from services.webhooks.metrics import WebhooksMetrics
from services.webhooks.sender import USER_AGENT, Sender
from services.webhooks.settings import WebhooksSettings

DESCRIPTION = (
    "Partner webhooks: subscribe a callback to the states of the shipments you may read "
    "(cargo.shipments.v1); each delivery is signed (Notification-Signature), sent at least "
    "once and in order per shipment, from a durable outbox."
)


def create_app(settings: WebhooksSettings | None = None, *, clock: Clock = utcnow) -> FastAPI:
    settings = settings or WebhooksSettings()
    topology = load_topology()
    registry = make_registry()
    # Raises (the service does not start) on a broken registry, or demo keys in production.
    security = build_security(settings, topology, registry, "webhooks", clock)
    policy = AddressPolicy.of(
        settings.loopback_allowed, settings.allowed_callback_networks, settings.https_required
    )
    metrics = WebhooksMetrics(registry)
    kafka_metrics = KafkaMetrics(registry, "webhooks")
    engine = db.make_engine(settings.database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    nodes = frozenset(topology.nodes)
    publisher = Publisher(settings.kafka, "corridor-webhooks", kafka_metrics)  # dead letters
    wake = asyncio.Event()
    deliveries = Deliveries(sessions, security.rules, metrics, clock)
    consumer = ConsumerLoop(
        settings.kafka,
        settings.consumer_group,
        [settings.events_topic, settings.shipments_topic],
        RecordConsumer(deliveries, settings.shipments_topic, nodes, wake).handle,
        publisher,
        kafka_metrics,
        client_id=f"corridor-webhooks-{settings.instance}",
        progress=Progress(
            settings.consumer_ready_grace_seconds, settings.consumer_live_grace_seconds
        ),
    )
    retry = RetryPolicy(
        settings.max_attempts, settings.retry_base_seconds, settings.retry_cap_seconds
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.migrate(engine, MIGRATIONS)
        specs = {spec.name: spec for spec in TOPICS}
        for name in (settings.events_topic, settings.shipments_topic):
            specs.setdefault(name, TopicSpec(name))
        await ensure_topics(settings.kafka, specs.values(), client_id="corridor-webhooks")
        await publisher.start()
        client = httpx.AsyncClient(
            timeout=settings.delivery_timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=settings.sender_concurrency),
        )
        sender = Sender(
            sessions,
            client,
            policy,
            retry,
            metrics,
            clock,
            concurrency=settings.sender_concurrency,
            lease_seconds=settings.lease_seconds,
            known=lambda principal: security.principals.get(principal) is not None,
        )
        app.state.sender = sender
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(consumer.run(stop), name="webhooks-consumer"),
            asyncio.create_task(
                sender.run(stop, wake, settings.sender_interval_seconds), name="webhooks-sender"
            ),
        ]
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*tasks, return_exceptions=True),
                    settings.shutdown_grace_seconds,
                )
            for task in tasks:
                task.cancel()
            await client.aclose()
            await publisher.stop()
            await engine.dispose()

    app = create_service_app(
        service="webhooks",
        title="corridor webhooks",
        description=DESCRIPTION,
        registry=registry,
        checks=lambda: {"database": lambda: db.ping(engine)},
        # The API and the sender need the database only: subscriptions are served and the
        # outbox drained while Kafka is away (a stuck consumer is restarted via /healthz).
        degraded=lambda: {"broker": publisher.ping, "consumer": consumer.is_ready},
        liveness=lambda: {"consumer": consumer.alive},
        lifespan=lifespan,
    )
    app.state.authenticator = security.authenticator
    app.state.subscriptions = api.Subscriptions(
        sessions,
        policy,
        nodes,
        clock,
        timedelta(seconds=settings.secret_overlap_seconds),
        settings.max_subscriptions_per_principal,
    )
    app.state.consumer = consumer
    app.include_router(api.router)
    return app
