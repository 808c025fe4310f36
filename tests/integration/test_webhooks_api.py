"""The subscriptions API on a real database: the callback address guard (422 naming
``callback_url``), filter values checked, own subscriptions only (operators: all), the
secret write-only, and a rotation during which deliveries carry both signatures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from corridor import db
from corridor.kafka import Publisher
from corridor.settings import KafkaSettings
from services.webhooks.app import create_app
from services.webhooks.db import MIGRATIONS
from services.webhooks.domain import verify
from services.webhooks.settings import WebhooksSettings
from tests.conftest import unique
from tests.integration.webhook_receiver import Receiver
from tests.integration.webhooks_support import (
    SECRET,
    auth,
    publish_booking,
    publish_states,
    running,
    state,
    subscribe,
    webhooks_settings,
)
from tests.support import eventually

pytestmark = pytest.mark.integration

HOOK = "https://hooks.partner.example/corridor"


async def api_client(settings: WebhooksSettings) -> httpx.AsyncClient:
    """The API alone (no consumer, no sender) on a migrated database."""
    engine = db.make_engine(settings.database_url)
    try:
        await db.migrate(engine, MIGRATIONS)
    finally:
        await engine.dispose()
    transport = httpx.ASGITransport(app=create_app(settings))
    return httpx.AsyncClient(transport=transport, base_url="http://webhooks")


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = webhooks_settings(database_url, KafkaSettings())
    async with await api_client(settings) as c:
        yield c


def body(url: str = "http://127.0.0.1:9/hook", **filter_: Any) -> dict[str, Any]:
    return {"callback_url": url, "secret": SECRET, "filter": filter_}


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",
        "http://192.168.1.20:8080/hook",
        "http://172.20.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_callbacks_to_private_or_link_local_addresses_are_refused(
    client: httpx.AsyncClient, url: str
) -> None:
    response = await client.post("/v1/subscriptions", json=body(url), headers=auth("mcm"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/callback-refused"
    assert [e["field"] for e in problem["errors"]] == ["callback_url"]
    assert problem["detail"].startswith("callback_url: ")


async def test_loopback_is_refused_unless_configuration_allows_it(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    strict = webhooks_settings(url, KafkaSettings(), allow_loopback_callbacks=False)
    async with await api_client(strict) as c:
        for hook in ("http://127.0.0.1:9000/hook", "http://localhost:9000/hook"):
            response = await c.post("/v1/subscriptions", json=body(hook), headers=auth("mcm"))
            assert response.status_code == 422
            assert "loopback" in response.json()["errors"][0]["message"]
    https_only = webhooks_settings(url, KafkaSettings(), require_https=True)
    async with await api_client(https_only) as c:
        response = await c.post("/v1/subscriptions", json=body(), headers=auth("mcm"))
        assert response.status_code == 422
        assert response.json()["errors"][0] == {
            "field": "callback_url",
            "message": "the scheme must be https",
            "code": "callback_refused",
        }


async def test_filter_values_are_checked_and_named(client: httpx.AsyncClient) -> None:
    bad = body(event_types=["DEPARTED", "TELEPORTED"], locations=["XXZZZ"], states=["LOST"])
    response = await client.post("/v1/subscriptions", json=bad, headers=auth("mcm"))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["filter.states.0"]
    bad = body(event_types=["DEPARTED", "TELEPORTED"], locations=["XXZZZ"])
    response = await client.post("/v1/subscriptions", json=bad, headers=auth("mcm"))
    assert [e["field"] for e in response.json()["errors"]] == [
        "filter.event_types.1",
        "filter.locations.0",
    ]
    unknown = {**body(), "filter": {"shipment": ["SHP-1"]}}
    response = await client.post("/v1/subscriptions", json=unknown, headers=auth("mcm"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "filter.shipment"
    short = {**body(), "secret": "short"}
    response = await client.post("/v1/subscriptions", json=short, headers=auth("mcm"))
    assert response.json()["errors"][0]["field"] == "secret"


async def test_a_principal_sees_only_its_own_subscriptions_and_operators_see_all(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/v1/subscriptions")).status_code == 401
    assert (await client.post("/v1/subscriptions", json=body())).status_code == 401
    hook = "http://127.0.0.1:9/hook"
    shipper = await subscribe(client, "shipper-xian", hook, states=["DELIVERED"])
    customs = await subscribe(client, "customs-kz", hook, locations=["KZAKL"])

    response = await client.post("/v1/subscriptions", json=body(), headers=auth("ktz"))
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"/v1/subscriptions/{created['id']}"
    assert created["principal"] == "ktz"
    assert "secret" not in created

    own = (await client.get("/v1/subscriptions", headers=auth("shipper-xian"))).json()
    assert [s["id"] for s in own["items"]] == [shipper]
    assert own["items"][0]["filter"] == {"states": ["DELIVERED"]}
    everyone = (await client.get("/v1/subscriptions", headers=auth("corridor-ops"))).json()
    assert {shipper, customs, created["id"]} <= {s["id"] for s in everyone["items"]}
    assert all("secret" not in s for s in everyone["items"])

    path = f"/v1/subscriptions/{customs}"
    assert (await client.get(path, headers=auth("shipper-xian"))).status_code == 404
    assert (await client.delete(path, headers=auth("shipper-xian"))).status_code == 404
    rotate = {"secret": "another-secret-0002"}
    assert (
        await client.post(f"{path}/secret", json=rotate, headers=auth("shipper-xian"))
    ).status_code == 404
    assert (await client.get(path, headers=auth("customs-kz"))).json()["id"] == customs
    assert (await client.get(path, headers=auth("mcm"))).status_code == 200
    assert (await client.delete(path, headers=auth("customs-kz"))).status_code == 204
    assert (await client.get(path, headers=auth("customs-kz"))).status_code == 404
    assert (await client.get("/v1/subscriptions/nope", headers=auth("mcm"))).status_code == 404


@pytest.mark.parametrize("_database_factory", ["sqlite"], indirect=True)
async def test_after_a_rotation_deliveries_are_signed_with_both_secrets_until_the_overlap_ends(
    database_url: str, kafka_settings: KafkaSettings
) -> None:
    settings = webhooks_settings(database_url, kafka_settings)
    shipment = unique("SHP-S")
    new_secret = "rotated-secret-0002"
    publisher = Publisher(kafka_settings, "webhooks-test")
    await publisher.start()
    try:
        async with Receiver() as receiver, running(settings) as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["checks"]["database"] is True
            assert (await client.get("/healthz")).status_code == 200
            sub = await subscribe(client, "mcm", receiver.url, shipment_ids=[shipment])
            response = await client.post(
                f"/v1/subscriptions/{sub}/secret",
                json={"secret": new_secret, "overlap_seconds": 3600},
                headers=auth("mcm"),
            )
            assert response.status_code == 200
            assert response.json()["previous_secret_until"] is not None
            await publish_booking(publisher, settings, shipment)
            await publish_states(publisher, settings, state(shipment, 1))
            await eventually(lambda: _true_if(len(receiver.delivered()) == 1), within=30)
            first = receiver.delivered()[0]
            signatures = first.headers["notification-signature"]
            assert len(signatures.split(",")) == 2
            assert verify(new_secret, first.body, signatures)
            assert verify(SECRET, first.body, signatures)

            response = await client.post(
                f"/v1/subscriptions/{sub}/secret",
                json={"secret": "third-secret-00003", "overlap_seconds": 0},
                headers=auth("mcm"),
            )
            assert response.json()["previous_secret_until"] is None
            await publish_states(publisher, settings, state(shipment, 2))
            await eventually(lambda: _true_if(len(receiver.delivered()) == 2), within=30)
            second = receiver.delivered()[1]
            assert verify(
                "third-secret-00003", second.body, second.headers["notification-signature"]
            )
            assert not verify(new_secret, second.body, second.headers["notification-signature"])
    finally:
        await publisher.stop()


async def _true_if(condition: bool) -> bool | None:
    return True if condition else None
