"""What the worker side needs to know, handed in by whoever starts it (the server's lifespan
or `storyarn worker`); workers never read the environment or the server's settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    redis_url: str = ""  # empty: the in-process broker (tasks run in the server process)
    queue: str = "storyarn:tasks"  # the Redis stream of tasks; one per deployment
    attempts: int = 3  # tries of a task before its job is marked failed
    retry_base_seconds: float = 1.0  # waits 1, 2, 4 ... seconds between tries
    cleanup_interval_seconds: float = 3600.0  # 0: no periodic cleanup
    job_result_retention_seconds: float = 7 * 86400.0
    job_stale_seconds: float = 3600.0  # a queued or running job silent this long failed
    auto_version_retention_seconds: float = 30 * 86400.0  # 0: keep automatic versions
    compact_idle_seconds: float = 3600.0  # 0: never compact idle documents here
    redelivery_seconds: float = 600.0  # Redis: a task unacknowledged this long runs again
