"""The tracker's pure rules: a shipment's state as a fold over its events, its ETA.

No I/O and no framework imports: fastapi, aiokafka, SQLAlchemy and protobuf stay outside.
"""

from services.tracker.domain.aside import SetAside
from services.tracker.domain.eta import (
    Statistics,
    estimate_arrival,
    is_delayed,
    medians,
    percentile,
)
from services.tracker.domain.events import (
    RANK,
    Booking,
    Classifier,
    Event,
    EventType,
    LastEvent,
    OrderKey,
)
from services.tracker.domain.fold import (
    LateEvent,
    advance,
    can_advance,
    fold,
    unique_in_order,
)
from services.tracker.domain.kpis import newly_closed
from services.tracker.domain.tracks import CASPIAN, dwell_kind, sea_section
from services.tracker.domain.view import (
    TEU,
    Dwell,
    Milestone,
    Section,
    SegmentTime,
    ShipmentView,
    Status,
    TrackedShipment,
)

__all__ = [
    "CASPIAN",
    "RANK",
    "TEU",
    "Booking",
    "Classifier",
    "Dwell",
    "Event",
    "EventType",
    "LastEvent",
    "LateEvent",
    "Milestone",
    "OrderKey",
    "Section",
    "SegmentTime",
    "SetAside",
    "ShipmentView",
    "Statistics",
    "Status",
    "TrackedShipment",
    "advance",
    "can_advance",
    "dwell_kind",
    "estimate_arrival",
    "fold",
    "is_delayed",
    "medians",
    "newly_closed",
    "percentile",
    "sea_section",
    "unique_in_order",
]
