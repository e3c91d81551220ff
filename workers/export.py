"""The export task: take a queued job, write its format to a spooled file, store the file in
the blob store under a key fixed by the job, and record the result.

Idempotent: a job that is finished is left alone, and a second run of an interrupted one
writes the same key again. Transient failures (database, storage) are retried with backoff
a bounded number of times; then, or at once for any other error, the job fails with a reason
the user can read.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from typing import BinaryIO

import structlog

from persistence.assets import AssetStore
from persistence.blobs import CHUNK_BYTES, BlobError
from persistence.jobs import Job, JobResult
from persistence.project_documents import project_documents
from persistence.store import StoreError
from workers.export_formats import FORMATS, ExportFormat
from workers.export_source import ExportSource, project_assets
from workers.metrics import timed
from workers.runtime import Runtime

log = structlog.get_logger(__name__)
_TRANSIENT = (StoreError, BlobError, OSError)
_SPOOL_BYTES = 8 * 1024 * 1024  # smaller archives never touch the disk


def result_key(job: Job, fmt: ExportFormat) -> str:
    return f"exports/{job.project_id}/{job.id}.{fmt.extension}"


def result_filename(job: Job, fmt: ExportFormat) -> str:
    return f"{job.project_id}-{job.created_at:%Y%m%d-%H%M%S}-{fmt.name}.{fmt.extension}"


async def _chunks(spool: BinaryIO) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(spool.read, CHUNK_BYTES):
        yield chunk


async def _export_once(runtime: Runtime, job: Job, fmt: ExportFormat) -> JobResult:
    keys = [key for key, _seq in await project_documents(runtime.engine, job.project_id)]
    assets = await project_assets(AssetStore(runtime.engine), job.project_id)
    source = ExportSource(job.project_id, keys, runtime.store, runtime.blobs, assets)
    last = -1

    async def progress(percent: int) -> None:
        nonlocal last
        # The writing is 90% of the work; storing the file is the rest.
        scaled = percent * 9 // 10
        if scaled >= last + 5:  # one row update per 5%, not per document
            last = scaled
            await runtime.jobs.progress(job.id, scaled)
            await runtime.job_changed(job.id)

    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        await fmt.write(source, spool, progress)  # type: ignore[arg-type]
        spool.seek(0)
        key = result_key(job, fmt)
        size = await runtime.blobs.put(key, _chunks(spool), fmt.content_type)  # type: ignore[arg-type]
    return JobResult(key, result_filename(job, fmt), size)


async def run_export(runtime: Runtime, job_id: str) -> None:
    with timed("export") as outcome:
        outcome.value = await _run_export(runtime, job_id)


async def _run_export(runtime: Runtime, job_id: str) -> str:
    """Run the job; return how it ended (`done`, `failed` or `skipped`)."""
    job = await runtime.jobs.start(job_id)
    if job is None:
        log.info("export_skipped", job_id=job_id, reason="finished or unknown")
        return "skipped"
    await runtime.job_changed(job_id)
    fmt = FORMATS.get(str(job.params.get("format", "")))
    if fmt is None:
        await runtime.jobs.fail(job_id, f"unknown export format {job.params.get('format')!r}")
        await runtime.job_changed(job_id)
        return "failed"
    attempts = max(1, runtime.config.attempts)
    for attempt in range(1, attempts + 1):
        try:
            result = await _export_once(runtime, job, fmt)
        except _TRANSIENT as exc:
            log.warning("export_attempt_failed", job_id=job_id, attempt=attempt, error=str(exc))
            if attempt == attempts:
                await runtime.jobs.fail(
                    job_id, f"storage was unavailable after {attempts} attempts; try again later"
                )
                await runtime.job_changed(job_id)
                return "failed"
            await asyncio.sleep(runtime.config.retry_base_seconds * 2 ** (attempt - 1))
        except Exception:
            # A bug, not the weather: fail the job so the user is not left waiting, and let
            # the exception reach the logs and error reporting.
            await runtime.jobs.fail(job_id, "the export failed with an internal error")
            await runtime.job_changed(job_id)
            raise
        else:
            await runtime.jobs.finish(job_id, result)
            await runtime.job_changed(job_id)
            log.info("export_done", job_id=job_id, format=fmt.name, bytes=result.size)
            return "done"
    return "failed"  # not reached: the last attempt returns
