"""Posting orders as carriers really post: some posts late, some twice. Pure."""

from __future__ import annotations

import random

from corridor.journeys.plan import Post


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
