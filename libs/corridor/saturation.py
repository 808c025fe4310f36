"""Saturation of a service process, exposed on its /metrics: its database pools and its
event loop (the Operations dashboard's saturation panels).

- ``corridor_db_pool_connections{database, state}`` (in_use, idle) and
  ``corridor_db_pool_size{database}``: every engine made by ``corridor.db.make_engine`` in
  this process, summed by database name. In use at the pool's size means requests queue for
  a connection (up to the pool's overflow, then they wait for ``pool_timeout``).
- ``corridor_event_loop_lag_seconds``: how long the event loop took to come back to the
  scrape after yielding once (``await asyncio.sleep(0)``), i.e. the time every other ready
  callback ran for. A busy or blocked loop delays every request by this much.

One collector per process (pools and the loop are the process's), registered in every
registry that ``corridor.metrics.make_registry`` makes.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def watch_engine(engine: Engine) -> None:
    """Report this engine's pool (``make_engine`` calls it for every engine it makes)."""
    _ENGINES.add(engine)


class Saturation(Collector):
    def __init__(self) -> None:
        self.loop_lag_seconds = 0.0

    async def measure_loop_lag(self) -> None:
        """Called on the event loop by the /metrics route, just before it collects."""
        started = time.perf_counter()
        await asyncio.sleep(0)
        self.loop_lag_seconds = time.perf_counter() - started

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "corridor_event_loop_lag_seconds",
            "Time the event loop took to resume the scrape after one yield.",
        )
        lag.add_metric([], self.loop_lag_seconds)
        yield lag
        in_use: Counter[str] = Counter()
        idle: Counter[str] = Counter()
        size: Counter[str] = Counter()
        for engine in list(_ENGINES):
            pool = engine.pool
            if not isinstance(pool, QueuePool):  # SQLite's pools have no size to saturate
                continue
            database = engine.url.database or "?"
            in_use[database] += pool.checkedout()
            idle[database] += pool.checkedin()
            size[database] += pool.size()
        connections = GaugeMetricFamily(
            "corridor_db_pool_connections",
            "Database connections of the pool, by database and state (in_use, idle).",
            labels=["database", "state"],
        )
        sizes = GaugeMetricFamily(
            "corridor_db_pool_size",
            "Connections the pool keeps (beyond it, up to its overflow, requests still get one).",
            labels=["database"],
        )
        for database in sorted(size):
            connections.add_metric([database, "in_use"], in_use[database])
            connections.add_metric([database, "idle"], idle[database])
            sizes.add_metric([database], size[database])
        yield connections
        yield sizes


SATURATION = Saturation()
