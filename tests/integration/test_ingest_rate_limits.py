"""The per-carrier rate limit on Redis (127.0.0.1:6379): two limiters sharing one Redis are
two replicas, and the limit holds across them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from corridor.auth import FailureLimiter, rate_limit_storage
from services.ingest.limits import RateLimiter
from tests.conftest import unique
from tests.unit.test_ingest_support import bearer, event_body, make_client

pytestmark = pytest.mark.integration
REDIS = "redis://127.0.0.1:6379"


@pytest.fixture(autouse=True)
async def redis_reachable() -> None:
    client = Redis.from_url(REDIS)
    try:
        await asyncio.wait_for(client.ping(), 2)
    except Exception:
        pytest.skip(f"Redis not reachable at {REDIS}")
    finally:
        await client.aclose()


async def test_the_rate_limit_holds_across_replicas() -> None:
    carrier = unique("carrier")
    one, two = (RateLimiter(rate_limit_storage(REDIS), rate=1.0, burst=10.0) for _ in range(2))
    waits = await asyncio.gather(*(limiter.admit(carrier) for limiter in [one, two] * 8))
    assert sum(w is None for w in waits) == 10
    assert all(w is None or w > 0 for w in waits)
    assert await one.admit(unique("carrier")) is None  # another carrier has its own count


async def test_a_batch_counted_by_one_replica_holds_back_the_other() -> None:
    carrier = unique("carrier")
    one, two = (RateLimiter(rate_limit_storage(REDIS), rate=1.0, burst=10.0) for _ in range(2))
    assert await one.admit(carrier) is None
    await one.charge(carrier, 9)
    assert await two.admit(carrier) is not None


async def test_failed_authentications_are_counted_across_replicas() -> None:
    address = unique("10.0.0")
    one, two = (FailureLimiter(rate_limit_storage(REDIS), "3/minute") for _ in range(2))
    assert [await one.failed(address), await two.failed(address)] == [None, None]
    assert await one.failed(address) is None
    assert await two.failed(address) is not None


def test_ingest_counts_its_rate_limit_in_redis() -> None:
    # Two apps (replicas) on one Redis; the carrier id is fixed, so clear its count first.
    settings: dict[str, Any] = {
        "rate_limit_storage": REDIS,
        "rate_limit_per_second": 1,
        "rate_limit_burst": 2,
    }
    asyncio.run(_clear("ktz"))
    headers = bearer("ktz")
    with make_client(**settings) as first, make_client(**settings) as second:
        statuses = [
            client.post("/v1/events", json=event_body(event_id=unique("e")), headers=headers)
            for client in (first, second, first)
        ]
    assert [r.status_code for r in statuses] == [202, 202, 429]


async def _clear(carrier: str) -> None:
    client = Redis.from_url(REDIS)
    try:
        keys = [k async for k in client.scan_iter(f"LIMITS:*ingest-events/{carrier}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
