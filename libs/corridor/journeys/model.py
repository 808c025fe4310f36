"""The journey generator's vocabulary: who posts where, the options, a post, a journey."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from corridor.journeys.truth import Truth

# Who posts events at a node, for the demo carriers (ids are lower-case operator ids); an
# operator not listed is reported by the joint company, which reports everywhere.
DEMO_REPORTER_BY_OPERATOR = {
    "CR": "ktz",  # KTZ receives trains at the Chinese border stations
    "KTZ": "ktz",
    "PORT-AKTAU": "port-aktau",
    "PORT-KURYK": "ktz",
    "PORT-BAKU": "port-baku",
    "ADY": "ady",
    "GR": "gr",
    "PORT-POTI": "port-poti",
    "PORT-BATUMI": "gr",
    "TCDD": "gr",
    "BSEA": "port-poti",
    "ASCO": "asco",  # the Caspian ferry
}
BOOKER = "mcm"
VESSEL_CARRIER = "asco"  # the Caspian ferry; a sea leg is reported by its operator's carrier

# Demo journeys: origin at the Chinese border, destination on the Black Sea or in Türkiye.
ORIGINS = ("CNHRS", "CNAKL")
DESTINATIONS = ("GEPTI", "GEPTI", "GEBUS", "TRKSY")
CONTAINER_TYPES = ("40HC", "40HC", "40GP", "20GP", "45HC", "WAGON")

# Typical dwell in hours (low, high) by node kind, where a node has no reference dwell; a
# reference dwell is drawn around (from REFERENCE_SPREAD times it).
DWELL_HOURS = {"border": (3.0, 14.0), "port": (10.0, 60.0), "hub": (2.0, 8.0)}
REFERENCE_SPREAD = (0.6, 1.4)
# Legs this short (border transfers) may be reported with departure and arrival at once.
SAME_INSTANT_MAX_HOURS = 6.0


@dataclass(frozen=True)
class Post:
    carrier: str
    body: dict[str, Any]
    occurred_at: datetime
    # When ingest received it (``None``: as it happened); a late post is received days later.
    recorded_at: datetime | None = None

    @property
    def event_id(self) -> str:
        return str(self.body["event_id"])


@dataclass
class JourneyOptions:
    customs_hold_rate: float = 0.15
    estimate_rate: float = 0.5
    exception_rate: float = 0.02
    wagon_share: float = 0.15
    promised_slack_days: tuple[float, float] = (-1.0, 5.0)
    origins: tuple[str, ...] = ORIGINS
    destinations: tuple[str, ...] = DESTINATIONS
    # Each border or port dwell lasts ``long_dwell_days`` instead, with this probability.
    long_dwell_rate: float = 0.0
    long_dwell_days: tuple[float, float] = (3.0, 7.0)
    # Each short leg is reported with departure and arrival at the same instant.
    same_instant_rate: float = 0.0
    # Each post leaves out ``mode`` (the route still knows it).
    modeless_rate: float = 0.0
    # With this probability, each actual post after the booking is received ``late_days``
    # after it happened (and posted after later ones); the others ``report_minutes`` after.
    # Received times are set (``Post.recorded_at``) when this is above 0 or posts shuffled.
    late_rate: float = 0.0
    late_days: tuple[float, float] = (0.5, 4.0)
    report_minutes: tuple[float, float] = (1.0, 30.0)
    # Posts in a random order rather than as received.
    shuffle: bool = False
    # The journey stops reporting after a random actual event before its delivery.
    silent_rate: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Journey:
    posts: list[Post]  # in the order things happened (``occurred_at``)
    posting: list[Post]  # the same posts in the order they are posted
    truth: Truth
