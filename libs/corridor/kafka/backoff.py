"""Bounded exponential back-off with jitter, for retrying the Kafka client.

Small on purpose (no retry library): the consumer loop retries forever until it is asked
to stop, so what matters is only the delay before the next attempt. The jitter spreads the
replicas of a service that all lost the broker at the same moment.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """``next()``: the delay before attempt n+1, ``base * 2**n`` capped at ``cap``, of
    which a random part (``jitter``, 0-1) is taken off; ``reset()`` after a success."""

    base: float = 0.2
    cap: float = 5.0
    jitter: float = 0.5
    uniform: Callable[[], float] = field(default=random.random, repr=False)
    attempts: int = 0

    def __post_init__(self) -> None:
        if not (0 < self.base <= self.cap) or not (0 <= self.jitter <= 1):
            raise ValueError("need 0 < base <= cap and 0 <= jitter <= 1")

    def next(self) -> float:
        ceiling = min(self.cap, math.ldexp(self.base, min(self.attempts, 32)))
        self.attempts += 1
        return ceiling * (1 - self.jitter * self.uniform())

    def reset(self) -> None:
        self.attempts = 0
