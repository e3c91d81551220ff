"""The scheduled cleanup against real SQLite and Postgres databases and a local blob store."""

from __future__ import annotations

import asyncio
from typing import Any

from pycrdt import Doc

from crdt.schema import DocKey, DocKind
from persistence.jobs import JobResult, JobStatus
from persistence.store import PendingUpdate, VersionKind
from tests.workers.export_support import TO_JSON, sample_docs
from workers.broker import embedded_worker
from workers.cleanup import run_cleanup
from workers.config import WorkerConfig
from workers.export_source import load_doc
from workers.runtime import Runtime


async def test_cleanup_expires_old_results_and_deletes_their_files(runtime: Runtime) -> None:
    job = await runtime.jobs.create("p1", "export", {"format": "storyarn"}, "ed")
    assert await runtime.jobs.start(job.id) is not None
    size = await runtime.blobs.put("exports/p1/x.zip", b"zip bytes", "application/zip")
    assert await runtime.jobs.finish(job.id, JobResult("exports/p1/x.zip", "x.zip", size))
    report = await run_cleanup(runtime)
    assert report.results_expired == 1
    assert not await runtime.blobs.exists("exports/p1/x.zip")
    expired = await runtime.jobs.get(job.id)
    assert expired is not None and expired.status is JobStatus.EXPIRED
    assert (await run_cleanup(runtime)).results_expired == 0  # twice does no harm


async def test_cleanup_fails_stalled_jobs_with_a_reason(runtime: Runtime) -> None:
    job = await runtime.jobs.create("p1", "export", {"format": "storyarn"}, "ed")
    runtime.config = WorkerConfig(job_stale_seconds=1e-6, compact_idle_seconds=0)
    report = await run_cleanup(runtime)
    assert report.jobs_stalled == 1
    failed = await runtime.jobs.get(job.id)
    assert failed is not None and failed.status is JobStatus.FAILED
    assert failed.error and "start it again" in failed.error
    assert await runtime.jobs.start(job.id) is None  # a late delivery leaves it failed


async def test_cleanup_drops_old_automatic_versions_but_keeps_named_ones(
    runtime: Runtime,
) -> None:
    key = DocKey("p1", DocKind.FLOW, "f1")
    doc: Doc[Any] = sample_docs("p1")[key]
    state = doc.get_update()
    await runtime.store.append(key, [PendingUpdate(state, "ed", "test")])
    saved = [
        await runtime.store.save_version(key, state, 1, kind=kind, name=None, author_id=None)
        for kind in (VersionKind.AUTO, VersionKind.NAMED, VersionKind.AUTO, VersionKind.AUTO)
    ]
    report = await run_cleanup(runtime)
    assert report.versions_deleted == 2
    left = {v.id for v in await runtime.store.list_versions(key)}
    assert left == {saved[1].id, saved[3].id}  # the named one and the newest automatic one


async def test_cleanup_folds_idle_logs_into_snapshots(runtime: Runtime) -> None:
    docs = sample_docs("p1")
    for key, doc in docs.items():
        await runtime.store.append(key, [PendingUpdate(doc.get_update(), "ed", "a")])
        await runtime.store.append(key, [PendingUpdate(b"\x00\x00", "ed", "b")])
    report = await run_cleanup(runtime)
    assert report.documents_compacted == len(docs)
    for key, doc in docs.items():
        stored = await runtime.store.load(key)
        assert stored is not None
        assert stored.log_rows == 0 and stored.seq == 2
        assert TO_JSON[key.kind](load_doc(stored.updates)) == TO_JSON[key.kind](doc)
    assert (await run_cleanup(runtime)).documents_compacted == 0


async def test_cleanup_runs_on_its_schedule_in_the_embedded_worker(runtime: Runtime) -> None:
    job = await runtime.jobs.create("p1", "export", {"format": "storyarn"}, "ed")
    await runtime.jobs.start(job.id)
    await runtime.blobs.put("exports/p1/y.zip", b"zip", "application/zip")
    await runtime.jobs.finish(job.id, JobResult("exports/p1/y.zip", "y.zip", 3))
    runtime.config = WorkerConfig(cleanup_interval_seconds=0.05, job_result_retention_seconds=0)
    async with embedded_worker(runtime), asyncio.timeout(10):
        while (current := await runtime.jobs.get(job.id)) and current.status is JobStatus.DONE:
            await asyncio.sleep(0.02)
    assert current is not None and current.status is JobStatus.EXPIRED
