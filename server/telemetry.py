"""GET /metrics, and the sampler that sets the gauges nothing on the hot path maintains.

Queue depths, pool usage and memory are read every few seconds (and right before a scrape of
this process) instead of being updated on every frame: the hot paths stay at one increment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from server import metrics
from server.loop_lag import LoopLagMonitor
from server.redis_fanout import RedisFanout

if TYPE_CHECKING:
    from server.app import Services

SAMPLE_SECONDS = 5.0
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        # Not Linux: the peak is the best the standard library offers.
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def sample(services: Services, engine: AsyncEngine | None) -> None:
    frames = longest = failing = 0
    for room in services.rooms.rooms.values():
        if not room.healthy:
            failing += 1
        for conn in room.connections.values():
            queued = conn.queued_frames
            frames += queued
            longest = max(longest, queued)
    metrics.SEND_QUEUE_FRAMES.set(frames)
    metrics.SEND_QUEUE_FRAMES_MAX.set(longest)
    metrics.ROOMS_FAILING.set(failing)
    metrics.RESIDENT_BYTES.set(resident_bytes())
    if engine is not None and isinstance(engine.pool, QueuePool):
        metrics.DB_POOL_SIZE.set(engine.pool.size())
        metrics.DB_POOL_CHECKED_OUT.set(engine.pool.checkedout())
    fanout = services.fanout
    if isinstance(fanout, RedisFanout):
        metrics.REDIS_BACKLOG.set(fanout.backlog)
        metrics.REDIS_UP.set(1 if fanout.healthy else 0)


@contextlib.asynccontextmanager
async def sampling(services: Services, engine: AsyncEngine | None) -> AsyncIterator[None]:
    """Sample while the server runs; this process counts as one of the serving processes."""

    async def run(lag: LoopLagMonitor) -> None:
        while True:
            sample(services, engine)
            metrics.LOOP_LAG_MAX_SECONDS.set(lag.take_max())
            await asyncio.sleep(SAMPLE_SECONDS)

    metrics.PROCESSES.set(1)
    async with LoopLagMonitor().running() as lag:
        task = asyncio.get_running_loop().create_task(run(lag))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            metrics.PROCESSES.set(0)


def metrics_endpoint(engine: AsyncEngine | None) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sample(request.app.state.services, engine)
        # Under --workers this reads every process's files: off the event loop.
        body = await run_in_threadpool(metrics.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return endpoint
