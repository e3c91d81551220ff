"""Task names and enqueueing: the one place a caller turns "run this" into a message.

Names are explicit and stable (they travel through Redis between versions). Callers enqueue
only after the commit that motivates a task; every task is safe to run twice.
"""

from __future__ import annotations

from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker

EXPORT = "storyarn.export"
CLEANUP = "storyarn.cleanup"


async def enqueue_export(broker: AsyncBroker, job_id: str) -> None:
    """Queue an export job's task; its `jobs` row must already be committed."""
    await AsyncKicker[[str], None](EXPORT, broker, {}).kiq(job_id)


async def enqueue_cleanup(broker: AsyncBroker) -> None:
    await AsyncKicker[[], None](CLEANUP, broker, {}).kiq()
