"""EPCIS capture jobs in ingest's database (``ingest_capture_jobs``, migration 0002).

A job is written before ``202`` is answered, with the document's events, and is finished
(its errors and counts written, its events dropped) once every event has an outcome. A job
still running when ingest stops is run again at the next start: its events keep their ids,
so the ledger accepts them again and the consumers apply each once. Finished jobs are
forgotten after ``INGEST_CAPTURE_JOB_RETENTION_DAYS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, Boolean, Integer, String, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from corridor import db
from services.ingest.db import Base

ROLLBACK = "rollback"
PROCEED = "proceed"


class CaptureJobRow(Base):
    __tablename__ = "ingest_capture_jobs"

    capture_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(32))
    behaviour: Mapped[str] = mapped_column(String(8))
    running: Mapped[bool] = mapped_column(Boolean, index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(db.UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime, nullable=True, index=True)
    event_count: Mapped[int] = mapped_column(Integer)
    captured_count: Mapped[int] = mapped_column(Integer)
    events: Mapped[list[Any]] = mapped_column(JSON)  # kept until the job finishes
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


@dataclass(frozen=True, slots=True)
class CaptureJob:
    capture_id: str
    owner: str
    behaviour: str
    running: bool
    success: bool
    created_at: datetime
    finished_at: datetime | None
    event_count: int
    captured_count: int
    errors: list[dict[str, Any]]
    events: list[Any]

    def body(self) -> dict[str, Any]:
        """The job as ``GET /epcis/capture/{captureID}`` shows it (EPCIS 2.0 names)."""
        return {
            "captureID": self.capture_id,
            "createdAt": self.created_at.isoformat(),
            "finishedAt": None if self.finished_at is None else self.finished_at.isoformat(),
            "running": self.running,
            "success": self.success,
            "captureErrorBehaviour": self.behaviour,
            "eventCount": self.event_count,
            "capturedCount": self.captured_count,
            "errors": self.errors,
        }


class CaptureJobStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.table = cast(Table, CaptureJobRow.__table__)

    async def create(self, job: CaptureJob) -> None:
        values = {
            "capture_id": job.capture_id,
            "owner": job.owner,
            "behaviour": job.behaviour,
            "running": True,
            "success": False,
            "created_at": job.created_at,
            "finished_at": None,
            "event_count": job.event_count,
            "captured_count": 0,
            "events": job.events,
            "errors": [],
        }
        async with self.engine.begin() as conn:
            await conn.execute(insert(self.table).values(**values))

    async def finish(
        self, capture_id: str, captured: int, errors: list[dict[str, Any]], at: datetime
    ) -> None:
        statement = (
            update(self.table)
            .where(self.table.c.capture_id == capture_id)
            .values(
                running=False,
                success=not errors,
                finished_at=at,
                captured_count=captured,
                errors=errors,
                events=[],
            )
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    async def get(self, capture_id: str) -> CaptureJob | None:
        statement = select(self.table).where(self.table.c.capture_id == capture_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(statement)).mappings().first()
        return None if row is None else _job(row)

    async def running(self) -> list[CaptureJob]:
        statement = select(self.table).where(self.table.c.running.is_(True)).order_by("created_at")
        async with self.engine.connect() as conn:
            rows = (await conn.execute(statement)).mappings().all()
        return [_job(row) for row in rows]

    async def purge(self, finished_before: datetime) -> int:
        """Forget the jobs finished before ``finished_before``; how many there were."""
        statement = delete(self.table).where(self.table.c.finished_at < finished_before)
        async with self.engine.begin() as conn:
            result = await conn.execute(statement)
        return int(result.rowcount or 0)


def _job(row: Any) -> CaptureJob:
    return CaptureJob(
        capture_id=row["capture_id"],
        owner=row["owner"],
        behaviour=row["behaviour"],
        running=bool(row["running"]),
        success=bool(row["success"]),
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        event_count=row["event_count"],
        captured_count=row["captured_count"],
        errors=list(row["errors"] or []),
        events=list(row["events"] or []),
    )
