"""Realistic corridor journeys as carrier posts, with their truth: the simulator's and the
tests' source. ``plan`` generates a journey, ``truth`` says what it really did (what the
tracker and the tariff must answer), ``posting`` how its posts reach ingest, ``model``
the vocabulary."""

from corridor.journeys.model import (
    BOOKER,
    CONTAINER_TYPES,
    DEMO_REPORTER_BY_OPERATOR,
    DESTINATIONS,
    DWELL_HOURS,
    ORIGINS,
    VESSEL_CARRIER,
    Journey,
    JourneyOptions,
    Post,
)
from corridor.journeys.plan import generate_journey, plan_journey
from corridor.journeys.posting import scramble
from corridor.journeys.truth import (
    DwellTruth,
    SectionTruth,
    SegmentRun,
    SilenceRule,
    Step,
    Truth,
)

__all__ = [
    "BOOKER",
    "CONTAINER_TYPES",
    "DEMO_REPORTER_BY_OPERATOR",
    "DESTINATIONS",
    "DWELL_HOURS",
    "ORIGINS",
    "VESSEL_CARRIER",
    "DwellTruth",
    "Journey",
    "JourneyOptions",
    "Post",
    "SectionTruth",
    "SegmentRun",
    "SilenceRule",
    "Step",
    "Truth",
    "generate_journey",
    "plan_journey",
    "scramble",
]
