"""The carrier simulator: its journeys pass ingest's rules as posted, and it keeps going
through retries, rejections and unreachable servers."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from corridor.devstack import free_port
from corridor.journeys import JourneyOptions
from corridor.parties import TrustRules
from corridor.principals import DEMO_PRINCIPALS_FILE, load_registry
from corridor.topology import load_topology
from services.ingest.api import reported
from services.ingest.domain import ReportedEvent, Rules, check
from services.ingest.schemas import EVENT_TYPES, EventIn
from services.ingest.simulator import (
    SimulatorOptions,
    Stats,
    carrier_key,
    post_at_rate,
    post_event,
    sample_posts,
    schedule_journey,
    simulate,
)
from services.ingest.trust import KnownBooking, booked, judge_event
from tests.unit.test_ingest_support import FakePublisher, make_app, timeout_error

TOPOLOGY = load_topology()
REGISTRY = load_registry(DEMO_PRINCIPALS_FILE, TOPOLOGY, "local")
TRUST = TrustRules(TOPOLOGY, REGISTRY)
RULES = Rules(TOPOLOGY, TRUST)


def assert_accepted(post: Any, event: ReportedEvent, posted_at: datetime, booking: Any) -> Any:
    """Passes every rule ingest applies when ``post`` is posted at ``posted_at``; the
    shipment's booking afterwards."""
    carrier = REGISTRY.authenticate(carrier_key(post.carrier), posted_at)
    assert carrier is not None, post.carrier
    assert check(event, carrier, RULES, posted_at) == [], post
    assert judge_event(TRUST, booking, carrier.id, event, posted_at) == [], post
    return booked(event, carrier.id, booking, posted_at) if event.booking else booking


# Rare things made common, so that every kind of post is exercised.
EVERYTHING = JourneyOptions(
    customs_hold_rate=0.5, estimate_rate=0.9, exception_rate=0.3, wagon_share=0.6
)


def test_every_simulated_post_is_accepted_by_the_registry_and_rules_when_it_is_posted() -> None:
    rng = random.Random(20261102)
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    seen_types: set[str] = set()
    for journey in range(250):
        compression = rng.choice([1.0, 60.0, 3600.0, 1e6])
        posts = schedule_journey(
            rng,
            TOPOLOGY,
            f"SIM-T-{journey:05d}",
            started=10.0,
            now=now,
            compression=compression,
            duplicate_rate=0.1,
            late_rate=0.1,
            options=EVERYTHING,
        )
        assert [p.due for p in posts] == sorted(p.due for p in posts)
        booking: KnownBooking | None = None
        for post in posts:
            event = reported(EventIn.model_validate_json(json.dumps(post.body)))
            posted_at = now + timedelta(seconds=post.due - 10.0)
            booking = assert_accepted(post, event, posted_at, booking)
            if event.classifier == "ACT":
                assert event.occurred_at <= posted_at, post
            seen_types.add(event.event_type)
    assert seen_types == EVENT_TYPES


def test_a_journey_is_replayed_from_the_past_so_that_it_ends_as_it_is_posted() -> None:
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    posts = schedule_journey(
        random.Random(3), TOPOLOGY, "SIM-T-1", started=0.0, now=now, compression=3600.0
    )
    actual = [p for p in posts if p.body.get("classifier", "ACT") == "ACT"]
    last = max(datetime.fromisoformat(p.body["occurred_at"]) for p in actual)
    last_due = max(p.due for p in posts)
    assert abs((last - (now + timedelta(seconds=last_due))).total_seconds()) < 1
    assert 100 < last_due < 2000  # weeks of corridor in minutes


def test_duplicated_posts_are_identical() -> None:
    posts = schedule_journey(
        random.Random(5),
        TOPOLOGY,
        "SIM-T-2",
        started=0.0,
        now=datetime.now(UTC),
        compression=3600.0,
        duplicate_rate=0.5,
    )
    by_id: dict[str, list[str]] = {}
    for post in posts:
        by_id.setdefault(post.body["event_id"], []).append(json.dumps(post.body, sort_keys=True))
    duplicated = [bodies for bodies in by_id.values() if len(bodies) > 1]
    assert duplicated
    assert all(len(set(bodies)) == 1 for bodies in duplicated)


def in_process(publisher: FakePublisher, **settings: Any) -> httpx.AsyncClient:
    app = make_app(publisher, clock=lambda: datetime.now(UTC), **settings)  # real clock
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest")


async def test_the_simulator_posts_whole_journeys_that_are_all_accepted() -> None:
    publisher = FakePublisher()
    options = SimulatorOptions(
        url="http://ingest", rate=2000, time_compression=1e7, seed=1, max_shipments=3
    )
    async with in_process(publisher) as client:
        stats = await asyncio.wait_for(simulate(options, client=client), 30)
    assert stats.journeys == 3
    assert stats.posted == stats.accepted == len(publisher.records) > 30
    assert (stats.rejected, stats.errors, stats.gave_up) == (0, 0, 0)
    assert len({r.key for r in publisher.records}) == 3


async def test_the_simulator_retries_an_unavailable_ingest_with_the_same_event() -> None:
    publisher = FakePublisher()
    publisher.failures = [timeout_error()]
    options = SimulatorOptions(
        url="http://ingest", rate=2000, time_compression=1e7, seed=2, max_shipments=1
    )
    async with in_process(publisher, retry_after_seconds=1) as client:
        stats = await asyncio.wait_for(simulate(options, client=client), 30)
    assert stats.retried == 1
    assert stats.by_status[503] == 1
    assert stats.accepted == stats.posted == len(publisher.records)


async def test_the_simulator_counts_rejections_and_goes_on(tmp_path: Path) -> None:
    only_booker = tmp_path / "principals.yaml"
    raw = yaml.safe_load(DEMO_PRINCIPALS_FILE.read_text())
    raw["principals"] = [c for c in raw["principals"] if c["id"] == "mcm"]
    only_booker.write_text(yaml.safe_dump(raw))
    publisher = FakePublisher()
    options = SimulatorOptions(
        url="http://ingest", rate=2000, time_compression=1e7, seed=3, max_shipments=2
    )
    # Every unknown key is a failed authentication: allow them all here.
    settings = {"principals_file": only_booker, "auth_failure_limit": "10000/minute"}
    async with in_process(publisher, **settings) as client:
        stats = await asyncio.wait_for(simulate(options, client=client), 30)
    assert stats.rejected > 0
    assert stats.by_status[401] == stats.rejected
    assert stats.accepted == len(publisher.records) >= 2  # at least the bookings


async def test_an_unreachable_ingest_is_counted_and_given_up_when_stopping() -> None:
    stats = Stats()
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stop.set)
    async with httpx.AsyncClient(timeout=1.0) as client:
        status = await post_event(
            client, f"http://127.0.0.1:{free_port()}", "ktz", {"event_id": "e"}, stats, stop
        )
    assert status is None
    assert stats.errors >= 1
    assert stats.gave_up == 1


async def test_post_at_rate_posts_at_the_rate_and_records_each_answer() -> None:
    publisher = FakePublisher()
    posts = sample_posts(30, seed=4)
    async with in_process(publisher) as client:
        results = await post_at_rate("http://ingest", posts, rate=300, client=client)
    assert sorted(r.event_id for r in results) == sorted(p.event_id for p in posts)
    assert {r.status for r in results} == {202}
    assert all(r.answered_at >= r.sent_at for r in results)
    sent = sorted(r.sent_at for r in results)
    assert sent[-1] - sent[0] >= 29 / 300 * 0.9


def test_sample_posts_are_valid_in_the_past_and_not_too_old() -> None:
    now = datetime.now(UTC)
    posts = sample_posts(500, seed=9, now=now)
    assert len(posts) == 500
    bookings: dict[str, KnownBooking | None] = {}
    for post in posts:
        event = reported(EventIn.model_validate_json(json.dumps(post.body)))
        booking = bookings.get(event.shipment_id)
        bookings[event.shipment_id] = assert_accepted(post, event, now, booking)
        if event.classifier == "ACT":
            assert event.occurred_at <= now
