"""The event-loop lag monitor sees a blocked loop and reports it."""

import asyncio
import time

from prometheus_client import REGISTRY

from server.loop_lag import LoopLagMonitor


def _observations() -> float:
    value = REGISTRY.get_sample_value("storyarn_event_loop_lag_seconds_count")
    return value or 0.0


async def test_a_blocked_loop_shows_up_as_lag() -> None:
    before = _observations()
    async with LoopLagMonitor(interval=0.01).running() as monitor:
        await asyncio.sleep(0.05)
        quiet = monitor.take_max()
        time.sleep(0.15)  # noqa: ASYNC251 - blocking on purpose: what a huge load does
        await asyncio.sleep(0.05)
        stalled = monitor.take_max()
    assert stalled >= 0.1
    assert quiet < stalled
    assert monitor.max_lag < 0.1  # take_max resets the running maximum
    assert _observations() > before
