"""When each post of a journey is due: journeys replayed from the past, in compressed time.

A journey planned by ``corridor.journeys`` is moved into the past so that its last event
happens at the real moment it is posted: no ``occurred_at`` is ever in the future
(estimates, which are about the future, are capped to 23 h ahead). Posts keep the order
``scramble`` gave them, so late posts stay late and duplicates follow their original.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from corridor.clock import utcnow
from corridor.journeys import JourneyOptions, plan_journey, scramble
from corridor.topology import Topology

# Estimates may be up to a day ahead; keep a margin for clock skew and slow posts.
MAX_ESTIMATE_AHEAD = timedelta(hours=23)


@dataclass(frozen=True, slots=True)
class ScheduledPost:
    due: float  # real seconds after the simulator started
    carrier: str
    body: dict[str, Any]


def _shift(body: dict[str, Any], by: timedelta, latest: datetime) -> dict[str, Any]:
    """A copy of ``body`` with its times moved by ``by``; ``occurred_at`` at most ``latest``."""
    shifted = dict(body)
    occurred = min(datetime.fromisoformat(body["occurred_at"]) + by, latest)
    shifted["occurred_at"] = occurred.isoformat()
    booking = body.get("booking")
    if booking is not None and booking.get("promised_delivery_at"):
        promised = datetime.fromisoformat(booking["promised_delivery_at"]) + by
        shifted["booking"] = {**booking, "promised_delivery_at": promised.isoformat()}
    return shifted


def schedule_journey(
    rng: random.Random,
    topology: Topology,
    shipment_id: str,
    *,
    started: float,
    now: datetime,
    compression: float,
    duplicate_rate: float = 0.03,
    late_rate: float = 0.05,
    options: JourneyOptions | None = None,
) -> list[ScheduledPost]:
    """The posts of one journey starting at ``started`` (real seconds, when the real
    time is ``now``), in posting order, each due when its simulated time comes."""
    if compression < 1:
        raise ValueError("time compression must be at least 1")
    posts = scramble(
        rng, plan_journey(rng, topology, now, shipment_id, options), duplicate_rate, late_rate
    )
    span = max(p.occurred_at for p in posts) - now
    # Move the journey into the past so that its last event happens as it is posted.
    by = -span * (1 - 1 / compression)
    scheduled: list[ScheduledPost] = []
    due = started
    for post in posts:
        offset = (post.occurred_at - now).total_seconds()
        due = max(due, started + offset / compression)  # late posts keep their lateness
        real_then = now + timedelta(seconds=due - started)
        estimate = post.body.get("classifier", "ACT") != "ACT"
        latest = real_then + MAX_ESTIMATE_AHEAD if estimate else real_then
        scheduled.append(ScheduledPost(due, post.carrier, _shift(post.body, by, latest)))
    return scheduled


def mean_posts_per_journey(topology: Topology, samples: int = 40) -> float:
    rng = random.Random(0)
    now = utcnow()
    total = sum(len(plan_journey(rng, topology, now, f"S-{n}")) for n in range(samples))
    return total / samples
