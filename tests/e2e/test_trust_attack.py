"""The issue's attack, end to end on the README's run command: the Aktau port's key posts a
back-dated ARRIVED and a DELIVERED at Aktau for a shipment booked by the joint company from
Almaty to Poti (routed via Kuryk: Khorgos to Poti now runs via Aktau, on the direct
Altynkol-Aktau line). The attacker gets a clear refusal, and the victim's state, timeline and
charge stay those of the honest journey; where ingest cannot tell yet (the booking comes
after the attack), the consumers refuse the events once it arrives, and the attacker can
read why.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from corridor.topology import load_topology
from tests.support import eventually, running_stack

pytestmark = pytest.mark.e2e

BOOKING = {
    "origin": "KZALA",
    "destination": "GEPTI",
    "container_type": "40HC",
    "gross_weight_kg": 21_000,
}
CONTAINER = "CSQU3054383"


def test_the_victim_is_routed_via_kuryk_not_aktau() -> None:
    """The premise: Aktau's port operates no node of the victim's booked route."""
    route = load_topology().route(str(BOOKING["origin"]), str(BOOKING["destination"])) or []
    nodes = {node for segment in route for node in (segment.origin, segment.destination)}
    assert "KZKUR" in nodes
    assert "KZAAU" not in nodes


def key(principal: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-{principal}"}


@pytest.fixture(scope="module")
def urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with running_stack(tmp_path_factory.mktemp("trust-attack"), "--no-simulate") as urls:
        yield urls


class Carriers:
    def __init__(self, client: httpx.AsyncClient, ingest: str, shipment_id: str) -> None:
        self.client, self.ingest, self.shipment_id = client, ingest, shipment_id

    async def post(
        self, carrier: str, kind: str, location: str, at: datetime, **extra: Any
    ) -> httpx.Response:
        body = {
            "event_id": f"{carrier}-{kind}-{uuid.uuid4().hex[:8]}",
            "event_type": kind,
            "occurred_at": at.isoformat(),
            "shipment_id": self.shipment_id,
            "container_no": CONTAINER,
            "location": location,
            **extra,
        }
        return await self.client.post(f"{self.ingest}/v1/events", json=body, headers=key(carrier))

    async def honest_journey(self, booked: datetime) -> None:
        """Booked by the joint company, carried to Poti by the carriers of the route."""
        for carrier, kind, location, at, extra in (
            ("mcm", "BOOKED", "KZALA", booked, {"booking": BOOKING}),
            ("ktz", "DEPARTED", "KZALA", booked + timedelta(hours=2), {"mode": "RAIL"}),
            ("asco", "ARRIVED", "AZBAK", booked + timedelta(days=3), {"mode": "VESSEL"}),
            ("ady", "DEPARTED", "AZBAK", booked + timedelta(days=3, hours=8), {"mode": "RAIL"}),
            ("gr", "ARRIVED", "GEPTI", booked + timedelta(days=4), {"mode": "RAIL"}),
            ("port-poti", "DELIVERED", "GEPTI", booked + timedelta(days=4, hours=6), {}),
        ):
            response = await self.post(carrier, kind, location, at, **extra)
            assert response.status_code == 202, response.text


async def _settled(client: httpx.AsyncClient, urls: dict[str, str], shipment_id: str) -> Any:
    """The shipment once delivered in the tracker and charged by the tariff."""
    ops = key("corridor-ops")

    async def probe() -> tuple[Any, Any] | None:
        shipment = await client.get(f"{urls['tracker']}/v1/shipments/{shipment_id}", headers=ops)
        charges = await client.get(
            f"{urls['tariff']}/v1/shipments/{shipment_id}/charges", headers=ops
        )
        if shipment.status_code != 200 or charges.status_code != 200:
            return None
        if shipment.json()["status"] != "DELIVERED" or not charges.json()["charges"]:
            return None
        return shipment.json(), charges.json()

    return await eventually(probe, within=60, interval=0.3)


async def _honest_total(client: httpx.AsyncClient, urls: dict[str, str], day: str) -> Decimal:
    quote = await client.post(f"{urls['tariff']}/v1/quotes", json=BOOKING | {"shipping_date": day})
    assert quote.status_code == 200, quote.text
    return Decimal(quote.json()["total"])


async def _timeline(client: httpx.AsyncClient, urls: dict[str, str], shipment_id: str) -> Any:
    response = await client.get(
        f"{urls['tracker']}/v1/shipments/{shipment_id}/events",
        params={"limit": 200},
        headers=key("corridor-ops"),
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_where_ingest_knows_the_booking_the_attacker_is_refused_at_once(
    urls: dict[str, str],
) -> None:
    shipment_id = f"ATK-{uuid.uuid4().hex[:8]}"
    booked = datetime.now(UTC).replace(microsecond=0) - timedelta(days=5)
    async with httpx.AsyncClient(timeout=30) as client:
        carriers = Carriers(client, urls["ingest"], shipment_id)
        await carriers.honest_journey(booked)
        decades = datetime(1996, 3, 1, tzinfo=UTC)
        back_dated = await carriers.post("port-aktau", "ARRIVED", "KZAAU", decades, mode="RAIL")
        assert back_dated.status_code == 422, back_dated.text
        assert "occurred_at" in {e["field"] for e in back_dated.json()["errors"]}
        delivered = await carriers.post(
            "port-aktau", "DELIVERED", "KZAAU", booked + timedelta(days=2)
        )
        assert delivered.status_code == 403, delivered.text
        assert delivered.json()["type"].endswith("not_a_party")
        stolen = await carriers.post(
            "ady", "BOOKED", "AZBAK", booked, booking=BOOKING | {"origin": "AZBAK"}
        )
        assert stolen.status_code == 403, stolen.text
        assert stolen.json()["type"].endswith("not_the_booker")
        shipment, charges = await _settled(client, urls, shipment_id)
        assert (shipment["status"], shipment["current_location"]) == ("DELIVERED", "GEPTI")
        honest = await _honest_total(client, urls, booked.date().isoformat())
        assert Decimal(charges["charges"][0]["total"]) == honest
        assert all(e["carrier"] != "port-aktau" for e in await _timeline(client, urls, shipment_id))


async def test_where_the_booking_comes_later_the_consumers_refuse_the_attack(
    urls: dict[str, str],
) -> None:
    shipment_id = f"ATK-{uuid.uuid4().hex[:8]}"
    booked = datetime.now(UTC).replace(microsecond=0) - timedelta(days=5)
    async with httpx.AsyncClient(timeout=30) as client:
        carriers = Carriers(client, urls["ingest"], shipment_id)
        # Before any booking: ingest cannot tell, so it accepts and the consumers hold.
        early = [
            await carriers.post("port-aktau", "ARRIVED", "KZAAU", booked + timedelta(days=1)),
            await carriers.post("port-aktau", "DELIVERED", "KZAAU", booked + timedelta(days=2)),
            await carriers.post("ktz", "GATE_IN", "KZALA", booked + timedelta(hours=1)),
        ]
        assert [r.status_code for r in early] == [202, 202, 202]
        decades = datetime(1996, 3, 1, tzinfo=UTC)
        too_old = await carriers.post("port-aktau", "ARRIVED", "KZAAU", decades)
        assert too_old.status_code == 422, too_old.text  # refused whatever the booking

        async def held() -> list[Any] | None:
            response = await client.get(
                f"{urls['tracker']}/v1/events/refused", headers=key("port-aktau")
            )
            assert response.status_code == 200, response.text
            mine = [e for e in response.json()["items"] if e["shipment_id"] == shipment_id]
            return mine if len(mine) == 2 else None

        assert {e["outcome"] for e in await eventually(held, within=60)} == {"held"}
        await carriers.honest_journey(booked)
        shipment, charges = await _settled(client, urls, shipment_id)
        assert (shipment["status"], shipment["current_location"]) == ("DELIVERED", "GEPTI")
        honest = await _honest_total(client, urls, booked.date().isoformat())
        assert Decimal(charges["charges"][0]["total"]) == honest
        timeline = await _timeline(client, urls, shipment_id)
        assert all(e["carrier"] != "port-aktau" for e in timeline)
        # The event held before the booking counts once the booking makes KTZ a party.
        assert "GATE_IN" in {e["event_type"] for e in timeline}

        async def refused() -> list[Any] | None:
            mine = await held()
            return mine if mine and {e["outcome"] for e in mine} == {"refused"} else None

        reasons = {e["reason"] for e in await eventually(refused, within=60)}
        assert reasons == {"not_a_party"}
        # Another carrier does not see the attacker's refusals.
        other = await client.get(f"{urls['tracker']}/v1/events/refused", headers=key("ktz"))
        assert all(e["carrier"] == "ktz" for e in other.json()["items"])
