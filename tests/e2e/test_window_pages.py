"""The single window (issue 13) in headless Chromium, against the running embedded stack with
demo traffic: the schematic shows counts and follows new events without a reload; search
finds a shipment, its timeline and its charges (both versions); a person sees only what
their role allows; signing out works; the operators' view; axe-core finds no serious
violation; the README's screenshots are taken here."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from playwright.sync_api import Browser, Page, expect

from corridor.identifiers import make_container_no, make_wagon_no
from corridor.journeys import Post
from corridor.kafka import EVENTS_TOPIC
from corridor.topology import load_topology
from services.tracker.web.schematic import route_keys
from tests.conftest import unique
from tests.e2e.window_support import (
    SCREENSHOTS,
    Stack,
    booking,
    movement,
    new_context,
    post,
    post_all,
    reload_until,
    revisions,
    serious_violations,
    sign_in,
    start_browser,
    start_stack,
)
from tests.tariff_support import long_aktau_journey

pytestmark = pytest.mark.e2e

TOPOLOGY = load_topology()


@dataclass(frozen=True)
class Journey:
    shipment_id: str
    container_no: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from start_stack(tmp_path_factory.mktemp("window"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from start_browser()


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = new_context(browser, stack)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module")
def charged(stack: Stack) -> Journey:
    """A delivered container journey through Aktau, charged twice: its departure from
    Aktau is posted after the first charge, and revises it."""
    shipment_id = unique("SHP-WIN")
    posts = long_aktau_journey(shipment_id, datetime.now(UTC) - timedelta(days=25))
    late = next(
        p for p in posts if p.body["event_type"] == "DEPARTED" and p.body["location"] == "KZAAU"
    )
    post_all(stack, [p for p in posts if p is not late])
    revisions(stack, shipment_id, 1)
    post_all(stack, [Post(late.carrier, late.body, late.occurred_at)])
    revisions(stack, shipment_id, 2)
    return Journey(shipment_id, posts[0].body["container_no"])


def test_the_schematic_shows_counts_and_a_new_event_without_a_reload(
    page: Page, stack: Stack
) -> None:
    page.goto("/")
    # Demo traffic: some node shows shipments (the page polls; it is never reloaded).
    page.wait_for_function(
        "() => [...document.querySelectorAll('svg.schematic .node .count')]"
        ".some(e => e.textContent.trim() !== '0')"
    )
    page.evaluate("window.notReloaded = true")
    # Almaty is on no demo journey: the shipment booked there is the only one.
    almaty = page.locator('svg.schematic [data-count="KZALA"]')
    expect(almaty).to_have_text("0")
    shipment_id = unique("SHP-LIVE")
    container = make_container_no(random.Random(shipment_id))
    now = datetime.now(UTC)
    post(stack, "mcm", booking(shipment_id, container, "KZALA", "AZBAK", now - timedelta(hours=2)))
    expect(almaty).to_have_text("1")
    post(stack, "mcm", movement(shipment_id, container, "DEPARTED", "KZALA", now))
    ahead = route_keys(TOPOLOGY, "KZALA", "AZBAK")[0]
    expect(page.locator(f'svg.schematic [data-count="{ahead}"]')).to_have_text("1")
    expect(almaty).to_have_text("0")
    # The same figures as text, for those who do not see the picture.
    expect(page.locator('[data-live="counts"] tr[data-row="KZALA"] td').first).to_have_text("0")
    assert page.evaluate("window.notReloaded === true")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1


def test_search_finds_a_shipment_with_its_timeline_and_charges(
    page: Page, charged: Journey
) -> None:
    sign_in(page, "corridor-ops")
    page.goto("/")
    page.get_by_label("Find a shipment").fill(charged.container_no)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("shipment-id")).to_have_text(charged.shipment_id)
    expect(page.get_by_test_id("status")).to_have_text("delivered")
    timeline = page.get_by_test_id("timeline")
    for kind in ("booked", "departed", "arrived", "delivered"):
        expect(timeline).to_contain_text(kind)
    expect(page.get_by_test_id("shipment-sections")).to_contain_text("Kazakhstan")
    # Both versions of the charge, from the tariff, with the storage surcharge at Aktau.
    rows = page.get_by_test_id("revisions").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("storage at KZAAU")
    expect(page.get_by_test_id("quote-total")).to_be_visible()
    # By shipment id too; an unknown number finds nothing.
    page.goto(f"/window/search?q={charged.shipment_id}")
    expect(page.get_by_test_id("shipment-id")).to_have_text(charged.shipment_id)
    page.goto("/window/search?q=NOPE0000000")
    expect(page.get_by_test_id("no-results")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"/window/shipments/{charged.shipment_id}")
    page.screenshot(path=str(SCREENSHOTS / "shipment.png"), full_page=True)


def test_search_finds_a_shipment_by_its_wagon_number(page: Page, stack: Stack) -> None:
    shipment_id = unique("SHP-WAGON")
    wagon = make_wagon_no(random.Random(shipment_id))
    body = booking(shipment_id, "", "KZAKL", "GEPTI", datetime.now(UTC) - timedelta(hours=1))
    body.pop("container_no")
    body["booking"]["container_type"] = "WAGON"
    post(stack, "mcm", body | {"wagon_no": wagon})
    sign_in(page, "shipper-xian")  # named on the booking
    reload_until(page, f"/window/search?q={wagon}", '[data-testid="shipment-id"]')
    expect(page.get_by_test_id("shipment-id")).to_have_text(shipment_id)
    expect(page.locator("main")).to_contain_text(f"wagon {wagon}")


def test_a_person_of_one_role_cannot_see_another_s_shipment(page: Page, charged: Journey) -> None:
    # A shipper not named on the booking: the shipment is "not found", as in the API.
    sign_in(page, "shipper-xian")
    page.goto(f"/window/shipments/{charged.shipment_id}")
    expect(page.get_by_test_id("error")).to_contain_text("that you may see")
    expect(page.get_by_test_id("timeline")).to_have_count(0)
    page.goto(f"/window/search?q={charged.container_no}")
    expect(page.get_by_test_id("no-results")).to_be_visible()
    # Not a carrier or an operator: no set-aside events.
    page.goto("/window/operator")
    expect(page.get_by_test_id("error")).to_contain_text("carriers and operators")
    # Kazakh customs: the journey crosses Kazakhstan, so it sees it.
    sign_in(page, "customs-kz")
    page.goto(f"/window/shipments/{charged.shipment_id}")
    expect(page.get_by_test_id("shipment-id")).to_have_text(charged.shipment_id)


def test_signing_out_works(page: Page, charged: Journey) -> None:
    sign_in(page, "corridor-ops")
    [key] = [c for c in page.context.cookies() if c["name"] == "corridor_key"]
    assert key["httpOnly"]
    assert key["sameSite"] == "Strict"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "corridor_key"]
    page.goto(f"/window/shipments/{charged.shipment_id}")
    expect(page).to_have_url(f"/window/signin?next=%2Fwindow%2Fshipments%2F{charged.shipment_id}")


def test_forms_that_change_something_need_the_csrf_token(stack: Stack) -> None:
    with httpx.Client(base_url=stack.tracker, timeout=10) as client:
        client.get("/window/signin")  # sets the CSRF cookie
        refused = client.post("/window/signin", data={"credential": "demo-corridor-ops"})
        assert refused.status_code == 403
        assert "corridor_key" not in client.cookies
        wrong = client.post(
            "/window/signin", data={"credential": "demo-corridor-ops", "csrf_token": "x" * 43}
        )
        assert wrong.status_code == 403


def test_the_operator_view_shows_set_aside_events_and_dead_letters(
    page: Page, stack: Stack
) -> None:
    # An event for a shipment nobody booked: held, waiting for a booking.
    orphan = unique("SHP-ORPHAN")
    container = make_container_no(random.Random(orphan))
    post(stack, "ktz", movement(orphan, container, "ARRIVED", "KZAKL", datetime.now(UTC)))
    # A record no consumer can decode: dead-lettered.
    key = unique("GARBAGE")
    # (in a thread of its own: Playwright's sync API keeps an event loop in this one)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, produce_garbage(stack.kafka, key)).result(timeout=30)
    sign_in(page, "corridor-ops")
    reload_until(page, "/window/operator", f'[data-testid="set-aside"] tr:has-text("{orphan}")')
    expect(page.get_by_test_id("set-aside").locator("tr", has_text=orphan)).to_contain_text("held")
    reload_until(page, "/window/operator", f'[data-testid="dead-letters"] tr:has-text("{key}")')
    # A carrier sees its own set-aside events, and no dead letters.
    sign_in(page, "ktz")
    page.goto("/window/operator?outcome=held")
    expect(page.get_by_test_id("set-aside").locator("tr", has_text=orphan)).to_have_count(1)
    expect(page.get_by_test_id("dead-letters")).to_have_count(0)


async def produce_garbage(bootstrap: str, key: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(EVENTS_TOPIC, b"not a CargoEvent", key=key.encode())
    finally:
        await producer.stop()


def test_no_serious_accessibility_violations_and_the_screenshots(
    browser: Browser, stack: Stack, charged: Journey
) -> None:
    """axe-core (vendored) on the corridor and shipment views; the corridor view's
    screenshot for the README (the shipment view's is taken by the search test)."""
    # Only axe's own script needs the page's CSP bypassed; the page itself runs as served.
    context = new_context(browser, stack, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto("/")
        page.wait_for_function(
            "() => [...document.querySelectorAll('svg.schematic .node .count')]"
            ".some(e => e.textContent.trim() !== '0')"
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "corridor.png"), full_page=True)
        assert serious_violations(page) == []
        sign_in(page, "corridor-ops")
        page.goto(f"/window/shipments/{charged.shipment_id}")
        expect(page.get_by_test_id("revisions")).to_be_visible()
        assert serious_violations(page) == []
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        for path in ("/", f"/window/shipments/{charged.shipment_id}"):
            page.goto(path)
            assert serious_violations(page) == []
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} scrolls sideways on a phone"
    finally:
        context.close()
