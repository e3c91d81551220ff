"""The body of `storyarn worker`: consume the Redis task stream until told to stop.

The CLI (server/cli_worker.py) builds the `Runtime` from settings and sets up logging; this
module knows only taskiq. Several worker processes share the stream through one consumer
group; each also runs the cleanup schedule, which is safe because cleanup is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from taskiq.api import run_receiver_task

from workers.broker import make_broker, register_tasks, run_schedule
from workers.runtime import Runtime

log = structlog.get_logger(__name__)
MAX_CONCURRENT_TASKS = 4  # exports are memory- and CPU-heavy; scale out with processes


async def run_worker(runtime: Runtime, stop: asyncio.Event) -> None:
    config = runtime.config
    if not config.redis_url:
        raise ValueError("storyarn worker consumes the Redis task stream: set REDIS_URL")
    broker = make_broker(config)
    register_tasks(broker, runtime)
    broker.is_worker_process = True
    await broker.startup()
    log.info("worker_started", queue=config.queue)
    loop = asyncio.get_running_loop()
    receiver = loop.create_task(
        run_receiver_task(broker, max_async_tasks=MAX_CONCURRENT_TASKS, run_startup=False)
    )
    schedule = loop.create_task(run_schedule(broker, config.cleanup_interval_seconds))
    stopping = loop.create_task(stop.wait())
    try:
        await asyncio.wait({receiver, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if receiver.done():
            receiver.result()  # the receiver ended on its own: surface why
    finally:
        for task in (receiver, schedule, stopping):
            task.cancel()
        for task in (receiver, schedule, stopping):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await broker.shutdown()
        log.info("worker_stopped")
