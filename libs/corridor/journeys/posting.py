"""How posts reach ingest: when each is received (some days late), without ``mode``, in
scrambled orders with copies. Pure."""

from __future__ import annotations

import random
from datetime import timedelta

from corridor.journeys.model import JourneyOptions, Post


def chance(rng: random.Random, rate: float) -> bool:
    """True with probability ``rate``; draws nothing when ``rate`` is 0 (so options left at
    their defaults do not change what a seed gives)."""
    return rate > 0 and rng.random() < rate


def without_mode(post: Post) -> Post:
    body = {k: v for k, v in post.body.items() if k != "mode"}
    return Post(post.carrier, body, post.occurred_at, post.recorded_at)


def received(rng: random.Random, post: Post, actual: bool, opts: JourneyOptions) -> Post:
    """``post`` with the time ingest received it: ``late_days`` after it happened for some
    actual events after the booking (``actual``), ``report_minutes`` for the others."""
    if actual and chance(rng, opts.late_rate):
        lag = timedelta(days=rng.uniform(*opts.late_days))
    else:
        lag = timedelta(minutes=rng.uniform(*opts.report_minutes))
    return Post(post.carrier, post.body, post.occurred_at, post.occurred_at + lag)


def scramble(
    rng: random.Random, posts: list[Post], duplicate_rate: float = 0.05, late_rate: float = 0.05
) -> list[Post]:
    """Posting order as carriers really post: some posts late (after later events), some
    twice. Every post stays; duplicates are identical bodies."""
    ordered = list(posts)
    result: list[Post] = []
    delayed: list[tuple[int, Post]] = []
    for index, item in enumerate(ordered):
        if rng.random() < late_rate:
            delayed.append((index + rng.randint(1, 5), item))
        else:
            result.append(item)
        for due, late in [d for d in delayed if d[0] <= index]:
            result.append(late)
            delayed.remove((due, late))
        if rng.random() < duplicate_rate:
            result.append(item)
    result += [late for _, late in delayed]
    return result
