"""What became of each posted event, as the use case says it: a verdict and the reasons.

The verdicts are the use case's own words; the HTTP adapter (``statuses.py``) turns them
into status codes, so nothing here knows of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from services.ingest.domain import Violation

UNAVAILABLE = "unavailable"  # a violation's code, and the outcome counted in the metrics
EVENT_ID_REUSED = "event_id_reused"


class Verdict(StrEnum):
    ACCEPTED = "accepted"  # the broker acknowledged it
    INVALID = "invalid"  # its content breaks a rule
    FORBIDDEN = "forbidden"  # the carrier may not write this (rights, trust)
    REUSED = "reused"  # its event_id was used for another event
    ROLLED_BACK = "rolled_back"  # valid, but not published: another item was refused
    UNAVAILABLE = "unavailable"  # the broker or the database did not answer in time


@dataclass(frozen=True, slots=True)
class Invalid:
    """An item of a batch that is not even well-formed (schema violations)."""

    event_id: str | None
    event_type: str
    violations: list[Violation]
    error_count: int = 0


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    event_id: str | None
    verdict: Verdict
    violations: list[Violation] = field(default_factory=list)
    error_count: int = 0

    @property
    def accepted(self) -> bool:
        return self.verdict is Verdict.ACCEPTED

    @property
    def unavailable(self) -> bool:
        return self.verdict is Verdict.UNAVAILABLE

    @property
    def slug(self) -> str | None:
        """The problem type of a refusal that has its own (``not_a_party``...)."""
        codes = {v.code for v in self.violations}
        for special in ("not_a_party", "not_the_booker"):
            if self.verdict is Verdict.FORBIDDEN and special in codes:
                return special
        return "event-id-reused" if self.verdict is Verdict.REUSED else None


def verdict_of(violations: list[Violation]) -> Verdict:
    """Content first: a carrier learns of its rights only for a valid event."""
    return Verdict.INVALID if any(not v.forbidden for v in violations) else Verdict.FORBIDDEN


def unavailable_violation(what: str) -> Violation:
    return Violation(
        "", f"{what} did not answer in time; retry with the same event_id", UNAVAILABLE
    )


BROKER_UNAVAILABLE = unavailable_violation("the broker")
STORE_UNAVAILABLE = unavailable_violation("the database")
REUSED = Violation(
    "event_id", "this event_id was already used for another event of yours", EVENT_ID_REUSED
)
ROLLED_BACK = Violation(
    "", "not captured: another event of the capture was refused (rollback)", "rolled_back"
)
# Refusals counted as denials (by role and reason): rights and trust, not mere content.
DENIED = frozenset(
    {
        "may_not_book",
        "not_operated",
        "not_a_party",
        "not_the_booker",
        "before_booking",
        "not_destination",
        "too_old",
        EVENT_ID_REUSED,
    }
)
