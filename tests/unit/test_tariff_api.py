"""The HTTP API of tariff without its lifespan: quotes and tariffs need no database or
broker; the charges endpoint here on the in-memory unit of work (on the real databases and
broker: the integration tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI

from services.tariff.app import create_app
from services.tariff.contracts import decode_event
from services.tariff.handlers import Tariff
from services.tariff.ports import StorageUnavailable
from services.tariff.rates import CardError
from services.tariff.settings import TariffSettings
from tests.conftest import unique
from tests.fakes.tariff import MemoryStore
from tests.tariff_support import AS_OPERATOR, RULES, TOPOLOGY, cargo_event, long_aktau_journey

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    settings = TariffSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    return create_app(settings, clock=lambda: NOW)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tariff") as client:
        yield client


QUOTE = {
    "origin": "CNAKL",
    "destination": "GEPTI",
    "container_type": "40HC",
    "gross_weight_kg": 24000,
    "shipping_date": "2026-12-01",
}


async def test_a_quote_has_legs_apportionment_and_string_amounts(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/quotes", json=QUOTE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["card_version"] == "EXAMPLE-2026.1"
    assert body["example"] is True
    assert body["currency"] == "USD"
    first = body["legs"][0]
    assert set(first) == {"from", "to", "operator", "mode", "amount", "basis"}
    assert (first["from"], first["to"], first["operator"], first["mode"]) == (
        "CNAKL",
        "KZDSK",
        "KTZ",
        "RAIL",
    )
    assert first["amount"] == "145.00"  # the flat border-crossing rate of the example card
    assert isinstance(body["total"], str)
    cents = sum(int(s["amount"].replace(".", "")) for s in body["apportionment"])
    assert cents == int(body["total"].replace(".", ""))
    assert body["discount"]["kind"] == "percent"


async def test_the_shipping_date_defaults_to_today(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/quotes", json={**QUOTE, "shipping_date": None})
    assert response.status_code == 200
    assert response.json()["shipping_date"] == "2026-11-27"


async def test_a_quote_dated_in_the_next_year_uses_the_upcoming_card(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/quotes", json={**QUOTE, "shipping_date": "2027-03-01"})
    assert response.json()["card_version"] == "EXAMPLE-2027.1"


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"origin": "XXXXX"}, "origin", "unknown_node"),
        ({"destination": "NOWHERE"}, "destination", "unknown_node"),
        ({"destination": "CNAKL"}, "destination", "no_route"),
        ({"shipping_date": "2020-01-01"}, "shipping_date", "no_card"),
        ({"container_type": "53HC"}, "container_type", "literal_error"),
        ({"gross_weight_kg": 0}, "gross_weight_kg", "greater_than"),
        ({"gross_weight_kg": 36_001}, "gross_weight_kg", "invalid_weight"),  # ISO 668
        ({"gross_weight_kg": "heavy"}, "gross_weight_kg", "decimal_parsing"),
        ({"shiping_date": "2026-12-01"}, "shiping_date", "extra_forbidden"),
    ],
)
async def test_what_cannot_be_quoted_is_a_422_problem_naming_the_field(
    client: httpx.AsyncClient, change: dict[str, Any], field: str, code: str
) -> None:
    response = await client.post("/v1/quotes", json={**QUOTE, **change})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == (field, code)


async def test_quotes_are_counted_by_outcome(client: httpx.AsyncClient) -> None:
    await client.post("/v1/quotes", json=QUOTE)
    await client.post("/v1/quotes", json={**QUOTE, "origin": "XXXXX"})
    metrics = (await client.get("/metrics")).text
    assert 'corridor_tariff_quotes_total{outcome="quoted"} 1.0' in metrics
    assert 'corridor_tariff_quotes_total{outcome="unknown_node"} 1.0' in metrics


async def test_tariffs_lists_the_card_in_force_and_the_upcoming_one(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/v1/tariffs")).json()
    assert body["on"] == "2026-11-27"
    assert [(c["version"], c["status"]) for c in body["cards"]] == [
        ("EXAMPLE-2026.1", "in_force"),
        ("EXAMPLE-2027.1", "upcoming"),
    ]
    card = body["cards"][0]
    assert card["valid_to"] == "2027-01-01"
    assert card["surcharges"]["storage"]["free_days"] == {"port": 3, "border": 2}
    assert {h["node"] for h in card["handling"]} >= {"KZAAU", "AZBAK", "GEPTI"}
    later = (await client.get("/v1/tariffs", params={"on": "2027-02-01"})).json()
    assert [c["version"] for c in later["cards"]] == ["EXAMPLE-2027.1"]


def test_the_service_refuses_to_start_on_an_invalid_card(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    shipped = yaml.safe_load(
        (Path(__file__).parents[2] / "services/tariff/cards/example-2026.yaml").read_text()
    )
    shipped["ferry"][0]["rates"]["40HC"] = "-1"
    (cards / "bad.yaml").write_text(yaml.safe_dump(shipped), encoding="utf-8")
    settings = TariffSettings(cards_dir=cards, database_url="sqlite+aiosqlite:///unused.db")
    with pytest.raises(
        CardError, match=r"bad\.yaml: ferry\[0\]\.rates\.40HC: must not be negative"
    ):
        create_app(settings)


def on_memory(app: FastAPI) -> MemoryStore:
    """The app's tariff on an in-memory unit of work (the app's cards and metrics)."""
    store, tariff = MemoryStore(), app.state.tariff
    app.state.tariff = Tariff(store, tariff.book, TOPOLOGY, tariff.metrics, RULES)
    return store


async def test_the_charges_of_a_shipment_are_read_through_the_unit_of_work(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    on_memory(app)
    shipment_id = unique("SHP")
    posts = long_aktau_journey(shipment_id, datetime.now(UTC) - timedelta(days=25))
    events = [decode_event(cargo_event(p).SerializeToString()) for p in posts]
    assert await app.state.tariff.apply(events) == []

    response = await client.get(f"/v1/shipments/{shipment_id}/charges", headers=AS_OPERATOR)
    assert response.status_code == 200
    assert [c["revision"] for c in response.json()["charges"]] == [1]


async def test_a_database_that_does_not_answer_is_a_503_problem_to_retry(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    store = on_memory(app)
    store.fail("claims_of", StorageUnavailable("connection refused"))

    response = await client.get(f"/v1/shipments/{unique('SHP')}/charges", headers=AS_OPERATOR)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["type"].endswith("/problems/service-unavailable")
    assert body["errors"][0]["code"] == "unavailable"
