"""Background work seen from the server: the worker settings, and the broker the lifespan
opens (in-process with the tasks, or a Redis client beside `storyarn worker` processes).

`Background` is made by `create_app` (so routes can hold it) and filled by the lifespan.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine
from taskiq import AsyncBroker

from persistence.blobs import BlobStore
from persistence.jobs import JobStore
from persistence.store import DocumentStore
from server.job_progress import JobProgress, listening
from server.settings import Settings
from workers.broker import client_broker, embedded_worker
from workers.config import WorkerConfig
from workers.runtime import Runtime


def jobs_channel(settings: Settings) -> str:
    """The Redis channel of job events (workers/job_events.py)."""
    return f"{settings.redis_prefix}:jobs"


def worker_config(settings: Settings) -> WorkerConfig:
    return WorkerConfig(
        redis_url=settings.redis_url,
        queue=f"{settings.redis_prefix}:tasks",
        attempts=settings.task_attempts,
        cleanup_interval_seconds=settings.cleanup_interval_seconds,
        job_result_retention_seconds=settings.job_result_retention_seconds,
        job_stale_seconds=settings.job_stale_seconds,
        auto_version_retention_seconds=settings.auto_version_retention_seconds,
        compact_idle_seconds=settings.compact_idle_seconds,
        redelivery_seconds=settings.task_redelivery_seconds,
    )


@dataclass(slots=True)
class Background:
    jobs: JobStore
    broker: AsyncBroker | None = None  # None until the lifespan opens it
    blobs: BlobStore | None = None


@contextlib.asynccontextmanager
async def running_background(
    settings: Settings,
    engine: AsyncEngine,
    store: DocumentStore,
    background: Background,
    blobs: BlobStore,
    progress: JobProgress,
) -> AsyncIterator[None]:
    """Embedded: tasks run here and tell `progress` directly. With Redis: only enqueue, and
    relay what `storyarn worker` processes publish."""
    config = worker_config(settings)
    background.blobs = blobs
    async with contextlib.AsyncExitStack() as stack:
        if config.redis_url:
            broker = await stack.enter_async_context(client_broker(config))
            await stack.enter_async_context(
                listening(progress, config.redis_url, jobs_channel(settings))
            )
        else:
            runtime = Runtime(config, engine, store, background.jobs, blobs, progress.job_changed)
            broker = await stack.enter_async_context(embedded_worker(runtime))
        background.broker = broker
        try:
            yield
        finally:
            background.broker = None
