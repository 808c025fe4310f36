"""The saturation a service exposes on /metrics: its database pool on a real PostgreSQL
(connections in use against the pool's size) and its event loop's lag, which grows while a
callback blocks the loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import make_url

from corridor.db import make_engine
from corridor.metrics import make_registry, metrics_router
from corridor.saturation import Saturation

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def app() -> FastAPI:
    application = FastAPI()
    application.include_router(metrics_router(make_registry()))
    return application


async def scrape(application: FastAPI) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_the_pool_in_use_and_its_size_are_exposed(
    new_postgres_database: Callable[[], asyncio.Future[str]],
) -> None:
    url = await new_postgres_database()
    database = str(make_url(url).database)
    engine = make_engine(url, pool_size=3)
    application = app()
    try:
        async with engine.connect() as first, engine.connect() as second:
            await first.execute(text("SELECT 1"))
            await second.execute(text("SELECT 1"))
            busy = await scrape(application)
        after = await scrape(application)
    finally:
        await engine.dispose()

    in_use = ("corridor_db_pool_connections", (("database", database), ("state", "in_use")))
    idle = ("corridor_db_pool_connections", (("database", database), ("state", "idle")))
    assert busy[in_use] == 2
    assert busy[("corridor_db_pool_size", (("database", database),))] == 3
    assert after[in_use] == 0
    assert after[idle] == 2


async def test_a_blocked_event_loop_shows_as_lag() -> None:
    saturation = Saturation()
    await saturation.measure_loop_lag()
    quiet = saturation.loop_lag_seconds

    # A callback that blocks the loop for 200 ms runs before the measurement resumes.
    asyncio.get_running_loop().call_soon(time.sleep, 0.2)
    await saturation.measure_loop_lag()

    assert quiet < 0.1
    assert saturation.loop_lag_seconds >= 0.2
    assert ("corridor_event_loop_lag_seconds", ()) in await scrape(app())
