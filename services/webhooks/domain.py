"""Pure rules of partner webhooks: which states a subscription's filter takes, how a
delivery is signed, and when a failed delivery is tried again or given up. No I/O."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from corridor.kafka import Backoff

FILTER_FIELDS = ("shipment_ids", "event_types", "locations", "states")
SIGNATURE_SCHEME = "sha256"


@dataclass(frozen=True)
class Filter:
    """What a subscription asks for; an empty set stands for "any"."""

    shipment_ids: frozenset[str] = frozenset()
    event_types: frozenset[str] = frozenset()  # EventType names of the last event
    locations: frozenset[str] = frozenset()  # UN/LOCODEs: current location or last event's
    states: frozenset[str] = frozenset()  # BOOKED, IN_TRANSIT, HELD, DELIVERED

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any] | None) -> Filter:
        doc = doc or {}
        return cls(*(frozenset(doc.get(name) or ()) for name in FILTER_FIELDS))

    def doc(self) -> dict[str, list[str]]:
        """Stored and shown form: only the fields given, sorted."""
        values = (self.shipment_ids, self.event_types, self.locations, self.states)
        return {name: sorted(v) for name, v in zip(FILTER_FIELDS, values, strict=True) if v}


@dataclass(frozen=True)
class StateFacts:
    """What a filter looks at in a shipment state (names as in the tracker's API)."""

    shipment_id: str
    status: str
    event_type: str  # of the last event; "" before any
    locations: frozenset[str]  # current location and last event's location


def matches(f: Filter, state: StateFacts) -> bool:
    """Every field given must hold (and); within one field any value will do (or)."""
    return (
        (not f.shipment_ids or state.shipment_id in f.shipment_ids)
        and (not f.event_types or state.event_type in f.event_types)
        and (not f.locations or not f.locations.isdisjoint(state.locations))
        and (not f.states or state.status in f.states)
    )


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_SCHEME}={digest}"


def signature_header(secrets: Sequence[str], body: bytes) -> str:
    """The ``Notification-Signature`` value: one signature per secret in force, current
    first, comma-separated (two only during a rotation's overlap)."""
    return ", ".join(sign(secret, body) for secret in secrets)


def verify(secret: str, body: bytes, header: str) -> bool:
    """Whether any signature of ``header`` is ``body`` signed with ``secret`` (what a
    receiver does; constant time)."""
    expected = sign(secret, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in header.split(","))


def secrets_in_force(
    current: str, previous: str | None, previous_until: datetime | None, now: datetime
) -> list[str]:
    """The current secret, and the previous one until its overlap ends."""
    if previous and previous_until is not None and now < previous_until:
        return [current, previous]
    return [current]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded, jittered exponential back-off (``corridor.kafka.Backoff``) and a bounded
    number of attempts, after which a delivery is given up."""

    max_attempts: int
    base_seconds: float
    cap_seconds: float

    def after_failure(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` failed attempts; ``None``: give up."""
        if attempts >= self.max_attempts:
            return None
        backoff = Backoff(self.base_seconds, self.cap_seconds, attempts=attempts - 1)
        return now + timedelta(seconds=backoff.next())
