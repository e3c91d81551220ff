"""Job metrics: how many background tasks ended, how, and how long they took.

Counted where the task runs: in the server process in the embedded default (its /metrics
shows them), in `storyarn worker` otherwise (served on STORYARN_WORKER_METRICS_PORT).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

JOBS = Counter(
    "storyarn_jobs", "Background tasks that ended, by task and outcome.", ["task", "outcome"]
)
JOB_SECONDS = Histogram(
    "storyarn_job_seconds",
    "Duration of background tasks, by task and outcome.",
    ["task", "outcome"],
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0),
)


class Outcome:
    """What the task says happened; `failed` unless it says otherwise (an exception)."""

    def __init__(self) -> None:
        self.value = "failed"


@contextmanager
def timed(task: str) -> Iterator[Outcome]:
    outcome = Outcome()
    started = time.perf_counter()
    try:
        yield outcome
    finally:
        JOBS.labels(task, outcome.value).inc()
        JOB_SECONDS.labels(task, outcome.value).observe(time.perf_counter() - started)
