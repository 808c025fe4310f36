"""Who reads what, end to end: every role x shipments (its own, another carrier's, another
country's, another party's) x every read endpoint of the tracker and the tariff, on the
README's run command (embedded broker, SQLite, the three services, no demo traffic).

The expectations are written out by hand from the roles of docs/security.md, not computed
with the rules under test.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from corridor.identifiers import make_container_no
from corridor.principals import DEMO_PRINCIPALS_FILE, load_registry
from corridor.topology import load_topology
from tests.support import eventually, running_stack

pytestmark = pytest.mark.e2e

PRINCIPALS = sorted(load_registry(DEMO_PRINCIPALS_FILE, load_topology(), "local").principals)
OPERATORS = {"mcm", "corridor-ops"}


@dataclass(frozen=True)
class Shipment:
    name: str
    origin: str
    destination: str
    first_carrier: str
    parties: dict[str, str]
    readers: frozenset[str]


SHIPMENTS = (
    # Almaty to Poti via Kuryk and Baku: every railway and the ports on the way; its shipper
    # and the shipper's partner; customs of KZ and GE. Not the Aktau port (off the route:
    # test_shipment_a_is_routed_via_kuryk_not_aktau), not the consignee.
    Shipment(
        "A",
        "KZALA",
        "GEPTI",
        "ktz",
        {"shipper": "shipper-xian"},
        frozenset(
            {
                "ktz",
                "asco",
                "port-baku",
                "ady",
                "gr",
                "port-poti",
                "shipper-xian",
                "partner-insurer",
                "customs-kz",
                "customs-ge",
            }
        )
        | OPERATORS,
    ),
    # Baku to Poti: another country's shipment for Kazakh customs, another carrier's for KTZ.
    Shipment(
        "B",
        "AZBAK",
        "GEPTI",
        "ady",
        {"consignee": "consignee-tbilisi"},
        frozenset(
            {"asco", "port-baku", "ady", "gr", "port-poti", "consignee-tbilisi", "customs-ge"}
        )
        | OPERATORS,
    ),
    # China to Aktau: the Aktau port's (and the ferry's, which calls there); no party named.
    Shipment(
        "C",
        "CNHRS",
        "KZAAU",
        "ktz",
        {},
        frozenset({"ktz", "port-aktau", "asco", "customs-kz"}) | OPERATORS,
    ),
)


def test_shipment_a_is_routed_via_kuryk_not_aktau() -> None:
    """The premise of A's readers: Almaty -> Poti runs via Kuryk (Khorgos -> Poti runs via
    Aktau, on the direct Altynkol-Aktau line, and the Aktau port would read it)."""
    route = load_topology().route("KZALA", "GEPTI") or []
    nodes = {node for segment in route for node in (segment.origin, segment.destination)}
    assert "KZKUR" in nodes
    assert "KZAAU" not in nodes


@dataclass
class Seeded:
    tracker: str
    tariff: str
    ids: dict[str, str]  # name -> shipment id
    containers: dict[str, str]  # name -> container number


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with running_stack(tmp_path_factory.mktemp("trust-matrix"), "--no-simulate") as urls:
        yield urls


def key(principal: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-{principal}"}


@pytest.fixture(scope="module")
async def seeded(stack: dict[str, str]) -> Seeded:
    base = stack
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC).replace(microsecond=0)
    ids = {s.name: f"MTX-{run}-{s.name}" for s in SHIPMENTS}
    rng = random.Random(run)
    containers = {s.name: make_container_no(rng, "MTX") for s in SHIPMENTS}
    async with httpx.AsyncClient(timeout=30) as client:
        for s in SHIPMENTS:
            booked = now - timedelta(hours=6)
            posts: list[tuple[str, str, str, datetime, dict[str, Any]]] = [
                ("mcm", "BOOKED", s.origin, booked, {
                    "booking": {
                        "origin": s.origin,
                        "destination": s.destination,
                        "container_type": "40HC",
                        "gross_weight_kg": 20_000,
                        "cargo_description": "laptops",
                        "hs_code": "847130",
                        **({"parties": s.parties} if s.parties else {}),
                    }
                }),
                (s.first_carrier, "DEPARTED", s.origin, booked + timedelta(hours=1),
                 {"mode": "RAIL"}),
            ]  # fmt: skip
            for n, (carrier, kind, location, at, extra) in enumerate(posts):
                body = {
                    "event_id": f"{ids[s.name]}-{n}",
                    "event_type": kind,
                    "occurred_at": at.isoformat(),
                    "shipment_id": ids[s.name],
                    "container_no": containers[s.name],
                    "location": location,
                    **extra,
                }
                response = await client.post(
                    f"{base['ingest']}/v1/events", json=body, headers=key(carrier)
                )
                assert response.status_code == 202, response.text

        async def applied() -> bool | None:
            for s in SHIPMENTS:
                shipment = await client.get(
                    f"{base['tracker']}/v1/shipments/{ids[s.name]}", headers=key("corridor-ops")
                )
                charges = await client.get(
                    f"{base['tariff']}/v1/shipments/{ids[s.name]}/charges",
                    headers=key("corridor-ops"),
                )
                if shipment.status_code != 200 or charges.status_code != 200:
                    return None
                if shipment.json()["status"] != "IN_TRANSIT":
                    return None
            return True

        await eventually(applied, within=60, interval=0.3)
    return Seeded(base["tracker"], base["tariff"], ids, containers)


def _paths(seeded: Seeded, s: Shipment) -> list[str]:
    sid, container = seeded.ids[s.name], seeded.containers[s.name]
    return [
        f"{seeded.tracker}/v1/shipments/{sid}",
        f"{seeded.tracker}/v1/shipments/{sid}/events",
        f"{seeded.tracker}/v1/containers/{container}",
        f"{seeded.tariff}/v1/shipments/{sid}/charges",
    ]


@pytest.mark.parametrize("principal", PRINCIPALS)
async def test_each_role_reads_exactly_the_shipments_the_rules_allow(
    seeded: Seeded, principal: str
) -> None:
    async with httpx.AsyncClient(timeout=30, headers=key(principal)) as client:
        for s in SHIPMENTS:
            expected = 200 if principal in s.readers else 404
            for path in _paths(seeded, s):
                response = await client.get(path)
                assert response.status_code == expected, (principal, s.name, path, response.text)
                if expected == 404:  # exactly as if it did not exist
                    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("principal", PRINCIPALS)
async def test_lists_and_their_pages_only_ever_contain_readable_shipments(
    seeded: Seeded, principal: str
) -> None:
    listed: list[str] = []
    async with httpx.AsyncClient(timeout=30, headers=key(principal)) as client:
        cursor: str | None = None
        for _ in range(50):
            params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            response = await client.get(f"{seeded.tracker}/v1/shipments", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            listed += [item["shipment_id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    expected = {seeded.ids[s.name] for s in SHIPMENTS if principal in s.readers}
    assert set(listed) == expected
    assert len(listed) == len(set(listed))


async def test_without_a_key_every_shipment_read_is_401_but_the_corridor_is_public(
    seeded: Seeded,
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        for s in SHIPMENTS:
            for path in _paths(seeded, s):
                assert (await client.get(path)).status_code == 401, path
        assert (await client.get(f"{seeded.tracker}/v1/shipments")).status_code == 401
        corridor = await client.get(f"{seeded.tracker}/v1/corridor")
        assert corridor.status_code == 200
        assert sum(corridor.json()["shipments_by_status"].values()) >= len(SHIPMENTS)


async def test_cargo_details_are_hidden_from_carriers_that_only_operate_a_node(
    seeded: Seeded,
) -> None:
    path = f"{seeded.tracker}/v1/shipments/{seeded.ids['A']}"
    async with httpx.AsyncClient(timeout=30) as client:
        for principal, shown in (("gr", False), ("customs-ge", True), ("shipper-xian", True)):
            body = (await client.get(path, headers=key(principal))).json()
            text = str(body)
            assert ("laptops" in text) is shown, principal
            assert ("847130" in text) is shown, principal


def test_the_demo_registry_matches_the_matrix() -> None:
    """Every principal of the demo registry appears in the matrix above."""
    assert Path(DEMO_PRINCIPALS_FILE).exists()
    named = set().union(*(s.readers for s in SHIPMENTS))
    assert named == set(PRINCIPALS)
