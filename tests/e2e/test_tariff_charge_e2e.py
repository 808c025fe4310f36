"""The issue's end-to-end test: a journey with a long port dwell posted at ingest, as the
carriers post it, produces exactly one Charge with the storage surcharge on
cargo.charges.v1, and the tariff's API shows it; a departure posted after the charge
publishes its revision 2. Broker, ingest and tariff run as processes; the broker is private
to the test, so tariff consumes cargo.events.v1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from corridor.devstack import EmbeddedBroker, ManagedProcess, free_port, free_ports, python_module
from corridor.devstack import wait_for_http as wait_until_ready
from corridor.journeys import Post
from corridor.kafka import CHARGES_TOPIC, EVENTS_TOPIC
from corridor.v1 import charges_pb2
from services.tariff.settings import SHIPPED_CARDS
from tests.conftest import unique
from tests.support import eventually, read_records
from tests.tariff_support import long_aktau_journey

pytestmark = pytest.mark.e2e


@dataclass
class Stack:
    bootstrap: str
    ingest: str
    tariff: str
    logs: Path


def example_card_in_force_always(directory: Path) -> None:
    """The shipped 2026 example card, valid from 2000 on, so the test does not depend on
    today's date (its rates are the shipped ones)."""
    card = yaml.safe_load((SHIPPED_CARDS / "example-2026.yaml").read_text(encoding="utf-8"))
    card.update(valid_from=date(2000, 1, 1), valid_to=None)
    directory.mkdir()
    (directory / "example-open.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")


def show_logs(logs: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(logs.glob("*.log")))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("tariff-e2e")
    logs = root / "logs"
    logs.mkdir()
    cards = root / "cards"
    example_card_in_force_always(cards)
    files: list[IO[bytes]] = []

    def log(name: str) -> IO[bytes]:
        files.append((logs / f"{name}.log").open("ab"))
        return files[-1]

    ports = free_ports(("broker", "ingest", "tariff"))
    broker = EmbeddedBroker(ports["broker"], log=log("broker"))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "INGEST_", "TARIFF_"))
    }
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
        KAFKA_TOPIC_PARTITIONS="3",
        INGEST_PORT=str(ports["ingest"]),
        TARIFF_PORT=str(ports["tariff"]),
        TARIFF_DATABASE_URL=f"sqlite+aiosqlite:///{root / 'tariff.db'}",
        INGEST_DATABASE_URL=f"sqlite+aiosqlite:///{root / 'ingest.db'}",
        TARIFF_CARDS_DIR=str(cards),
        # A local run: the demo keys are accepted (production, the default, refuses them).
        INGEST_ENVIRONMENT="local",
        TARIFF_ENVIRONMENT="local",
    )
    services = [
        ManagedProcess(name, python_module(f"services.{name}"), env=env, log=log(name))
        for name in ("ingest", "tariff")
    ]
    processes = [broker, *services]
    try:
        broker.start_and_wait()
        for service in services:
            service.start()
        for name in ("ingest", "tariff"):
            port = ports[name]
            try:
                wait_until_ready(f"http://127.0.0.1:{port}/readyz", timeout=60)
            except TimeoutError:
                pytest.fail(f"{name} not ready:\n{show_logs(logs)}")
        yield Stack(
            broker.bootstrap_servers,
            f"http://127.0.0.1:{ports['ingest']}",
            f"http://127.0.0.1:{ports['tariff']}",
            logs,
        )
    finally:
        for process in reversed(processes):
            process.stop()
        for file in files:
            file.close()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def consumed_events(http: httpx.AsyncClient, stack: Stack) -> float:
    text = (await http.get(f"{stack.tariff}/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "corridor_tariff_consumed_records"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels.get("topic") == EVENTS_TOPIC
    )


async def test_a_journey_posted_at_ingest_is_charged_once_with_the_storage_surcharge(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    shipment_id = unique("SHP-E2E")
    posts = long_aktau_journey(shipment_id, datetime.now(UTC) - timedelta(days=25))
    for post in posts:
        response = await http.post(
            f"{stack.ingest}/v1/events",
            json=post.body,
            headers={"Authorization": f"Bearer demo-{post.carrier}"},
        )
        assert response.status_code == 202, (post.body, response.text, show_logs(stack.logs))

    def mine(records: list[object]) -> list[charges_pb2.Charge]:
        return [
            charges_pb2.Charge.FromString(r.value)  # type: ignore[attr-defined]
            for r in records
            if r.key == shipment_id.encode()  # type: ignore[attr-defined]
        ]

    records = await read_records(
        stack.bootstrap, CHARGES_TOPIC, lambda rs: bool(mine(rs)), within=60
    )
    [charge] = mine(records)
    [storage] = [s for s in charge.surcharges if s.kind == "storage" and s.node == "KZAAU"]
    unit = posts[0].body["booking"]["container_type"]
    per_day = {"20GP": "12.00", "40GP": "18.00", "40HC": "18.00", "45HC": "20.00"}[unit]
    # 6 d 3 h at Aktau = 7 started days, 4 of them free there: 3 days at the card's rate
    assert (storage.operator, storage.days, Decimal(storage.amount)) == (
        "PORT-AKTAU",
        3,
        3 * Decimal(per_day),
    )

    # The carrier posts DELIVERED again: ingest accepts it (or knows it), the charge stays.
    delivered = next(p for p in posts if p.body["event_type"] == "DELIVERED")
    again = await http.post(
        f"{stack.ingest}/v1/events",
        json=delivered.body,
        headers={"Authorization": f"Bearer demo-{delivered.carrier}"},
    )
    assert again.status_code in (200, 202), again.text
    published = len(await read_records(stack.bootstrap, EVENTS_TOPIC))

    async def tariff_caught_up() -> bool | None:
        return True if await consumed_events(http, stack) >= published else None

    await eventually(tariff_caught_up, within=30)
    assert len(mine(await read_records(stack.bootstrap, CHARGES_TOPIC))) == 1

    url = f"{stack.tariff}/v1/shipments/{shipment_id}/charges"
    assert (await http.get(url)).status_code == 401  # shipment data needs a principal
    # The booker (the joint company, an operator) reads it, with every revenue share.
    response = await http.get(url, headers={"Authorization": "Bearer demo-mcm"})
    assert response.status_code == 200
    [shown] = response.json()["charges"]
    assert shown["charge_id"] == charge.charge_id
    assert shown["total"] == charge.total
    assert any(
        s["kind"] == "storage" and s["node"] == "KZAAU" and s["amount"] == storage.amount
        for s in shown["surcharges"]
    )
    assert {s["operator"] for s in shown["apportionment"]} >= {"KTZ", "PORT-AKTAU", "ASCO"}
    # The Aktau port sees the bill, and of the revenue only its own share.
    port = await http.get(url, headers={"Authorization": "Bearer demo-port-aktau"})
    assert [s["operator"] for s in port.json()["charges"][0]["apportionment"]] == ["PORT-AKTAU"]


async def test_a_departure_posted_after_the_delivery_revises_the_charge(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    shipment_id = unique("SHP-E2E")
    posts = long_aktau_journey(shipment_id, datetime.now(UTC) - timedelta(days=25))
    late = next(
        p for p in posts if p.body["event_type"] == "DEPARTED" and p.body["location"] == "KZAAU"
    )

    def mine(records: list[object]) -> list[charges_pb2.Charge]:
        return [
            charges_pb2.Charge.FromString(r.value)  # type: ignore[attr-defined]
            for r in records
            if r.key == shipment_id.encode()  # type: ignore[attr-defined]
        ]

    async def post(batch: list[Post]) -> None:
        for p in batch:
            response = await http.post(
                f"{stack.ingest}/v1/events",
                json=p.body,
                headers={"Authorization": f"Bearer demo-{p.carrier}"},
            )
            assert response.status_code == 202, (p.body, response.text, show_logs(stack.logs))

    # Charged first without the departure from Aktau, which is posted after the charge.
    await post([p for p in posts if p is not late])
    await read_records(stack.bootstrap, CHARGES_TOPIC, lambda rs: len(mine(rs)) >= 1, within=60)
    await post([late])
    records = await read_records(
        stack.bootstrap, CHARGES_TOPIC, lambda rs: len(mine(rs)) >= 2, within=60
    )
    first, second = sorted(mine(records), key=lambda c: c.revision)
    assert (first.revision, second.revision) == (1, 2)
    assert first.charge_id == second.charge_id
    # The storage at Aktau the late departure closes: 3 days at the card's rate.
    [storage] = [s for s in second.surcharges if s.kind == "storage" and s.node == "KZAAU"]
    assert Decimal(second.difference) == Decimal(storage.amount) > 0
    assert Decimal(second.total) == Decimal(first.total) + Decimal(second.difference)
    response = await http.get(
        f"{stack.tariff}/v1/shipments/{shipment_id}/charges",
        headers={"Authorization": "Bearer demo-mcm"},
    )
    assert [c["revision"] for c in response.json()["charges"]] == [1, 2]


def test_the_tariff_process_refuses_to_start_on_an_invalid_card(tmp_path: Path) -> None:
    card = yaml.safe_load((SHIPPED_CARDS / "example-2026.yaml").read_text(encoding="utf-8"))
    card["currency"] = "XXX"
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")
    env = {**os.environ, "TARIFF_CARDS_DIR": str(tmp_path), "TARIFF_PORT": str(free_port())}
    done = subprocess.run(
        [sys.executable, "-m", "services.tariff"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "refusing to start: rate card broken.yaml: currency: unknown currency XXX" in (
        done.stderr
    )
