"""The taskiq broker: in-process (embedded default) or a Redis stream (production), the task
registrations, and the schedule that enqueues the periodic cleanup.

Embedded: the server's lifespan enters `embedded_worker`; tasks run in the server process.
With Redis: the server only enqueues (`client_broker`), and `storyarn worker` processes
consume the stream (`workers/process.py`). A task left unacknowledged by a worker that died is
delivered again after `redelivery_seconds`, which the tasks' idempotence makes harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from redis.exceptions import RedisError
from taskiq import AsyncBroker, InMemoryBroker
from taskiq_redis import RedisStreamBroker

from workers import tasks
from workers.cleanup import run_cleanup
from workers.config import WorkerConfig
from workers.export import run_export
from workers.runtime import Runtime

log = structlog.get_logger(__name__)
CONSUMER_GROUP = "storyarn-workers"
_STREAM_MAX_LEN = 100_000
_DRAIN_SECONDS = 10.0


def make_broker(config: WorkerConfig) -> AsyncBroker:
    if not config.redis_url:
        return InMemoryBroker(max_async_tasks=8)
    return RedisStreamBroker(
        config.redis_url,
        queue_name=config.queue,
        consumer_group_name=CONSUMER_GROUP,
        # "0", not "$": a group created after the server enqueued still sees those tasks.
        consumer_id="0",
        idle_timeout=int(config.redelivery_seconds * 1000),
        maxlen=_STREAM_MAX_LEN,
    )


def register_tasks(broker: AsyncBroker, runtime: Runtime) -> None:
    """Bind the tasks to `runtime`: a closure each, so no task reads module state."""

    async def export(job_id: str) -> None:
        await run_export(runtime, job_id)

    async def cleanup() -> None:
        await run_cleanup(runtime)

    broker.register_task(export, task_name=tasks.EXPORT)
    broker.register_task(cleanup, task_name=tasks.CLEANUP)


async def run_schedule(broker: AsyncBroker, interval_seconds: float) -> None:
    """Enqueue the cleanup every interval (the first one after one interval)."""
    if interval_seconds <= 0:
        return
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await tasks.enqueue_cleanup(broker)
        except (RedisError, OSError) as exc:
            log.warning("cleanup_not_enqueued", error=str(exc))


@contextlib.asynccontextmanager
async def _scheduled(broker: AsyncBroker, interval_seconds: float) -> AsyncIterator[None]:
    schedule = asyncio.get_running_loop().create_task(run_schedule(broker, interval_seconds))
    try:
        yield
    finally:
        schedule.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await schedule


@contextlib.asynccontextmanager
async def embedded_worker(runtime: Runtime) -> AsyncIterator[AsyncBroker]:
    """The in-process broker with our tasks and the schedule, for the server's lifespan."""
    broker = InMemoryBroker(max_async_tasks=8)
    register_tasks(broker, runtime)
    await broker.startup()
    try:
        async with _scheduled(broker, runtime.config.cleanup_interval_seconds):
            yield broker
    finally:
        # Running exports get a bounded drain; one cut short stays "running" and is failed
        # by a later cleanup as stalled, so the user can start it again.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(broker.wait_all(), _DRAIN_SECONDS)
        await broker.shutdown()


@contextlib.asynccontextmanager
async def client_broker(config: WorkerConfig) -> AsyncIterator[AsyncBroker]:
    """A broker that only enqueues (the server beside `storyarn worker` processes)."""
    broker = make_broker(config)
    try:
        await broker.startup()
    except (RedisError, OSError) as exc:
        # The server still starts (documents do not need Redis to be durable); exports answer
        # 503 until Redis is back, and workers declare the consumer group themselves.
        log.warning("task_queue_unavailable", error=str(exc))
    try:
        yield broker
    finally:
        await broker.shutdown()
