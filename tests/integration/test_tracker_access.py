"""Who reads what, over real databases: every role x shipments (its own, another carrier's,
another country's, another party's) x every read endpoint gives 200 or 404 exactly as the
rules say; lists and their pages never leak; cargo details only for those who may see
them; no key, 401; the corridor KPIs stay public."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from corridor.journeys import JourneyOptions, Post
from corridor.parties import booked_route
from corridor.topology import load_topology
from tests.conftest import unique
from tests.integration.tracker_harness import Corridor, open_corridor
from tests.unit.test_tracker_samples import journey

pytestmark = pytest.mark.integration

# Three shipments, all booked by the joint company (mcm, an operator):
# KZ: Khorgos -> Aktau (CN, KZ), no named parties;
# POTI: Almaty -> Poti through Kuryk and Baku, shipper-xian named, ady engaged on a leg;
# GE: Gardabani -> Poti (GE only), consignee-tbilisi named.
READERS: dict[str, set[str]] = {
    "ktz": {"KZ", "POTI"},  # operates the KZ nodes and Khorgos
    "port-aktau": {"KZ"},  # Aktau: not on the route through Kuryk
    "asco": {"KZ", "POTI"},  # Aktau, Kuryk, Baku
    "port-baku": {"POTI"},
    "ady": {"POTI"},
    "gr": {"POTI", "GE"},
    "port-poti": {"POTI", "GE"},
    "mcm": {"KZ", "POTI", "GE"},
    "corridor-ops": {"KZ", "POTI", "GE"},
    "shipper-xian": {"POTI"},
    "consignee-tbilisi": {"GE"},
    "customs-kz": {"KZ", "POTI"},
    "customs-ge": {"POTI", "GE"},
    "partner-insurer": {"POTI"},  # acts for shipper-xian
}
# Of those who read a shipment, who sees its cargo description, HS code and parties: all
# but the carriers that neither booked it nor are named on a leg.
DETAILS_HIDDEN_FROM = {"ktz", "port-aktau", "asco", "port-baku", "gr", "port-poti"}
DETAILS_SHOWN = {"POTI": {"ady"}}  # named on a leg


def shipments_plan() -> dict[str, list[Post]]:
    def plan(seed: int, origin: str, destination: str, **booking: Any) -> list[Post]:
        options = JourneyOptions(origins=(origin,), destinations=(destination,), wagon_share=0)
        posts = journey(seed, unique("ACL"), options=options)
        posts[0].body["booking"].update(booking)
        return posts

    # The premise of READERS: Almaty -> Poti runs via Kuryk, not Aktau (Khorgos -> Poti runs
    # via Aktau, on the direct Altynkol-Aktau line).
    assert "KZAAU" not in booked_route(load_topology(), "KZALA", "GEPTI")
    return {
        "KZ": plan(1, "CNHRS", "KZAAU"),
        "POTI": plan(
            2, "KZALA", "GEPTI", parties={"shipper": "shipper-xian"}, legs=[{"carrier": "ady"}]
        ),
        "GE": plan(3, "GEGAR", "GEPTI", parties={"consignee": "consignee-tbilisi"}),
    }


class Tracked:
    def __init__(self, corridor: Corridor, ids: dict[str, str], equipment: dict[str, str]):
        self.corridor = corridor
        self.ids = ids
        self.equipment = equipment


@pytest.fixture
async def tracked(database_url: str) -> AsyncIterator[Tracked]:
    async with open_corridor(database_url) as corridor:
        ids, equipment = {}, {}
        for name, posts in shipments_plan().items():
            view = await corridor.track(posts)
            assert view.set_aside == (), name
            ids[name] = view.shipment_id
            equipment[name] = (
                f"/v1/containers/{view.container_no}"
                if view.container_no
                else f"/v1/wagons/{view.wagon_no}"
            )
        yield Tracked(corridor, ids, equipment)


def bodies_equal_but_id(hidden: httpx.Response, unknown: httpx.Response) -> bool:
    one, two = hidden.json(), unknown.json()
    for body in (one, two):
        body.pop("detail"), body.pop("instance", None)
    return (hidden.status_code, hidden.headers["content-type"], one) == (
        unknown.status_code,
        unknown.headers["content-type"],
        two,
    )


@pytest.mark.parametrize("reader", sorted(READERS))
async def test_each_role_reads_exactly_the_shipments_the_rules_allow(
    tracked: Tracked, reader: str
) -> None:
    corridor = tracked.corridor
    visible = READERS[reader]
    for name, shipment_id in tracked.ids.items():
        expected = 200 if name in visible else 404
        for path in (
            f"/v1/shipments/{shipment_id}",
            f"/v1/shipments/{shipment_id}/events",
            tracked.equipment[name],
        ):
            response = await corridor.get(path, as_=reader)
            assert response.status_code == expected, (reader, name, path)
        if name not in visible:
            hidden = await corridor.get(f"/v1/shipments/{shipment_id}", as_=reader)
            unknown = await corridor.get("/v1/shipments/NO-SUCH-1", as_=reader)
            assert bodies_equal_but_id(hidden, unknown)
    listed: list[str] = []
    cursor = None
    while True:  # one item per page: pagination leaks nothing either
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        body = (await corridor.get("/v1/shipments", as_=reader, **params)).json()
        listed += [item["shipment_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert listed == sorted(tracked.ids[name] for name in visible)
    filtered = (await corridor.get("/v1/shipments", as_=reader, status="DELIVERED")).json()
    assert {i["shipment_id"] for i in filtered["items"]} == {tracked.ids[n] for n in visible}


@pytest.mark.parametrize("reader", sorted(READERS))
async def test_cargo_details_are_shown_only_to_those_who_may_see_them(
    tracked: Tracked, reader: str
) -> None:
    for name in READERS[reader]:
        shipment_id = tracked.ids[name]
        shown = reader not in DETAILS_HIDDEN_FROM or reader in DETAILS_SHOWN.get(name, set())
        body = (await tracked.corridor.get(f"/v1/shipments/{shipment_id}", as_=reader)).json()
        assert (body["cargo_description"] is not None) == shown, (reader, name)
        assert (body["hs_code"] is not None) == shown
        if name != "KZ":
            assert (body["parties"] is not None) == shown
        timeline = await tracked.corridor.get(f"/v1/shipments/{shipment_id}/events", as_=reader)
        booked = next(e for e in timeline.json()["items"] if e["event_type"] == "BOOKED")
        assert (booked["booking"]["cargo_description"] is not None) == shown
        assert (booked["booking"]["hs_code"] is not None) == shown
        if name != "KZ":
            assert (booked["booking"]["parties"] is not None) == shown


async def test_the_named_parties_are_shown_to_them(tracked: Tracked) -> None:
    body = (
        await tracked.corridor.get(f"/v1/shipments/{tracked.ids['POTI']}", as_="shipper-xian")
    ).json()
    assert body["parties"] == {"shipper": "shipper-xian", "consignee": None, "forwarder": None}
    assert body["legs"] == [{"carrier": "ady", "origin": None, "destination": None}]
    assert body["booker"] == "mcm"


async def test_without_a_key_every_shipment_read_is_401_and_the_corridor_is_public(
    tracked: Tracked,
) -> None:
    shipment_id = tracked.ids["KZ"]
    for path in (
        "/v1/shipments",
        f"/v1/shipments/{shipment_id}",
        f"/v1/shipments/{shipment_id}/events",
        tracked.equipment["KZ"],
        "/v1/wagons/50000008",
        "/v1/events/refused",
    ):
        response = await tracked.corridor.get(path, as_=None)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
    wrong = await tracked.corridor.client.get(
        "/v1/shipments", headers={"Authorization": "Bearer demo-nobody"}
    )
    assert wrong.status_code == 401
    public = await tracked.corridor.get("/v1/corridor", as_=None)
    assert public.status_code == 200
    assert sum(public.json()["shipments_by_status"].values()) == 3


async def test_hidden_shipments_are_counted_as_denials_by_role_without_ids(
    tracked: Tracked,
) -> None:
    await tracked.corridor.get(f"/v1/shipments/{tracked.ids['GE']}", as_="ktz")
    await tracked.corridor.get(f"/v1/shipments/{tracked.ids['KZ']}", as_="customs-ge")
    await tracked.corridor.get("/v1/shipments/NO-SUCH-2", as_="ktz")  # unknown: no denial
    await tracked.corridor.get("/v1/shipments", as_=None)
    text = generate_latest(tracked.corridor.registry).decode()
    samples = {
        (s.labels["role"], s.labels["reason"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name == "corridor_tracker_denied_requests"
        for s in family.samples
        if s.name.endswith("_total")
    }
    assert samples == {
        ("carrier", "not_visible"): 1,
        ("customs", "not_visible"): 1,
        ("anonymous", "unauthenticated"): 1,
    }
    assert tracked.ids["GE"] not in text
