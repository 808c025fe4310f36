"""The HTTP status of each verdict of the use case (``outcomes.Verdict``)."""

from __future__ import annotations

from collections.abc import Mapping

from services.ingest.outcomes import ItemOutcome, Verdict

STATUS: Mapping[Verdict, int] = {
    Verdict.ACCEPTED: 202,
    Verdict.INVALID: 422,
    Verdict.FORBIDDEN: 403,
    Verdict.REUSED: 409,
    Verdict.ROLLED_BACK: 424,  # Failed Dependency: valid, but another item was refused
    Verdict.UNAVAILABLE: 503,
}


def status_of(outcome: ItemOutcome) -> int:
    return STATUS[outcome.verdict]
