"""Job changes told to the servers, so they can show progress to the project's clients.

Embedded, the server hands the runtime its own listener. A `storyarn worker` process publishes
each change on a Redis channel (`<prefix>:jobs`) that every server instance subscribes to
(server/job_progress.py). Pub/sub is enough: progress is ephemeral, and a client that missed
a message reads the job with GET /api/v1/jobs/{id}.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from persistence.jobs import Job

log = structlog.get_logger(__name__)


def job_summary(job: Job) -> dict[str, Any]:
    """What clients are told of a job: no download link (that needs GET /api/v1/jobs/{id})."""
    return {
        "id": job.id,
        "project_id": job.project_id,
        "kind": job.kind,
        "format": job.params.get("format"),
        "status": job.status.value,
        "percent": job.percent,
        "error": job.error,
    }


class RedisJobEvents:
    def __init__(self, url: str, channel: str) -> None:
        self._redis: Redis = Redis.from_url(url)
        self.channel = channel

    async def publish(self, job: Job) -> None:
        try:
            await self._redis.publish(self.channel, json.dumps(job_summary(job)))
        except RedisError as exc:  # progress is a courtesy: the job itself is in SQL
            log.warning("job_event_not_published", job_id=job.id, error=str(exc))

    async def close(self) -> None:
        await self._redis.aclose()
