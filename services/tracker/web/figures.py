"""The headline figures: exactly what ``GET /v1/corridor`` answers (its use case is called,
nothing is recomputed), plus the distribution of transit times per section drawn beside
them, from the same section samples and window. Kept for a few seconds, like the board."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from services.tracker.api.corridor import KPI_WINDOW, SECTION_ORDER, get_corridor
from services.tracker.api.reads import Reads
from services.tracker.api.schemas import CorridorOut
from services.tracker.db import queries

BINS = 10
HOUR = 3600.0


@dataclass(frozen=True)
class Bin:
    low_hours: float
    high_hours: float
    count: int


@dataclass(frozen=True)
class Distribution:
    """Transit times of one section in ``BINS`` equal bins from 0 to past the slowest (and
    past the target, so that the target is always on the chart)."""

    country: str
    target_hours: float | None
    bins: tuple[Bin, ...]
    top: int  # the largest bin's count

    @property
    def span_hours(self) -> float:
        return self.bins[-1].high_hours if self.bins else 0.0


def distribution(country: str, transits: Sequence[float], target: float | None) -> Distribution:
    """``transits`` and ``target`` in seconds."""
    hours = [t / HOUR for t in transits]
    target_hours = None if target is None else target / HOUR
    longest = max([*hours, (target_hours or 0.0) * 1.1, 1.0])
    width = math.ceil(longest / BINS * 10) / 10 or 0.1
    counts = [0] * BINS
    for h in hours:
        counts[min(BINS - 1, int(h // width))] += 1
    bins = tuple(Bin(i * width, (i + 1) * width, c) for i, c in enumerate(counts))
    return Distribution(country, target_hours, bins, max(counts, default=0))


@dataclass(frozen=True)
class Figures:
    corridor: CorridorOut
    distributions: tuple[Distribution, ...]


def _order(country: str) -> tuple[int, str]:
    known = country in SECTION_ORDER
    return (SECTION_ORDER.index(country) if known else len(SECTION_ORDER), country)


class FiguresSource:
    """The figures, read at most once per ``max_age`` seconds; viewers share one read."""

    def __init__(self, reads: Reads, max_age: float) -> None:
        self.reads = reads
        self.max_age = max_age
        self._figures: Figures | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    async def figures(self) -> Figures:
        async with self._lock:
            if self._figures is None or time.monotonic() - self._read_at >= self.max_age:
                self._figures = await self._read()
                self._read_at = time.monotonic()
            return self._figures

    async def _read(self) -> Figures:
        corridor = await get_corridor(self.reads)
        async with self.reads.engine.connect() as conn:
            samples = await queries.section_samples(conn, corridor.as_of - KPI_WINDOW)
        grouped: dict[str, list[float]] = {}
        for sample in samples:
            grouped.setdefault(sample.country, []).append(float(sample.transit_seconds))
        distributions = tuple(
            distribution(country, grouped[country], self.reads.target(country))
            for country in sorted(grouped, key=_order)
        )
        return Figures(corridor, distributions)
