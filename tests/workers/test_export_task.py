"""The export task on its own: retries, then a readable failure; a finished job left alone."""

from __future__ import annotations

from pathlib import Path

from persistence.blobs import LocalBlobStore
from persistence.jobs import Job, JobStatus
from tests.workers.export_support import sample_docs, store_docs
from workers.config import WorkerConfig
from workers.export import run_export
from workers.runtime import Runtime


async def test_export_task_fails_readably_after_bounded_retries(
    runtime: Runtime, tmp_path: Path
) -> None:
    await store_docs(runtime.store, sample_docs("p1"))
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")  # a file where the blob folder should be: every write fails
    runtime.blobs = LocalBlobStore(blocker)
    runtime.config = WorkerConfig(attempts=3, retry_base_seconds=0.01)
    seen: list[JobStatus] = []

    async def listen(job: Job) -> None:
        seen.append(job.status)

    runtime.on_job = listen
    job = await runtime.jobs.create("p1", "export", {"format": "storyarn"}, "ed")
    await run_export(runtime, job.id)
    failed = await runtime.jobs.get(job.id)
    assert failed is not None and failed.status is JobStatus.FAILED
    assert failed.error == "storage was unavailable after 3 attempts; try again later"
    assert failed.result is None
    assert seen[0] is JobStatus.RUNNING and seen[-1] is JobStatus.FAILED
    await run_export(runtime, job.id)  # a late redelivery: the job stays failed
    again = await runtime.jobs.get(job.id)
    assert again is not None and again.status is JobStatus.FAILED and again.attempts == 1


async def test_export_task_refuses_an_unknown_format(runtime: Runtime) -> None:
    job = await runtime.jobs.create("p1", "export", {"format": "nope"}, "ed")
    await run_export(runtime, job.id)
    failed = await runtime.jobs.get(job.id)
    assert failed is not None and failed.status is JobStatus.FAILED
    assert failed.error == "unknown export format 'nope'"
