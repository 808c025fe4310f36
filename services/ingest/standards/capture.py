"""Mapped events through ingest's one use case, and the EPCIS capture jobs that run them.

A mapped body is validated by the native schema (``EventIn``) and handed to
``Ingest.submit_many`` like a native batch: the same rules, trust checks, ledger,
publication and contract. Every error is then named in the standard's terms
(``common.source_field``). What cannot be mapped never reaches the broker.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import ValidationError
from pydantic_core import to_json

from corridor.principals import Principal, PrincipalRegistry
from corridor.problems import MAX_ERRORS, field_error
from corridor.topology import Topology
from services.ingest.api import reported
from services.ingest.domain import ReportedEvent, Violation
from services.ingest.handlers import Ingest
from services.ingest.invalid import item_violations
from services.ingest.outcomes import Invalid, ItemOutcome, Verdict
from services.ingest.schemas import EventIn
from services.ingest.standards import epcis
from services.ingest.standards.common import Mapped, Unmapped, source_field
from services.ingest.standards.jobs import ROLLBACK, CaptureJob, CaptureJobStore
from services.ingest.statuses import status_of

log = logging.getLogger(__name__)

# Events the broker did not acknowledge in time are tried again this many times, after
# these pauses (seconds); their ids are the same, so a retry is never applied twice.
RETRY_PAUSES = (0.5, 1.0, 2.0)
PURGE_EVERY = timedelta(hours=1)


def flatten(mapped: Sequence[list[Mapped] | Unmapped]) -> tuple[list[int], list[Mapped | Unmapped]]:
    """The corridor events of the standard's events, and the index of the event each
    came from (an EPCIS event is one corridor event per container)."""
    origins: list[int] = []
    results: list[Mapped | Unmapped] = []
    for index, one in enumerate(mapped):
        for result in one if isinstance(one, list) else [one]:
            origins.append(index)
            results.append(result)
    return origins, results


def item(result: Mapped | Unmapped) -> ReportedEvent | Invalid:
    """A mapped event as the use case takes it: well-formed, or ``Invalid`` with why."""
    if isinstance(result, Unmapped):
        event_id = result.event_id if result.event_id and len(result.event_id) <= 128 else None
        return Invalid(event_id, "unknown", result.violations, len(result.violations))
    try:
        # From JSON, like a posted body: its times are RFC 3339 text (strict in Python).
        return reported(EventIn.model_validate_json(to_json(result.body)))
    except ValidationError as exc:
        violations, count = item_violations(exc, result.body)
        event_id = result.body.get("event_id")
        return Invalid(
            event_id if isinstance(event_id, str) and len(event_id) <= 128 else None,
            str(result.body.get("event_type", "unknown")),
            violations,
            count,
        )


def renamed(outcome: ItemOutcome, result: Mapped | Unmapped) -> ItemOutcome:
    """``outcome`` with its fields named as the standard names them."""
    if isinstance(result, Unmapped) or not outcome.violations:
        return outcome
    violations = [
        Violation(source_field(v.field, result.fields), v.message, v.code, v.forbidden)
        for v in outcome.violations
    ]
    return ItemOutcome(outcome.event_id, outcome.verdict, violations, outcome.error_count)


async def submit(
    ingest: Ingest,
    carrier: Principal,
    results: Sequence[Mapped | Unmapped],
    *,
    all_or_nothing: bool = False,
) -> list[ItemOutcome]:
    outcomes = await ingest.submit_many(
        carrier, [item(r) for r in results], all_or_nothing=all_or_nothing
    )
    return [renamed(o, r) for o, r in zip(outcomes, results, strict=True)]


def error_entry(index: int, outcome: ItemOutcome) -> dict[str, Any]:
    """One event's failure in a capture job."""
    return {
        "eventIndex": index,
        "eventID": outcome.event_id,
        "status": status_of(outcome),
        "errors": [
            field_error(v.field, v.message, v.code) for v in outcome.violations[:MAX_ERRORS]
        ],
        "errorCount": max(outcome.error_count, len(outcome.violations)),
    }


class CaptureJobs:
    """Runs each capture job in the background of this process; resumes at start-up the
    jobs a stopped process left running."""

    def __init__(
        self,
        ingest: Ingest,
        store: CaptureJobStore,
        topology: Topology,
        principals: PrincipalRegistry,
        clock: Callable[[], datetime],
        metrics: CollectorRegistry,
        retention: timedelta = timedelta(days=30),
        pauses: Sequence[float] = RETRY_PAUSES,
    ) -> None:
        self.ingest = ingest
        self.store = store
        self.topology = topology
        self.principals = principals
        self.clock = clock
        self.pauses = pauses
        self.retention = retention
        self._purged_at: datetime | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.finished = Counter(
            "corridor_ingest_capture_jobs_total",
            "EPCIS capture jobs finished, by error behaviour and outcome (success: every "
            "event captured; failed: some event was not).",
            ["behaviour", "outcome"],
            registry=metrics,
        )
        running = Gauge(
            "corridor_ingest_capture_jobs_running",
            "EPCIS capture jobs running in this process.",
            registry=metrics,
        )
        running.set_function(lambda: len(self._tasks))

    async def start(self) -> None:
        await self._purge()
        for job in await self.store.running():
            log.info("resuming capture job", extra={"capture_id": job.capture_id})
            self._spawn(job)

    async def stop(self) -> None:
        """Stop running jobs (they stay ``running`` in the database: the next start
        resumes them)."""
        tasks, self._tasks = self._tasks, set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def create(self, owner: Principal, events: list[Any], behaviour: str) -> CaptureJob:
        job = CaptureJob(
            capture_id=str(uuid.uuid4()),
            owner=owner.id,
            behaviour=behaviour,
            running=True,
            success=False,
            created_at=self.clock(),
            finished_at=None,
            event_count=len(events),
            captured_count=0,
            errors=[],
            events=events,
        )
        await self.store.create(job)
        self._spawn(job)
        await self._purge()
        return job

    async def _purge(self) -> None:
        """Forget the jobs finished longer than ``retention`` ago, at most once an hour."""
        now = self.clock()
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = now
        try:
            purged = await self.store.purge(now - self.retention)
        except Exception:
            log.exception("capture jobs not purged")  # tried again within the hour
            self._purged_at = now - PURGE_EVERY + timedelta(minutes=1)
            return
        if purged:
            log.info("capture jobs purged", extra={"purged": purged})

    async def idle(self) -> None:
        """Wait until no job runs in this process (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, job: CaptureJob) -> None:
        task = asyncio.create_task(self._run(job), name=f"capture-{job.capture_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: CaptureJob) -> None:
        try:
            captured, errors = await self._capture(job)
            await self.store.finish(job.capture_id, captured, errors, self.clock())
            self.finished.labels(job.behaviour, "failed" if errors else "success").inc()
        except asyncio.CancelledError:
            raise
        except Exception:
            # Left running: the next start of ingest runs it again.
            log.exception("capture job failed", extra={"capture_id": job.capture_id})

    async def _capture(self, job: CaptureJob) -> tuple[int, list[dict[str, Any]]]:
        owner = self.principals.get(job.owner)
        origins, results = flatten([epcis.map_event(raw, self.topology) for raw in job.events])
        if owner is None or not owner.may_post:  # removed from the registry meanwhile
            gone = Violation("", f"principal {job.owner} no longer posts events", "may_not_post")
            return 0, [
                error_entry(i, ItemOutcome(None, Verdict.FORBIDDEN, [gone])) for i in set(origins)
            ]
        all_or_nothing = job.behaviour == ROLLBACK
        outcomes = await submit(self.ingest, owner, results, all_or_nothing=all_or_nothing)
        for pause in self.pauses:
            waiting = [i for i, o in enumerate(outcomes) if o.unavailable]
            if not waiting:
                break
            await asyncio.sleep(pause)
            again = await submit(self.ingest, owner, [results[i] for i in waiting])
            for index, outcome in zip(waiting, again, strict=True):
                outcomes[index] = outcome
        errors = [
            error_entry(origins[k], outcome)
            for k, outcome in enumerate(outcomes)
            # A rolled-back event is not listed: the events at fault are.
            if not outcome.accepted and outcome.verdict is not Verdict.ROLLED_BACK
        ]
        failed = {origins[k] for k, outcome in enumerate(outcomes) if not outcome.accepted}
        return len(job.events) - len(failed), errors
