"""Event-loop lag: how long the loop was blocked, measured as the lateness of a short timer.

A CPU-bound step (loading or encoding a large document, a big JSON body) holds every room and
request of the process. The monitor wakes every `interval` seconds; anything past that is time
the loop could not run it. Lag is a histogram (for alerts and dashboards) and a running maximum
that the metrics sampler reads and resets.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import structlog

from server import metrics

log = structlog.get_logger(__name__)

# A stall this long is worth a log line: it is what a writer notices as a frozen cursor.
_WARN_SECONDS = 0.25


class LoopLagMonitor:
    def __init__(self, interval: float = 0.05) -> None:
        self._interval = interval
        self.max_lag = 0.0  # since the last `take_max`

    def take_max(self) -> float:
        longest, self.max_lag = self.max_lag, 0.0
        return longest

    async def run(self) -> None:
        interval = self._interval
        clock = time.perf_counter
        while True:
            started = clock()
            await asyncio.sleep(interval)
            lag = max(0.0, clock() - started - interval)
            metrics.LOOP_LAG_SECONDS.observe(lag)
            if lag > self.max_lag:
                self.max_lag = lag
            if lag >= _WARN_SECONDS:
                log.warning("event_loop_stalled", seconds=round(lag, 3))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[LoopLagMonitor]:
        task = asyncio.get_running_loop().create_task(self.run())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
