"""What tasks run against: the database, the document store, the jobs table, the blob store,
and who to tell when a job changes. Built by the server's lifespan (embedded) or by
`storyarn worker`, and handed to the tasks when they are registered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.blobs import BlobStore
from persistence.jobs import Job, JobStore
from persistence.store import DocumentStore
from workers.config import WorkerConfig

JobListener = Callable[[Job], Awaitable[None]]


@dataclass(slots=True)
class Runtime:
    config: WorkerConfig
    engine: AsyncEngine
    store: DocumentStore
    jobs: JobStore
    blobs: BlobStore
    on_job: JobListener | None = None  # progress pushed to clients (docs/api.md#jobs)

    async def job_changed(self, job_id: str) -> None:
        if self.on_job is None:
            return
        job = await self.jobs.get(job_id)
        if job is not None:
            await self.on_job(job)
