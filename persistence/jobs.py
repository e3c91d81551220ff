"""`JobStore`: the rows of background jobs, written by the API (queued) and the workers.

Transitions only move forward (queued -> running -> done | failed; done -> expired), and each
one is a conditional UPDATE, so a task delivered twice, or run by two workers at once, finds
the job already taken or finished and leaves it alone.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.engine import sqlite_write_lock
from persistence.job_tables import JobRow
from persistence.store import StoreUnavailable

_FAULTS = (SQLAlchemyError, OSError, TimeoutError)
MAX_ERROR_CHARS = 2000


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"  # done, but its result was deleted after the retention


@dataclass(frozen=True, slots=True)
class JobResult:
    key: str  # in the blob store
    filename: str
    size: int


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    project_id: str
    kind: str
    params: dict[str, Any]
    status: JobStatus
    percent: int
    attempts: int
    result: JobResult | None
    error: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for what we wrote in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _job(row: Any) -> Job:
    result = None
    if row.result_key is not None:
        result = JobResult(row.result_key, row.result_filename or "", row.result_size or 0)
    return Job(
        id=row.id,
        project_id=row.project_id,
        kind=row.kind,
        params=json.loads(row.params),
        status=JobStatus(row.status),
        percent=row.percent,
        attempts=row.attempts,
        result=result,
        error=row.error,
        created_by=row.created_by,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
    )


class JobStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._write_lock = sqlite_write_lock(engine)

    async def _write(self, statement: Any) -> int:
        lock = self._write_lock
        try:
            if lock is not None:
                await lock.acquire()
            try:
                async with self._engine.begin() as conn:
                    result = await conn.execute(statement)
                    return int(result.rowcount or 0)
            finally:
                if lock is not None:
                    lock.release()
        except _FAULTS as exc:
            raise StoreUnavailable(f"job write failed: {exc.__class__.__name__}") from exc

    async def _rows(self, statement: Any) -> list[Any]:
        try:
            async with self._engine.connect() as conn:
                return list((await conn.execute(statement)).all())
        except _FAULTS as exc:
            raise StoreUnavailable(f"job read failed: {exc.__class__.__name__}") from exc

    async def create(
        self, project_id: str, kind: str, params: dict[str, Any], created_by: str | None
    ) -> Job:
        """A queued job, committed: only then may its task be enqueued."""
        now = _now()
        values = {
            "id": uuid.uuid4().hex,
            "project_id": project_id,
            "kind": kind,
            "params": json.dumps(params, sort_keys=True),
            "status": JobStatus.QUEUED.value,
            "percent": 0,
            "attempts": 0,
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
        }
        await self._write(insert(JobRow).values(values))
        job = await self.get(str(values["id"]))
        if job is None:  # pragma: no cover - just committed
            raise StoreUnavailable("job vanished after its insert")
        return job

    async def get(self, job_id: str) -> Job | None:
        rows = await self._rows(select(JobRow).where(JobRow.id == job_id))
        return _job(rows[0]) if rows else None

    async def start(self, job_id: str) -> Job | None:
        """Take a queued (or interrupted running) job; None when it is finished or unknown."""
        taken = await self._write(
            update(JobRow)
            .where(
                JobRow.id == job_id,
                JobRow.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
            )
            .values(status=JobStatus.RUNNING.value, attempts=JobRow.attempts + 1, updated_at=_now())
        )
        return await self.get(job_id) if taken else None

    async def progress(self, job_id: str, percent: int) -> None:
        await self._write(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.status == JobStatus.RUNNING.value)
            .values(percent=max(0, min(100, percent)), updated_at=_now())
        )

    async def finish(self, job_id: str, result: JobResult) -> bool:
        return bool(
            await self._write(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == JobStatus.RUNNING.value)
                .values(
                    status=JobStatus.DONE.value,
                    percent=100,
                    result_key=result.key,
                    result_filename=result.filename,
                    result_size=result.size,
                    error=None,
                    updated_at=_now(),
                )
            )
        )

    async def fail(self, job_id: str, reason: str) -> bool:
        """Mark a job that has not finished as failed, with a reason a user can read."""
        return bool(
            await self._write(
                update(JobRow)
                .where(
                    JobRow.id == job_id,
                    JobRow.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
                )
                .values(
                    status=JobStatus.FAILED.value,
                    error=reason[:MAX_ERROR_CHARS],
                    updated_at=_now(),
                )
            )
        )

    async def expire(self, job_id: str) -> bool:
        return bool(
            await self._write(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == JobStatus.DONE.value)
                .values(status=JobStatus.EXPIRED.value, updated_at=_now())
            )
        )

    async def finished_before(self, cutoff: datetime, limit: int = 500) -> list[Job]:
        """Done jobs last touched before `cutoff`: results past their retention."""
        rows = await self._rows(
            select(JobRow)
            .where(JobRow.status == JobStatus.DONE.value, JobRow.updated_at < cutoff)
            .order_by(JobRow.updated_at)
            .limit(limit)
        )
        return [_job(row) for row in rows]

    async def stalled_before(self, cutoff: datetime, limit: int = 500) -> list[Job]:
        """Queued or running jobs silent since `cutoff`: their worker died or never came."""
        rows = await self._rows(
            select(JobRow)
            .where(
                JobRow.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
                JobRow.updated_at < cutoff,
            )
            .limit(limit)
        )
        return [_job(row) for row in rows]
