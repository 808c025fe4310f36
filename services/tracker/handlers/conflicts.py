"""An ``event_id`` is used once per carrier: a copy with the same content is a harmless
retry, one with different content a conflicting duplicate (dead-lettered, never applied)."""

from __future__ import annotations

from services.tracker.domain import Event

# What a copy must repeat exactly. Not ``recorded_at``: a carrier's retry of the same post
# is received again, later.
CONTENT = (
    "shipment_id",
    "event_type",
    "classifier",
    "occurred_at",
    "location",
    "mode",
    "container_no",
    "wagon_no",
    "reason",
    "booking",
)
PREFIX = "conflicting duplicate: "


def conflict(known: Event, copy: Event) -> str | None:
    """``None`` when ``copy`` repeats ``known``; else the dead-letter reason."""
    if copy is known or copy._replace(recorded_at=known.recorded_at) == known:
        return None
    fields = [name for name in CONTENT if getattr(copy, name) != getattr(known, name)]
    return (
        f"{PREFIX}event_id {copy.event_id!r} of carrier {copy.carrier!r} was used before "
        f"with different {', '.join(fields)}"
    )[:1000]
