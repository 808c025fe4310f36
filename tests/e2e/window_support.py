"""Shared by the single window's end-to-end tests: the running stack with demo traffic,
Debian's Chromium driven by Playwright (never a downloaded browser), posting as carriers,
signing in, axe-core."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from corridor.journeys import Post
from tests.support import running_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# CI (.ci/run) installs Chromium and sets this: a missing browser fails instead of skipping.
REQUIRE_BROWSER = os.environ.get("CORRIDOR_REQUIRE_BROWSER") == "1"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TIMEOUT_MS = 20_000
# The page polls every second in the tests (the default is 3 s).
POLL_SECONDS = "1"


@dataclass(frozen=True)
class Stack:
    ingest: str
    tracker: str
    tariff: str
    kafka: str  # bootstrap servers


def require_chromium() -> None:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(message + " and CORRIDOR_REQUIRE_BROWSER=1")
        pytest.skip(message)


def start_stack(data_dir: Path) -> Iterator[Stack]:
    """The README's run command with demo traffic (journeys run fast, so that they spread
    along the corridor within the tests' half minute), the page polling every second."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRACKER_WINDOW_POLL_SECONDS", POLL_SECONDS)
        with running_stack(data_dir, "--rate", "10", "--time-compression", "20000") as urls:
            kafka = urls["kafka"].removeprefix("http://")
            yield Stack(urls["ingest"], urls["tracker"], urls["tariff"], kafka)


def start_browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Browser, stack: Stack, **options: Any) -> BrowserContext:
    context = browser.new_context(
        base_url=stack.tracker, viewport={"width": 1280, "height": 900}, **options
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def post(stack: Stack, carrier: str, body: dict[str, Any]) -> None:
    response = httpx.post(
        f"{stack.ingest}/v1/events",
        json=body,
        headers={"Authorization": f"Bearer demo-{carrier}"},
        timeout=10,
    )
    assert response.status_code == 202, (body, response.text)


def post_all(stack: Stack, posts: list[Post]) -> None:
    for p in posts:
        post(stack, p.carrier, p.body)


def booking(
    shipment_id: str, container_no: str, origin: str, destination: str, at: datetime
) -> dict[str, Any]:
    """A booking by the joint company (an operator that books), naming shipper-xian."""
    return {
        "event_id": f"{shipment_id}-booked",
        "event_type": "BOOKED",
        "occurred_at": at.isoformat(),
        "shipment_id": shipment_id,
        "container_no": container_no,
        "location": origin,
        "booking": {
            "origin": origin,
            "destination": destination,
            "container_type": "40HC",
            "gross_weight_kg": 22000,
            "promised_delivery_at": (at + timedelta(days=20)).isoformat(),
            "parties": {"shipper": "shipper-xian"},
        },
    }


def movement(
    shipment_id: str, container_no: str, kind: str, location: str, at: datetime
) -> dict[str, Any]:
    return {
        "event_id": f"{shipment_id}-{kind.lower()}-{location}",
        "event_type": kind,
        "occurred_at": at.isoformat(),
        "shipment_id": shipment_id,
        "container_no": container_no,
        "location": location,
        "mode": "RAIL",
    }


def revisions(stack: Stack, shipment_id: str, at_least: int, within: float = 60) -> None:
    """Wait until the tariff has charged the shipment ``at_least`` times."""
    url = f"{stack.tariff}/v1/shipments/{shipment_id}/charges"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        response = httpx.get(url, headers={"Authorization": "Bearer demo-mcm"}, timeout=10)
        if response.status_code == 200 and len(response.json()["charges"]) >= at_least:
            return
        time.sleep(0.5)
    raise TimeoutError(f"{shipment_id}: fewer than {at_least} charges after {within}s")


def reload_until(page: Page, path: str, selector: str, within: float = 30) -> None:
    """Load ``path`` until ``selector`` is on it (for what the page does not poll)."""
    deadline = time.monotonic() + within
    while True:
        page.goto(path)
        if page.locator(selector).count():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{selector} not on {path} after {within}s")
        time.sleep(0.5)


def sign_in(page: Page, principal: str, target: str = "/") -> None:
    page.goto(f"/window/signin?next={target}")
    page.get_by_label("Your API key").fill(f"demo-{principal}")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_contain_text(f"({principal}, ")


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations of the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
