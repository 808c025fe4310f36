"""The carrier simulator: realistic corridor journeys posted through the public API.

Each journey (``corridor.journeys``: booking, China border, Kazakhstan rail, Aktau or
Kuryk, the Caspian ferry, Baku, the Georgian border, Poti, Batumi or Kars, delivery; with
border and port dwell, some customs holds, late and duplicated posts) is posted event by
event, each as its carrier (key ``demo-<carrier>``), when its time comes under the time
compression (``schedule``). New journeys start continuously so that the aggregate rate is
about ``--rate`` events per second (``run``). The same code is the benchmarks' load
generator (``load``).

Run it: ``python -m services.ingest.simulator --url http://127.0.0.1:8001 --rate 5``.
"""

from services.ingest.simulator.load import PostResult, paced, post_at_rate, sample_posts
from services.ingest.simulator.run import (
    SimulatorOptions,
    Stats,
    carrier_headers,
    carrier_key,
    post_event,
    simulate,
)
from services.ingest.simulator.schedule import ScheduledPost, schedule_journey

__all__ = [
    "PostResult",
    "ScheduledPost",
    "SimulatorOptions",
    "Stats",
    "carrier_headers",
    "carrier_key",
    "paced",
    "post_at_rate",
    "post_event",
    "sample_posts",
    "schedule_journey",
    "simulate",
]
